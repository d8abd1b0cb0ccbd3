/**
 * The reference ANN exported to ONNX (what `tscc run` hands to onnxruntime) computes what tscc's reference
 * interpreter computes, on the canonicalised PyTorch fixtures and the Fashion-MNIST examples.
 */
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, test } from "vitest";
import { annToOnnx } from "../../../backends/emulator/ann-onnx.js";
import { importOnnxFile } from "../../../src/frontend/onnx/import.js";
import { interpret, randomInputs, relError, runPipeline } from "../../support/ir.js";
import { buildModel } from "../../support/onnx-builder.js";
import { importBytes } from "../../support/onnx-import.js";
import { node, scalar } from "../../support/qat-onnx.js";
import { Rng } from "../../support/random.js";

const root = join(import.meta.dirname, "..", "..", "..");
const files = [
  "test/fixtures/onnx/bn_pool.opset13.onnx",
  "test/fixtures/onnx/resnet_block.opset13.onnx",
  "test/fixtures/onnx/relu6_concat.opset13.onnx",
  "test/fixtures/onnx/matmul_add.opset13.onnx",
  "test/fixtures/onnx/conv_variants.opset13.onnx",
  "examples/fashion-mnist/cnn-small.onnx",
  "examples/fashion-mnist/vgg-bn.onnx",
  // Fused quantisers (floor) and an input quantiser, spelled out again as ONNX ops.
  "examples/fashion-mnist/vgg-bn-qat4.onnx",
  "examples/fashion-mnist/vgg-bn-qat8.onnx",
];

describe.each(files)("%s", (file) => {
  // The reference module of an artifact is always canonical (shape chains folded, activations fused).
  test("onnxruntime on the exported canonical ANN = the interpreter (rel. error ≤ 1e-4)", async () => {
    for (const pipeline of ["canonicalize"]) {
      const m = importOnnxFile(join(root, file)).module;
      if (pipeline) await runPipeline(m, pipeline);
      const bytes = annToOnnx(m);
      expect(bytes, `export of ${file} after '${pipeline}'`).toBeDefined();
      const inputs = randomInputs(m, 5, 3, 0, 1);
      const want = interpret(m, inputs);
      const session = await ort.InferenceSession.create(bytes!);
      const feeds = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, new ort.Tensor("float32", t.data as Float32Array, t.shape)]));
      const got = await session.run(feeds);
      for (const [k, t] of Object.entries(want)) {
        const g = got[k]!;
        expect(relError({ shape: g.dims, dtype: "f32", data: g.data as Float32Array }, t)).toBeLessThanOrEqual(1e-4);
      }
    }
  });
});

test("fused Q/DQ quantisers (halves to even) and a Q/DQ input quantiser export too", async () => {
  const s = Math.fround(1 / 255);
  const bytes = buildModel({
    opset: 13,
    inputs: [{ name: "x", shape: ["N", 4] }],
    initializers: [scalar("s_in", s), scalar("s", 0.03125), { name: "w", dims: [3, 4], data: new Rng(2).f32(12) }],
    nodes: [
      node("QuantizeLinear", ["x", "s_in"], ["xi"]),
      node("DequantizeLinear", ["xi", "s_in"], ["xq"]),
      node("Gemm", ["xq", "w"], ["h"], "fc", { transB: 1 }),
      node("Relu", ["h"], ["z"]),
      node("QuantizeLinear", ["z", "s"], ["qi"]),
      node("DequantizeLinear", ["qi", "s"], ["y"]),
    ],
    outputs: ["y"],
  });
  const m = importBytes(bytes).module;
  await runPipeline(m, "canonicalize");
  expect(m.attrs["input_levels"]).toBe(255);
  expect(m.ops[0]!.attrs["quant_rounding"]).toBe("half_even");
  const inputs = randomInputs(m, 8, 64, -0.1, 1.1);
  const session = await ort.InferenceSession.create(annToOnnx(m)!);
  const got = (await session.run({ x: new ort.Tensor("float32", inputs["x"]!.data as Float32Array, inputs["x"]!.shape) }))["y"]!;
  expect(Array.from(got.data as Float32Array)).toEqual(Array.from(interpret(m, inputs)["y"]!.data as Float32Array));
});

test("an op outside the exporter's set gives no model (tscc run then uses the interpreter)", () => {
  const m = importOnnxFile(join(root, "examples/fashion-mnist/cnn-small.onnx")).module; // raw import: a Shape chain
  expect(annToOnnx(m)).toBeUndefined();
});
