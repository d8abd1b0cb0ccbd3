import { describe, expect, it } from "vitest";
import { concat, gather, pad, reshape, shapeOf, squeeze, unsqueeze } from "../../../ir/interp/kernels/index.js";
import { ShapeError } from "../../../ir/opdef.js";
import { Rng } from "../../support/random.js";
import { compareWithOrt, f32, i64, values } from "./harness.js";

const numel = (d: readonly number[]) => d.reduce((p, v) => p * v, 1);
const i64c = (name: string, vals: number[], dims = [vals.length]) => ({
  name,
  dims,
  data: BigInt64Array.from(vals, (v) => BigInt(v)),
  const: true,
});

describe("nn.flatten matches onnxruntime", () => {
  it("axis 1 with a dynamic batch", async () => {
    const { ours } = await compareWithOrt({
      onnx: { op: "Flatten", attrs: { axis: 1 } },
      nn: { op: "nn.flatten", attrs: { axis: 1 } },
      operands: [{ name: "x", dims: [3, 2, 4, 5], data: new Rng(1).f32(120) }],
    });
    expect(ours.shape).toEqual([3, 40]);
  });

  for (const axis of [0, 2, 4, -1]) {
    it(`axis ${axis} on a static shape`, async () => {
      await compareWithOrt({
        onnx: { op: "Flatten", attrs: { axis } },
        nn: { op: "nn.flatten", attrs: { axis } },
        dynamicBatch: false,
        operands: [{ name: "x", dims: [2, 3, 4, 5], data: new Rng(2).f32(120) }],
      });
    });
  }
});

describe("nn.reshape matches onnxruntime", () => {
  it("0 copies a dimension and -1 is inferred (dynamic batch)", async () => {
    const { ours } = await compareWithOrt({
      onnx: { op: "Reshape" },
      nn: { op: "nn.reshape" },
      operands: [{ name: "x", dims: [3, 2, 3, 4], data: new Rng(3).f32(72) }, i64c("s", [0, -1, 4])],
    });
    expect(ours.shape).toEqual([3, 6, 4]);
  });

  it("fully explicit target", async () => {
    await compareWithOrt({
      onnx: { op: "Reshape" },
      nn: { op: "nn.reshape" },
      dynamicBatch: false,
      operands: [{ name: "x", dims: [2, 3, 4], data: new Rng(4).f32(24) }, i64c("s", [4, 6])],
    });
  });

  it("allowzero = 1 keeps a literal 0 (opset 14)", async () => {
    const { ours } = await compareWithOrt({
      onnx: { op: "Reshape", attrs: { allowzero: 1 }, opset: 14 },
      nn: { op: "nn.reshape", attrs: { allowzero: 1 } },
      dynamicBatch: false,
      operands: [{ name: "x", dims: [2, 0, 3], data: new Float32Array(0) }, i64c("s", [0, 4, 0])],
    });
    expect(ours.shape).toEqual([0, 4, 0]);
  });

  it("rejects a target that does not hold the elements", () => {
    expect(() => reshape(f32([2, 3], [1, 2, 3, 4, 5, 6]), i64([2], [4, 2]), false)).toThrow(ShapeError);
  });
});

describe("nn.pad matches onnxruntime", () => {
  it("constant value on the spatial axes", async () => {
    await compareWithOrt({
      onnx: { op: "Pad", opset: 13 },
      nn: { op: "nn.pad", attrs: { pads: [0, 0, 1, 2, 0, 0, 2, 1], value: 0.5 } },
      operands: [
        { name: "x", dims: [2, 3, 4, 5], data: new Rng(5).f32(120) },
        { ...i64c("pads", [0, 0, 1, 2, 0, 0, 2, 1]), onnxOnly: true },
        { name: "v", dims: [], data: Float32Array.of(0.5), const: true, onnxOnly: true },
      ],
    });
  });

  it("negative pads crop (mixed with positive ones, channel axis too)", async () => {
    const { ours } = await compareWithOrt({
      onnx: { op: "Pad", opset: 13 },
      nn: { op: "nn.pad", attrs: { pads: [0, 1, -1, 2, 0, -2, 1, -3] } },
      operands: [{ name: "x", dims: [2, 3, 4, 5], data: new Rng(6).f32(120) }, { ...i64c("pads", [0, 1, -1, 2, 0, -2, 1, -3]), onnxOnly: true }],
    });
    expect(ours.shape).toEqual([2, 2, 4, 4]);
  });

  it("1-D padding of an i64 vector", async () => {
    await compareWithOrt({
      onnx: { op: "Pad", opset: 13 },
      nn: { op: "nn.pad", attrs: { pads: [2, 1], value: 7 } },
      dynamicBatch: false,
      outDtype: "i64",
      operands: [
        { name: "x", dims: [3], data: BigInt64Array.of(1n, 2n, 3n) },
        { ...i64c("pads", [2, 1]), onnxOnly: true },
        { ...i64c("v", [7], []), onnxOnly: true },
      ],
    });
  });

  it("rejects crops larger than the input", () => {
    expect(() => pad(f32([2], [1, 2]), [-2, -1], 0)).toThrow(ShapeError);
  });
});

