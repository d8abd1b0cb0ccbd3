/**
 * The bit-accurate run: the register-level engine (u wraps, v saturates, ramp comparator) equals the
 * integer closed form clip(floor((V + Φ)/Θ), 0, T) exactly; `tscc run` on the Fashion-MNIST example
 * reports accuracy, the float TSC accuracy and their delta; quantisation errors stay within half a unit.
 * Per-layer windows: the same with every layer at its own T and the gains T/T_s folded into the weights.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { readNpy } from "../../../src/io/npy.js";
import { runClosedForm } from "../../../backends/emulator/runtime/closed-form.js";
import { runLoihi } from "../../../backends/loihi/engine.js";
import { loadNetworks } from "../../../backends/loihi/run.js";
import { schedule } from "../../../backends/emulator/runtime/schedule.js";
import { writeNpy } from "../../../src/io/npy.js";
import { removeDir, tempDir, tscc, ROOT } from "../../cli/support.js";
import { CNN_SMALL, compileLoihi, TEST_IMAGES, TEST_LABELS } from "./support.js";

const dir = tempDir("tscc-loihi-run-");
afterAll(() => removeDir(dir));
const art = join(dir, "art");

test("register-level engine = integer closed form (logits and every interval), no overflow", async () => {
  await compileLoihi(CNN_SMALL, art, {});
  const { int, file } = loadNetworks(art);
  const x = readNpy(TEST_IMAGES);
  const n = 40;
  const xs = (x.data as Float32Array).subarray(0, n * 784);
  const cfg = { qBits: file.engine.q_bits, uBits: file.engine.u_bits, vBits: file.engine.v_bits, biasVia: file.engine.bias_via };
  const ev = runLoihi(int, xs, n, cfg, true);
  const cf = runClosedForm(int, xs, n, { recordIntervals: true });
  expect(Array.from(ev.logits)).toEqual(Array.from(cf.outputs[0]!));
  int.values.forEach((v, id) => {
    if (v.kind !== "spikes") return;
    expect(Array.from(ev.intervals![id]!), v.name).toEqual(Array.from(cf.intervals![id]!));
  });
  expect(ev.counters.q_overflows + ev.counters.u_wraps + ev.counters.v_saturations).toBe(0);
});

test("quantisation errors stay within half a weight unit (in θ) and nothing clips", async () => {
  await compileLoihi(CNN_SMALL, art, {});
  const q = JSON.parse(readFileSync(join(art, "quantization.json"), "utf8"));
  for (const l of q.layers) {
    expect(l.vth).toBe(l.scale_theta_int);
    for (const g of l.groups) {
      const halfUnit = Math.max(...g.weight_unit) / (2 * l.scale_theta_int);
      expect(g.max_abs_error_theta).toBeLessThanOrEqual(halfUnit * (1 + 1e-5));
      expect(g.clipped).toBe(0);
    }
  }
});

test("tscc run reports accuracy, float TSC accuracy and the delta, and agrees with the float network", async () => {
  await compileLoihi(CNN_SMALL, art, {});
  const x = readNpy(TEST_IMAGES);
  const y = readNpy(TEST_LABELS);
  const n = 200;
  writeNpy(join(dir, "x.npy"), { shape: [n, 1, 28, 28], dtype: "f32", data: (x.data as Float32Array).slice(0, n * 784) });
  writeNpy(join(dir, "y.npy"), { shape: [n], dtype: y.dtype, data: (y.data as never as { slice(a: number, b: number): never }).slice(0, n) });
  const r = await tscc(["run", art, "--input", join(dir, "x.npy"), "--labels", join(dir, "y.npy"), "--json"], ROOT);
  expect(r.code, r.stderr).toBe(0);
  const m = JSON.parse(r.stdout);
  for (const k of ["accuracy", "float_tsc_accuracy", "accuracy_delta", "spikes_per_inference", "synaptic_ops_per_inference", "neuron_updates_per_inference", "energy_per_inference_pj", "q_overflows", "u_wraps", "v_saturations"]) expect(m).toHaveProperty(k);
  expect(m.accuracy).toBeGreaterThan(0.8);
  expect(Math.abs(m.accuracy_delta)).toBeLessThanOrEqual(0.03);
  expect(m.agreement_with_float_tsc).toBeGreaterThanOrEqual(0.95);
  expect(m.accuracy_delta).toBeCloseTo(m.accuracy - m.float_tsc_accuracy, 10);
});

test("a residual network's artifact runs: the add node keeps both operands, registers = closed form", async () => {
  // conv → relu → conv (+ identity shortcut) → relu → dense: network.json once dropped the add node's
  // second operand (its `b` was taken for a bias blob), so ResNet artifacts could not be run.
  const { model, x, xFile } = await residualModel("residual", false);
  const out = join(dir, "res-art");
  const c = await tscc(["compile", model, "--target", "loihi", "--calibration", xFile, "-o", out], ROOT);
  expect(c.code, c.stderr).toBe(0);
  const { int, twin, file } = loadNetworks(out);
  expect(int.nodes.filter((n) => n.kind === "add").every((n) => typeof (n as { b: unknown }).b === "number")).toBe(true);
  const cfg = { qBits: file.engine.q_bits, uBits: file.engine.u_bits, vBits: file.engine.v_bits, biasVia: file.engine.bias_via };
  const ev = runLoihi(int, x, 24, cfg);
  expect(Array.from(ev.logits)).toEqual(Array.from(runClosedForm(twin, x, 24).outputs[0]!));
  const r = await tscc(["run", out, "--input", xFile, "--json"], ROOT);
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout).agreement_with_float_tsc).toBeGreaterThan(0.5);
});

/**
 * Per-layer windows on cnn-small: encoder 6, /Relu 16 (gain 16/6, not a power of two, and a window longer
 * than the encoder's: the schedule starts late), /Relu_1 4 (gain 1/4), /Relu_2 12 (gain 3); the read-out takes its source's 12.
 */
