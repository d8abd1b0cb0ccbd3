import { describe, expect, it } from "vitest";
import { attr, buildModel, runOnnx } from "../../support/onnx-builder.js";
import { mulberry32 } from "../../support/random.js";

/** The test model builder that every comparison with onnxruntime relies on. */
describe("onnx-builder", () => {
  it("typed (non-raw) initializers, Constant tensor attributes and IR-3 initializer inputs load in onnxruntime", async () => {
    const bytes = buildModel({
      opset: 7,
      inputs: [{ name: "x", shape: ["batch", 3] }],
      initializers: [{ name: "b", dims: [3], data: Float32Array.of(1, 2, 3), encoding: "typed" }],
      initializersAsInputs: true,
      nodes: [
        { op: "Constant", inputs: [], outputs: ["k"], attrs: { value: attr.tensor({ dims: [3], data: Float32Array.of(10, 20, 30), encoding: "typed" }) } },
        { op: "Add", inputs: ["x", "b"], outputs: ["s"] },
        { op: "Add", inputs: ["s", "k"], outputs: ["y"] },
      ],
      outputs: ["y"],
    });
    const out = await runOnnx(bytes, { x: { dims: [2, 3], data: Float32Array.of(0, 0, 0, 1, 1, 1) } });
    expect(Array.from(out["y"]!.data as Float32Array)).toEqual([11, 22, 33, 12, 23, 34]);
  });

  it("int64 values beyond 2^53, raw and typed", async () => {
    const big = 2n ** 62n + 3n;
    for (const encoding of ["raw", "typed"] as const) {
      const bytes = buildModel({
        opset: 13,
        inputs: [{ name: "x", dtype: "int64", shape: [2] }],
        initializers: [{ name: "c", dims: [2], data: BigInt64Array.of(big, -big), encoding }],
        nodes: [{ op: "Add", inputs: ["x", "c"], outputs: ["y"] }],
        outputs: [{ name: "y", dtype: "int64" }],
      });
      const out = await runOnnx(bytes, { x: { dims: [2], data: BigInt64Array.of(1n, -1n) } });
      expect(Array.from(out["y"]!.data as BigInt64Array)).toEqual([big + 1n, -big - 1n]);
    }
  });

  it("mulberry32 is deterministic and uniform-looking", () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });
});