describe("nn.concat matches onnxruntime", () => {
  it("three f32 tensors along the channel axis", async () => {
    const rng = new Rng(7);
    await compareWithOrt({
      onnx: { op: "Concat", attrs: { axis: 1 } },
      nn: { op: "nn.concat", attrs: { axis: 1 } },
      operands: [
        { name: "a", dims: [2, 1, 3, 3], data: rng.f32(18) },
        { name: "b", dims: [2, 4, 3, 3], data: rng.f32(72) },
        { name: "c", dims: [2, 2, 3, 3], data: rng.f32(36) },
      ],
    });
  });

  it("negative axis", async () => {
    const rng = new Rng(8);
    await compareWithOrt({
      onnx: { op: "Concat", attrs: { axis: -1 } },
      nn: { op: "nn.concat", attrs: { axis: -1 } },
      operands: [
        { name: "a", dims: [2, 3, 2], data: rng.f32(12) },
        { name: "b", dims: [2, 3, 5], data: rng.f32(30) },
      ],
    });
  });

  it("i64 shape vectors", () => {
    const y = concat([i64([1], [-5]), i64([2], [3, 4])], 0);
    expect(y.dtype).toBe("i64");
    expect(values(y)).toEqual([-5n, 3n, 4n]);
  });
});

describe("nn.shape matches onnxruntime", () => {
  it("the run-time shape, batch included", async () => {
    const { ours } = await compareWithOrt({
      onnx: { op: "Shape" },
      nn: { op: "nn.shape" },
      outDtype: "i64",
      operands: [{ name: "x", dims: [3, 2, 4, 5], data: new Float32Array(120) }],
    });
    expect(values(ours)).toEqual([3n, 2n, 4n, 5n]);
  });

  it("start and end (opset 15), clamped like ONNX", async () => {
    for (const [start, end] of [
      [1, -1],
      [-3, 100],
      [2, 1],
    ] as const) {
      await compareWithOrt({
        onnx: { op: "Shape", attrs: { start, end }, opset: 15 },
        nn: { op: "nn.shape", attrs: { start, end } },
        outDtype: "i64",
        operands: [{ name: "x", dims: [3, 2, 4, 5], data: new Float32Array(120) }],
      });
    }
    expect(shapeOf({ shape: [7, 8] }).shape).toEqual([2]);
  });
});

describe("nn.gather matches onnxruntime", () => {
  it("axis 1 with negative and 2-D indices", async () => {
    await compareWithOrt({
      onnx: { op: "Gather", attrs: { axis: 1 } },
      nn: { op: "nn.gather", attrs: { axis: 1 } },
      operands: [{ name: "x", dims: [2, 5, 3], data: new Rng(9).f32(30) }, i64c("i", [-1, 0, 2, -3], [2, 2])],
    });
  });

  it("last axis with i32 indices", async () => {
    await compareWithOrt({
      onnx: { op: "Gather", attrs: { axis: -1 } },
      nn: { op: "nn.gather", attrs: { axis: -1 } },
      operands: [{ name: "x", dims: [2, 3, 4], data: new Rng(10).f32(24) }, { name: "i", dims: [3], data: Int32Array.of(3, -4, 1), const: true }],
    });
  });

  it("a scalar index into an i64 shape vector (the x.size(0) pattern)", async () => {
    const { ours } = await compareWithOrt({
      onnx: { op: "Gather", attrs: { axis: 0 } },
      nn: { op: "nn.gather", attrs: { axis: 0 } },
      dynamicBatch: false,
      outDtype: "i64",
      operands: [{ name: "x", dims: [4], data: BigInt64Array.of(8n, 3n, 32n, 32n) }, i64c("i", [-4], [])],
    });
    expect(ours.shape).toEqual([]);
    expect(ours.data[0]).toBe(8n);
  });

  it("rejects out-of-range indices", () => {
    expect(() => gather(f32([3], [1, 2, 3]), i64([1], [3]), 0)).toThrow(/out of range/);
    expect(() => gather(f32([3], [1, 2, 3]), i64([1], [-4]), 0)).toThrow(/out of range/);
  });
});

describe("nn.unsqueeze / nn.squeeze match onnxruntime", () => {
  it("unsqueeze with positive and negative axes (opset 13: axes input)", async () => {
    const { ours } = await compareWithOrt({
      onnx: { op: "Unsqueeze", opset: 13 },
      nn: { op: "nn.unsqueeze", attrs: { axes: [1, -1] } },
      operands: [{ name: "x", dims: [2, 3], data: new Rng(11).f32(6) }, { ...i64c("axes", [1, -1]), onnxOnly: true }],
    });
    expect(ours.shape).toEqual([2, 1, 3, 1]);
  });

  it("unsqueeze (opset 11: axes attribute) of an i64 scalar", async () => {
    await compareWithOrt({
      onnx: { op: "Unsqueeze", attrs: { axes: [0] }, opset: 11 },
      nn: { op: "nn.unsqueeze", attrs: { axes: [0] } },
      dynamicBatch: false,
      outDtype: "i64",
      operands: [{ name: "x", dims: [], data: BigInt64Array.of(42n) }],
    });
  });

  it("squeeze listed axes", async () => {
    const { ours } = await compareWithOrt({
      onnx: { op: "Squeeze", opset: 13 },
      nn: { op: "nn.squeeze", attrs: { axes: [-1, 2] } },
      operands: [{ name: "x", dims: [2, 3, 1, 1], data: new Rng(12).f32(6) }, { ...i64c("axes", [-1, 2]), onnxOnly: true }],
    });
    expect(ours.shape).toEqual([2, 3]);
  });

  it("views share data; squeezing a non-1 axis is refused", () => {
    const x = f32([2, 1], [1, 2]);
    expect(unsqueeze(x, [0]).data).toBe(x.data);
    expect(() => squeeze(x, [0])).toThrow(ShapeError);
    expect(numel(unsqueeze(x, [0, 3]).shape)).toBe(2);
  });
});