const MIXED = "#0=6,#1=16,#2=4,#3=12";
const artMixed = join(dir, "art-mixed");

test("per-layer windows: register-level engine = integer closed form (logits and every interval), no overflow", async () => {
  await compileLoihi(CNN_SMALL, artMixed, { "layer-windows": MIXED });
  const { int, twin, file } = loadNetworks(artMixed);
  expect(file.nodes.filter((n) => n.kind === "tsc").map((n) => n["window"] ?? file.window)).toEqual([16, 4, 12]);
  const x = readNpy(TEST_IMAGES);
  const n = 40;
  const xs = (x.data as Float32Array).subarray(0, n * 784);
  const cfg = { qBits: file.engine.q_bits, uBits: file.engine.u_bits, vBits: file.engine.v_bits, biasVia: file.engine.bias_via };
  const ev = runLoihi(int, xs, n, cfg, true);
  const cf = runClosedForm(twin, xs, n, { recordIntervals: true, foldedGains: true });
  expect(Array.from(ev.logits)).toEqual(Array.from(cf.outputs[0]!));
  int.values.forEach((v, id) => {
    if (v.kind !== "spikes") return;
    expect(Array.from(ev.intervals![id]!), v.name).toEqual(Array.from(cf.intervals![id]!));
  });
  expect(ev.counters.q_overflows + ev.counters.u_wraps + ev.counters.v_saturations).toBe(0);
  // The schedule by hand (docs/loihi.md): /Relu's clock needs [F − 16, F) ≥ 0 with F = lead + 6 + 1, so
  // lead = 9; then each layer compares at max E_src + 1 for its own T, an OR gate adds a step:
  // /Relu E = 16 + 16 = 32, pool 33, /Relu_1 F = 34, E = 38, pool 39, /Relu_2 F = 40, E = 52, read at 53.
  expect(ev.latency).toBe(54);
  const man = JSON.parse(readFileSync(join(artMixed, "manifest.json"), "utf8"));
  expect(man.latency_steps).toBe(54);
  expect(man.layer_windows).toEqual({ input: 6, "/Relu": 16, "/Relu_1": 4, "/Relu_2": 12, "/fc2/Gemm": 12 });
});

