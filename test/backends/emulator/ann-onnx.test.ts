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

const root = join(import.meta.dirname, "..", "..", "..");
const files = [
  "test/fixtures/onnx/bn_pool.opset13.onnx",
  "test/fixtures/onnx/resnet_block.opset13.onnx",
  "test/fixtures/onnx/relu6_concat.opset13.onnx",
  "test/fixtures/onnx/matmul_add.opset13.onnx",
  "test/fixtures/onnx/conv_variants.opset13.onnx",
  "examples/fashion-mnist/cnn-small.onnx",
  "examples/fashion-mnist/vgg-bn.onnx",
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

test("an op outside the exporter's set gives no model (tscc run then uses the interpreter)", () => {
  const m = importOnnxFile(join(root, "examples/fashion-mnist/cnn-small.onnx")).module; // raw import: a Shape chain
  expect(annToOnnx(m)).toBeUndefined();
});
