/**
 * The bit-accurate run: the register-level engine (u wraps, v saturates, ramp comparator) equals the
 * integer closed form clip(floor((V + Φ)/Θ), 0, T) exactly; `tscc run` on the Fashion-MNIST example
 * reports accuracy, the float TSC accuracy and their delta; quantisation errors stay within half a unit.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { readNpy } from "../../../src/io/npy.js";
import { runClosedForm } from "../../../backends/emulator/runtime/closed-form.js";
import { runLoihi } from "../../../backends/loihi/engine.js";
import { loadNetworks } from "../../../backends/loihi/run.js";
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
