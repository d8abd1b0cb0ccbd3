/**
 * Rate coding on a quantisation-aware trained network (QCFS-style conversion, issue 12): the threshold is
 * the quantiser's λ, the membrane starts at θ/2, and the input current is the trained input quantiser's
 * output. A rate neuron under a constant current z (in units of λ) fires floor(T·z + ½) times in T steps
 * (clipped to [0, T]), so with T = L the hidden layer's spike counts are exactly the trained levels and a
 * linear read-out reproduces the ANN: checked against onnxruntime on the original ONNX model.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { parseNpy, writeNpy } from "../../../src/io/npy.js";
import { buildModel, runOnnx } from "../../support/onnx-builder.js";
import { floorFirst, node, scalar } from "../../support/qat-onnx.js";
import { Rng } from "../../support/random.js";
import { removeDir, tempDir, tscc } from "../../cli/support.js";

const L_IN = 8;
const L = 4;
const N = 300;
let tmp: string;
let x: Float32Array;

/** x [N, 4] → input quantiser (L_IN levels) → Gemm 'fc1' → QCFS quantiser (L levels, λ = 2) → Gemm 'fc2'. */
function model(): Uint8Array {
  const rng = new Rng(11);
  const q = floorFirst(L, 2);
  return buildModel({
    opset: 13,
    inputs: [{ name: "x", shape: ["N", 4] }],
    initializers: [
      scalar("L_in", L_IN),
      scalar("half_in", 0.5),
      scalar("zero_in", 0),
      scalar("one_in", 1),
      { name: "w1", dims: [6, 4], data: rng.f32(24, -1.5, 1.5) },
      { name: "b1", dims: [6], data: rng.f32(6, -0.2, 0.6) },
      { name: "w2", dims: [3, 6], data: rng.f32(18, -1, 1) },
      ...q.inits,
    ],
    nodes: [
      node("Mul", ["x", "L_in"], ["xL"]),
      node("Add", ["xL", "half_in"], ["x0"]),
      node("Floor", ["x0"], ["xk"], "in_floor"),
      node("Div", ["xk", "L_in"], ["xkL"]),
      node("Clip", ["xkL", "zero_in", "one_in"], ["xq"]),
      node("Gemm", ["xq", "w1", "b1"], ["z"], "fc1", { transB: 1 }),
      ...q.nodes,
      node("Gemm", ["q", "w2"], ["y"], "fc2", { transB: 1 }),
    ],
    outputs: ["y"],
  });
}

beforeAll(() => {
  tmp = tempDir("tscc-rate-qat-");
  writeFileSync(join(tmp, "qat.onnx"), model());
  const rng = new Rng(3);
  x = rng.f32(N * 4, 0, 1);
  writeNpy(join(tmp, "x.npy"), { shape: [N, 4], dtype: "f32", data: x });
});
afterAll(() => removeDir(tmp));

test("rate coding at T = L on a QCFS network with a quantised input equals the trained ANN (onnxruntime)", { timeout: 60_000 }, async () => {
  const c = await tscc(["compile", "qat.onnx", "--target", "emulator", "--coding", "rate", "--window", String(L), "-o", "rate"], tmp);
  expect(c.stderr).toBe("");
  expect(c.code).toBe(0);
  const ann = (await runOnnx(model(), { x: { dims: [N, 4], data: x } }))["y"]!.data as Float32Array;
  // The inputs are off the input grid (else quantising them would change nothing).
  expect(Array.from(x).filter((v) => Math.abs(Math.floor(v * L_IN + 0.5) / L_IN - v) > 1e-3).length).toBeGreaterThan(N);
  for (const engine of ["event", "fast"]) {
    const r = await tscc(["run", "rate", "--input", "x.npy", "--engine", engine, "--save-output", `y-${engine}.npy`], tmp);
    expect(r.code, r.stderr).toBe(0);
    const y = parseNpy(readFileSync(join(tmp, `y-${engine}.npy`)), "y.npy").data as Float32Array;
    let worst = 0;
    for (let i = 0; i < ann.length; i++) worst = Math.max(worst, Math.abs(y[i]! - ann[i]!));
    expect(worst, engine).toBeLessThan(1e-5);
  }
});
