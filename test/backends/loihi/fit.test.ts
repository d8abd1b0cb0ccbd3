/**
 * Fitting ordinary networks on a fixed chip (docs/loihi.md "Fitting ordinary networks").
 *
 * A 512 → 8 → 4 network whose hidden channel 0 is near-dead (weights +1 on the first half of the
 * inputs, −1 on the second: calibration inputs make it positive only by 0.001): per-channel λ makes its
 * normalised weights ±1000 θ, a worst-case row sum of 256,000 θ, so one threshold per layer (at least
 * one unit, 64) overflows q and u on both profiles — what CIFAR VGG-16 calibrated on noise does. The quantiser must fit it: Loihi 1
 * gives the channel a lower threshold class, Loihi 2 (threshold grid 64) splits its fan-in. The
 * register-level run must equal the integer closed form, with no q/u overflow, and the first layer's
 * intervals must stay within the error bound computed from the quantised weights; where no option
 * fits, one diagnostic names the layer and the limit.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { writeNpy } from "../../../src/io/npy.js";
import { compile } from "../../../src/driver/compile.js";
import { runClosedForm } from "../../../backends/emulator/runtime/closed-form.js";
import { runLoihi } from "../../../backends/loihi/engine.js";
import { loadNetworks } from "../../../backends/loihi/run.js";
import { buildModel } from "../../support/onnx-builder.js";
import { removeDir, tempDir, tscc, ROOT } from "../../cli/support.js";
import { checkArtifact } from "./checker.js";

const dir = tempDir("tscc-loihi-fit-");
afterAll(() => removeDir(dir));

const K = 512;
const H = 8;
const T = 32;

function pseudo(n: number, seed: number, scale: number): Float32Array {
  return new Float32Array(n).map((_, i) => ((((i + 1) * 7919 + seed * 104729) % 1000) / 1000 - 0.5) * scale);
}

/**
 * Inputs in [0, 1]: the first half in [0, 0.4], the second in [0.6, 1] (channel 0 silent), and every
 * eighth row 0.5 everywhere but one element 0.5 + ε (channel 0 = ε: 0.001 for calibration, more later).
 */
function inputs(n: number, seed: number, eps: number): Float32Array {
  const x = pseudo(n * K, seed, 0.4).map((v, i) => Math.max(0, v + 0.2) + (i % K >= K / 2 ? 0.6 : 0));
  for (let s = 0; s < n; s += 8) {
    x.fill(0.5, s * K, (s + 1) * K);
    x[s * K] = 0.5 + eps * (1 + (s % 3));
  }
  return x;
}

const model = join(dir, "near-dead.onnx");
const cal = join(dir, "cal.npy");
const evalX = join(dir, "x.npy");
{
  const w1 = pseudo(H * K, 1, 0.2);
  w1.fill(1, 0, K / 2);
  w1.fill(-1, K / 2, K);
  const b1 = pseudo(H, 2, 0.2);
  b1[0] = 0;
  writeFileSync(
    model,
    buildModel({
      inputs: [{ name: "input", shape: ["N", K] }],
      outputs: ["output"],
      initializers: [
        { name: "w1", dims: [H, K], data: w1 },
        { name: "b1", dims: [H], data: b1 },
        { name: "w2", dims: [4, H], data: pseudo(4 * H, 3, 1) },
        { name: "b2", dims: [4], data: pseudo(4, 4, 0.1) },
      ],
      nodes: [
        { op: "Gemm", inputs: ["input", "w1", "b1"], outputs: ["h"], attrs: { transB: 1 } },
        { op: "Relu", inputs: ["h"], outputs: ["r"] },
        { op: "Gemm", inputs: ["r", "w2", "b2"], outputs: ["output"], attrs: { transB: 1 } },
      ],
    }),
  );
  writeNpy(cal, { shape: [64, K], dtype: "f32", data: inputs(64, 5, 0.001).map((v, i) => (i % (8 * K) === 0 ? 0.501 : v)) });
  writeNpy(evalX, { shape: [48, K], dtype: "f32", data: inputs(48, 6, 0.01) });
}

async function compileFor(profile: string, out: string) {
  return compile({ model, target: "loihi", outDir: out, backendOptions: { calibration: cal, window: String(T), profile }, cwd: ROOT });
}

/** Worst case of hidden channel 0 at one threshold unit: what one Θ per layer could not fit. */
function singleScaleWorst(art: string, unit: number): number {
  const { float } = loadNetworks(art);
  const dense = float.nodes.find((n) => n.kind === "dense")! as { w: Float32Array; b?: Float32Array };
  let pos = 0;
  let neg = 0;
  for (let k = 0; k < K; k++) {
    const w = dense.w[k]!;
    if (w > 0) pos += w;
    else neg -= w;
  }
  return (Math.max(pos, neg) + Math.abs(dense.b![0]!)) * unit;
}

