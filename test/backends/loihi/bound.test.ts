/** The capacity lower bound (mapping.md §3.3), checked by hand on a small dense network. */
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { writeNpy } from "../../../src/io/npy.js";
import { compile } from "../../../src/driver/compile.js";
import { capacityBound, tightenedBound } from "../../../backends/loihi/bound.js";
import { checkArtifact } from "./checker.js";
import { loadState } from "../../../backends/loihi/state.js";
import { writeFileSync } from "node:fs";
import { buildModel } from "../../support/onnx-builder.js";
import { removeDir, tempDir, ROOT } from "../../cli/support.js";

const dir = tempDir("tscc-loihi-bound-");
afterAll(() => removeDir(dir));

test("bound of a 20 → 16 → 8 network, by hand", async () => {
  const cal = join(dir, "cal.npy");
  const data = new Float32Array(32 * 20).map((_, i) => ((i * 37) % 101) / 100);
  writeNpy(cal, { shape: [32, 20], dtype: "f32", data });
  const w = (n: number, seed: number): Float32Array => new Float32Array(n).map((_, i) => (((i * 7919 + seed) % 97) / 97 - 0.45) * 0.5);
  const model = join(dir, "mlp.onnx");
  writeFileSync(
    model,
    buildModel({
      inputs: [{ name: "input", shape: ["N", 20] }],
      outputs: ["output"],
      initializers: [
        { name: "w1", dims: [16, 20], data: w(320, 1) },
        { name: "b1", dims: [16], data: w(16, 2) },
        { name: "w2", dims: [8, 16], data: w(128, 3) },
        { name: "b2", dims: [8], data: w(8, 4) },
      ],
      nodes: [
        { op: "Gemm", inputs: ["input", "w1", "b1"], outputs: ["h"], attrs: { transB: 1 } },
        { op: "Relu", inputs: ["h"], outputs: ["r"] },
        { op: "Gemm", inputs: ["r", "w2", "b2"], outputs: ["output"], attrs: { transB: 1 } },
      ],
    }),
  );
  const r = await compile({ model, target: "loihi", backendOptions: { calibration: cal }, cwd: ROOT });
  const s = loadState(r.module);
  const b = capacityBound(s.net, s.prof, s.part!.densePop);
  // Compartments: 16 TSC neurons × 4 + 8 read-outs × 1, plus clocks (6 for the TSC layer, 2 for the read-out).
  // Synapse bits: hidden layer 20 inputs × 2 polarities discrete dense lists of 16 weights (8 bits): 16·8 + 10
  // header bits = 138 → 3 words = 192 bits each, 40 × 192 = 7680, plus 6 clock lists of 16 = 1152; read-out
  // 16 × 2 lists of 8 weights: 74 bits → 2 words = 128 each, 4096, plus 2 clock lists = 256. Total 13184.
  // In-axons: 40 + 6 and 32 + 2. Out-axons: 16 neurons × 2 (ON, OFF) → read-out, plus one per clock.
  expect(b.classes).toEqual([{ cls: "switch", cx: 80, bits: 13184, in_slots: 80, out_axons: 40, cores_by: { cx: 1, bits: 1, in_slots: 1, out_axons: 1 }, cores: 1, binding: "cx" }]);
  expect(b.cores).toBe(1);
  expect(b.chips).toBe(1);
  expect(s.part!.cores.length).toBe(1);
});

/**
 * A max pool whose OR gates feed a 32-tile dense layer: their fan-out goes through relays, which sit on
 * `switch` cores while the OR gates are `impulse`. Both bounds must stay below the mapping (the
 * tightened one charges such entries at the cheaper of direct and relayed), and the checker accepts it.
 */
test("relayed OR-gate fan-out: bounds stay below the mapping on both profiles", async () => {
  const cal = join(dir, "cal-pool.npy");
  writeNpy(cal, { shape: [16, 1, 8, 8], dtype: "f32", data: new Float32Array(16 * 64).map((_, i) => ((i * 37) % 101) / 100) });
  const w = (n: number, seed: number, s = 0.5): Float32Array => new Float32Array(n).map((_, i) => (((i * 7919 + seed) % 97) / 97 - 0.45) * s);
  const model = join(dir, "pool.onnx");
  const H = 8192;
  writeFileSync(
    model,
    buildModel({
      inputs: [{ name: "input", shape: ["N", 1, 8, 8] }],
      outputs: ["output"],
      initializers: [
        { name: "wc", dims: [4, 1, 3, 3], data: w(36, 1) },
        { name: "bc", dims: [4], data: w(4, 2) },
        { name: "w1", dims: [H, 64], data: w(H * 64, 3, 0.1) },
        { name: "b1", dims: [H], data: w(H, 4) },
        { name: "w2", dims: [4, H], data: w(4 * H, 5, 0.05) },
        { name: "b2", dims: [4], data: w(4, 6) },
      ],
      nodes: [
        { op: "Conv", inputs: ["input", "wc", "bc"], outputs: ["c"], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
        { op: "Relu", inputs: ["c"], outputs: ["rc"] },
        { op: "MaxPool", inputs: ["rc"], outputs: ["p"], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
        { op: "Flatten", inputs: ["p"], outputs: ["f"] },
        { op: "Gemm", inputs: ["f", "w1", "b1"], outputs: ["h"], attrs: { transB: 1 } },
        { op: "Relu", inputs: ["h"], outputs: ["r"] },
        { op: "Gemm", inputs: ["r", "w2", "b2"], outputs: ["output"], attrs: { transB: 1 } },
      ],
    }),
  );
  for (const profile of ["loihi1", "loihi2"]) {
    const outDir = join(dir, `pool-${profile}`);
    const r = await compile({ model, target: "loihi", outDir, backendOptions: { calibration: cal, profile, "per-channel": "false" }, cwd: ROOT });
    const s = loadState(r.module);
    const part = s.part!;
    const relayedOr = [...part.relayed].filter((g) => s.net.resolve(g.source).some((x) => x.pop.kind === "or"));
    expect(relayedOr.length, profile).toBeGreaterThan(0);
    const cores = part.cores.length;
    const b = capacityBound(s.net, s.prof, part.densePop);
    const t = tightenedBound(s.net, s.prof, part.densePop);
    expect(b.cores, profile).toBeLessThanOrEqual(cores);
    expect(t.cores, profile).toBeLessThanOrEqual(cores);
    expect(checkArtifact(outDir).problems).toEqual([]);
  }
}, 120_000);