test("per-layer windows: the gain T/T_s is folded into every integer weight within half a weight unit", async () => {
  await compileLoihi(CNN_SMALL, artMixed, { "layer-windows": MIXED });
  const { float, int } = loadNetworks(artMixed);
  const sch = schedule(float);
  const q = JSON.parse(readFileSync(join(artMixed, "quantization.json"), "utf8"));
  const seen: number[] = [];
  float.nodes.forEach((n, i) => {
    if (n.kind !== "conv" && n.kind !== "dense") return;
    // The receiving population's T over the source's, from the windows network.json declares.
    const recv = float.nodes.find((m) => (m.kind === "tsc" || m.kind === "decode") && m.in === n.out)!;
    const g = (("window" in recv && recv.window) || float.window) / sch.spikeWindow[n.in]!.steps;
    seen.push(g);
    const theta = (int.nodes[float.nodes.indexOf(recv)] as { theta: number }).theta;
    const wi = (int.nodes[i] as { w: Float32Array }).w;
    const layer = q.layers.find((l: { scale_theta_int: number; groups: { gain: number }[] }) => l.groups.some((x) => Math.abs(x.gain - g) < 1e-12 && l.scale_theta_int === theta));
    const unit = Math.max(...layer.groups[0].weight_unit);
    let worst = 0;
    for (let k = 0; k < wi.length; k++) worst = Math.max(worst, Math.abs(wi[k]! - g * n.w[k]! * theta));
    expect(worst).toBeLessThanOrEqual((unit / 2) * (1 + 1e-6));
  });
  expect(seen.map((g) => Number(g.toFixed(6)))).toEqual([Number((16 / 6).toFixed(6)), 0.25, 3, 1]);
});

test("per-layer windows: tscc run agrees with the float TSC network of the same windows", async () => {
  await compileLoihi(CNN_SMALL, artMixed, { "layer-windows": MIXED });
  const x = readNpy(TEST_IMAGES);
  const y = readNpy(TEST_LABELS);
  const n = 200;
  writeNpy(join(dir, "xm.npy"), { shape: [n, 1, 28, 28], dtype: "f32", data: (x.data as Float32Array).slice(0, n * 784) });
  writeNpy(join(dir, "ym.npy"), { shape: [n], dtype: y.dtype, data: (y.data as never as { slice(a: number, b: number): never }).slice(0, n) });
  const runs = await Promise.all(["event", "fast"].map((e) => tscc(["run", artMixed, "--input", join(dir, "xm.npy"), "--labels", join(dir, "ym.npy"), "--engine", e, "--json"], ROOT)));
  for (const r of runs) expect(r.code, r.stderr).toBe(0);
  const [ev, fast] = runs.map((r) => JSON.parse(r.stdout));
  expect(ev.layer_windows).toEqual({ input: 6, "/Relu": 16, "/Relu_1": 4, "/Relu_2": 12, "/fc2/Gemm": 12 });
  expect(ev.agreement_with_float_tsc).toBeGreaterThanOrEqual(0.95);
  expect(Math.abs(ev.accuracy_delta)).toBeLessThanOrEqual(0.03);
  expect(fast.accuracy).toBe(ev.accuracy);
  expect(fast.agreement_with_float_tsc).toBe(ev.agreement_with_float_tsc);
  expect(ev.q_overflows + ev.u_wraps + ev.v_saturations).toBe(0);
});

test("per-layer windows with a residual: two integration windows of different T, registers = integer closed form", async () => {
  // conv → r1 → conv → r2 → conv (+ identity shortcut from r1) → r3 → dense, windows input 8, r1 8, r2 4,
  // r3 16: r3 integrates r1's window with gain 2 (the one-to-one shortcut) and r2's with gain 4.
  const { model, x, xFile } = await residualModel("residual2", true);
  const out = join(dir, "res2-art");
  const c = await tscc(["compile", model, "--target", "loihi", "--calibration", xFile, "--layer-windows", "#0=8,#1=8,#2=4,#3=16", "-o", out], ROOT);
  expect(c.code, c.stderr).toBe(0);
  const mapping = JSON.parse(readFileSync(join(out, "mapping.json"), "utf8"));
  const r3 = mapping.layers.find((l: { schedule: { window: number } }) => l.schedule.window === 16);
  expect(r3.schedule.integration_window_ends).toHaveLength(2);
  expect(r3.groups.map((g: { kind: string; gain: number }) => `${g.kind}:${g.gain}`).sort()).toEqual(["conv:4", "scale:2"]);
  const { int, twin, file } = loadNetworks(out);
  const cfg = { qBits: file.engine.q_bits, uBits: file.engine.u_bits, vBits: file.engine.v_bits, biasVia: file.engine.bias_via };
  const ev = runLoihi(int, x, 24, cfg, true);
  const cf = runClosedForm(twin, x, 24, { foldedGains: true, recordIntervals: true });
  expect(Array.from(ev.logits)).toEqual(Array.from(cf.outputs[0]!));
  int.values.forEach((v, id) => {
    if (v.kind === "spikes") expect(Array.from(ev.intervals![id]!), v.name).toEqual(Array.from(cf.intervals![id]!));
  });
  const r = await tscc(["run", out, "--input", xFile, "--json"], ROOT);
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout).agreement_with_float_tsc).toBeGreaterThan(0.5);
});

