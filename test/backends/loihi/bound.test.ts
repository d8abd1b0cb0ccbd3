/** The capacity lower bound (mapping.md §3.3), checked by hand on a small dense network. */
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { writeNpy } from "../../../src/io/npy.js";
import { compile } from "../../../src/driver/compile.js";
import { capacityBound } from "../../../backends/loihi/bound.js";
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