describe.each([
  ["loihi1", 2 ** 21 - 1],
  ["loihi2", 2 ** 23 - 1],
])("a near-dead channel on %s", (profile, qMax) => {
  const art = join(dir, `art-${profile}`);
  test("one threshold per layer overflows; the mapping fits, by threshold class (Loihi 1) or fan-in split (Loihi 2), and the checker accepts it", async () => {
    const r = await compileFor(profile, art);
    expect(r.warnings.items.filter((d) => d.severity === "error")).toEqual([]);
    expect(singleScaleWorst(art, 64)).toBeGreaterThan(qMax);
    const q = JSON.parse((await import("node:fs")).readFileSync(join(art, "quantization.json"), "utf8"));
    const hidden = q.layers[0];
    const cls = hidden.precision.threshold_classes as { k: number; channels: number }[];
    if (profile === "loihi1") {
      // Channel 0 takes the lowest threshold class (the healthy channels' own targets may differ too).
      const shifts = JSON.parse((await import("node:fs")).readFileSync(join(art, "mapping.json"), "utf8")).layers[0].threshold_classes as number[];
      expect(cls.length).toBeGreaterThan(1);
      expect(shifts[0]).toBe(Math.max(...cls.map((c) => c.k)));
      expect(shifts.filter((k) => k === shifts[0])).toHaveLength(1);
      expect(hidden.precision.fanin_split).toEqual([]);
    } else {
      expect(hidden.precision.theta_min).toBe(64);
      expect(hidden.precision.fanin_split.map((s: { channel: number }) => s.channel)).toEqual([0]);
      expect(hidden.precision.fanin_split[0].parts).toBeGreaterThan(1);
    }
    expect(hidden.worst_case.q).toBeLessThanOrEqual(qMax);
    expect(checkArtifact(art).problems).toEqual([]);
  });

  test("registers = integer closed form, no q/u overflow, first layer within its quantisation error bound of float TSC", async () => {
    const { float, int, twin, file } = loadNetworks(art);
    const n = 48;
    const x = inputs(n, 6, 0.01);
    const cfg = { qBits: file.engine.q_bits, uBits: file.engine.u_bits, vBits: file.engine.v_bits, biasVia: file.engine.bias_via };
    const ev = runLoihi(int, x, n, cfg, true);
    const cf = runClosedForm(twin, x, n, { recordIntervals: true });
    expect(Array.from(ev.logits)).toEqual(Array.from(cf.outputs[0]!));
    const hid = int.values.findIndex((v, id) => v.kind === "spikes" && id !== int.inputs[0]!.value && int.values[id]!.shape[0] === H);
    expect(Array.from(ev.intervals![hid]!)).toEqual(Array.from(cf.intervals![hid]!));
    expect(ev.counters.q_overflows + ev.counters.u_wraps).toBe(0);
    // Bound per hidden channel c: |Δd| ≤ ⌈T·Σ_k |W_ck/Θ_c − W̃_ck| + T·|B_c/Θ_c − b̃_c| + |Φ_c/Θ_c − φ|⌉
    // (same input intervals, d ≤ T), from the float and integer weights in network.json.
    const fl = runClosedForm(float, x, n, { recordIntervals: true });
    const fd = float.nodes.find((nd) => nd.kind === "dense")! as { w: Float32Array; b: Float32Array };
    const id = int.nodes.find((nd) => nd.kind === "dense")! as unknown as { w: Float32Array; b: Float32Array };
    const tsc = int.nodes.find((nd) => nd.kind === "tsc")! as unknown as { theta: number; phi: number; loihi_theta_shift?: Float32Array };
    const phi = (float.nodes.find((nd) => nd.kind === "tsc")! as { phi: number }).phi;
    for (let c = 0; c < H; c++) {
      const k = tsc.loihi_theta_shift ? tsc.loihi_theta_shift[c]! : 0;
      const th = tsc.theta / 2 ** k;
      let e = T * Math.abs(id.b[c]! / th - fd.b[c]!) + Math.abs(tsc.phi / 2 ** k / th - phi);
      for (let j = 0; j < K; j++) e += T * Math.abs(id.w[c * K + j]! / th - fd.w[c * K + j]!);
      const bound = Math.ceil(e - 1e-9);
      for (let s = 0; s < n; s++) expect(Math.abs(ev.intervals![hid]![s * H + c]! - fl.intervals![hid]![s * H + c]!), `channel ${c} sample ${s}`).toBeLessThanOrEqual(bound);
    }
    // The healthy channels keep their precision: their largest weights use the whole mantissa (the
    // near-dead channel's ±1000 θ weights do not set their exponent).
    const q = JSON.parse((await import("node:fs")).readFileSync(join(art, "quantization.json"), "utf8"));
    expect(q.layers[0].precision.row_mantissa_bits.median).toBe(8);
  });
});

test("no legal configuration: a single weight above the register names the layer and the limit (TSCC3101), nothing written", async () => {
  // Loihi 2 with q_bits 12: channel 0's weights are ±1000 θ, 64,000 at the smallest threshold (64).
  const prof = join(dir, "small-q.json");
  writeFileSync(prof, JSON.stringify({ base: "loihi2", q_bits: 12 }));
  const out = join(dir, "out-nofit");
  const r = await tscc(["compile", model, "--target", "loihi", "--calibration", cal, "-O", `profile=${prof}`, "-o", out], ROOT);
  expect(r.code).toBe(1);
  const lines = r.stderr.split("\n").filter((l) => l.includes("error"));
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/error TSCC3101: q-overflow worst-case per-step input \d+ > 4095 \(2\^12 − 1\) \(layer relu_1\): no legal configuration/);
  expect((await import("node:fs")).existsSync(out)).toBe(false);
});