test("--window auto maps: the tuned windows run on the registers as the integer closed form computes them", async () => {
  const art = join(dir, "art-auto");
  // 16 held-out samples and a loose tolerance: the test is about the mapping of tuned windows, not the tuner.
  await compileLoihi(CNN_SMALL, art, { "layer-windows": "auto", tolerance: "5", holdout: "16" });
  const man = JSON.parse(readFileSync(join(art, "manifest.json"), "utf8"));
  expect(Object.keys(man.layer_windows ?? {}).sort()).toEqual(["/Relu", "/Relu_1", "/Relu_2", "/fc2/Gemm", "input"]);
  const { int, twin, file } = loadNetworks(art);
  const n = 20;
  const xs = (readNpy(TEST_IMAGES).data as Float32Array).subarray(0, n * 784);
  const cfg = { qBits: file.engine.q_bits, uBits: file.engine.u_bits, vBits: file.engine.v_bits, biasVia: file.engine.bias_via };
  const ev = runLoihi(int, xs, n, cfg);
  expect(Array.from(ev.logits)).toEqual(Array.from(runClosedForm(twin, xs, n, { foldedGains: true }).outputs[0]!));
  expect(ev.latency).toBe(man.latency_steps);
});

/**
 * A residual network on 24 seeded inputs [4, 6, 6]: conv → r1 → conv (→ r2 → conv) + identity shortcut
 * from r1 → relu → flatten → dense ("deep": the branch has two convs, so the sum integrates two windows).
 */
async function residualModel(name: string, deep: boolean): Promise<{ model: string; x: Float32Array; xFile: string }> {
  const { buildModel } = await import("../../support/onnx-builder.js");
  const { writeFileSync } = await import("node:fs");
  const w = (n: number, seed: number, scale: number): Float32Array => new Float32Array(n).map((_, i) => ((((i + 1) * 7919 + seed * 104729) % 1000) / 1000 - 0.5) * scale);
  const conv = (i: string, wt: string, o: string) => ({ op: "Conv", inputs: [i, wt], outputs: [o], attrs: { pads: [1, 1, 1, 1] } });
  const model = join(dir, `${name}.onnx`);
  writeFileSync(
    model,
    buildModel({
      inputs: [{ name: "input", shape: ["N", 4, 6, 6] }],
      outputs: ["output"],
      initializers: [
        { name: "w1", dims: [4, 4, 3, 3], data: w(144, 1, 0.6) },
        { name: "w2", dims: [4, 4, 3, 3], data: w(144, 2, 0.6) },
        ...(deep ? [{ name: "wb", dims: [4, 4, 3, 3], data: w(144, 5, 0.6) }] : []),
        { name: "wd", dims: [3, 144], data: w(432, 3, 0.3) },
      ],
      nodes: [
        conv("input", "w1", "c1"),
        { op: "Relu", inputs: ["c1"], outputs: ["r1"] },
        conv("r1", "w2", "c2"),
        ...(deep ? [{ op: "Relu", inputs: ["c2"], outputs: ["r2b"] }, conv("r2b", "wb", "c3")] : []),
        { op: "Add", inputs: [deep ? "c3" : "c2", "r1"], outputs: ["s"] },
        { op: "Relu", inputs: ["s"], outputs: ["r2"] },
        { op: "Flatten", inputs: ["r2"], outputs: ["f"] },
        { op: "Gemm", inputs: ["f", "wd"], outputs: ["output"], attrs: { transB: 1 } },
      ],
    }),
  );
  const x = w(24 * 144, 4, 1).map((v) => v + 0.5);
  const xFile = join(dir, `${name}-x.npy`);
  writeNpy(xFile, { shape: [24, 4, 6, 6], dtype: "f32", data: x });
  return { model, x, xFile };
}
