import { describe, expect, it } from "vitest";
import { add, cast, quantizeLinear, softmax } from "../../../ir/interp/kernels/index.js";
import { attr } from "../../support/onnx-builder.js";
import { Rng } from "../../support/random.js";
import { at, compareWithOrt, f32, i64, values } from "./harness.js";

const numel = (d: readonly number[]) => d.reduce((p, v) => p * v, 1);

describe("activations match onnxruntime", () => {
  it("relu", async () => {
    await compareWithOrt({ onnx: { op: "Relu" }, nn: { op: "nn.relu" }, operands: [{ name: "x", dims: [3, 4, 5], data: new Rng(1).f32(60) }] });
  });

  it("clip with min and max (opset 13: bounds as inputs, nn: attributes)", async () => {
    await compareWithOrt({
      onnx: { op: "Clip", opset: 13 },
      nn: { op: "nn.clip", attrs: { min: 0, max: 0.5 } },
      operands: [
        { name: "x", dims: [2, 10], data: new Rng(2).f32(20) },
        { name: "min", dims: [], data: Float32Array.of(0), const: true, onnxOnly: true },
        { name: "max", dims: [], data: Float32Array.of(0.5), const: true, onnxOnly: true },
      ],
    });
  });

  it("clip with only a max (opset 10 attribute; min defaults to -inf)", async () => {
    await compareWithOrt({
      onnx: { op: "Clip", opset: 10, attrs: { max: attr.float(0.25) } },
      nn: { op: "nn.clip", attrs: { max: 0.25 } },
      operands: [{ name: "x", dims: [2, 10], data: new Rng(3).f32(20, -5, 5) }],
    });
  });

  it("clip with only a min (opset 13, max input skipped)", async () => {
    await compareWithOrt({
      onnx: { op: "Clip", opset: 13 },
      nn: { op: "nn.clip", attrs: { min: -0.5 } },
      operands: [{ name: "x", dims: [2, 10], data: new Rng(4).f32(20) }, { name: "min", dims: [], data: Float32Array.of(-0.5), const: true, onnxOnly: true }],
    });
  });
});

describe("nn.add matches onnxruntime", () => {
  const cases: [string, number[], number[], boolean][] = [
    ["same shape (residual: two batched inputs)", [2, 3, 4, 4], [2, 3, 4, 4], false],
    ["per-channel [C, 1, 1]", [2, 3, 4, 4], [3, 1, 1], true],
    ["bias row [n]", [3, 7], [7], true],
    ["scalar", [2, 5], [], true],
    ["both sides broadcast", [2, 1, 5], [3, 1], true],
  ];
  for (const [name, a, b, bConst] of cases) {
    it(name, async () => {
      const rng = new Rng(numel(a) + numel(b));
      await compareWithOrt({
        onnx: { op: "Add" },
        nn: { op: "nn.add" },
        operands: [
          { name: "a", dims: a, data: rng.f32(numel(a)) },
          { name: "b", dims: b, data: rng.f32(numel(b)), const: bConst },
        ],
      });
    });
  }

  it("i64 shape arithmetic (exact)", async () => {
    await compareWithOrt({
      onnx: { op: "Add" },
      nn: { op: "nn.add" },
      dynamicBatch: false,
      outDtype: "i64",
      operands: [
        { name: "a", dims: [4], data: BigInt64Array.of(1n, -2n, 3n, 9007199254740993n) },
        { name: "b", dims: [1], data: BigInt64Array.of(10n), const: true },
      ],
    });
  });

  it("fused relu and clip", () => {
    const a = f32([4], [-2, -0.5, 0.5, 2]);
    const b = f32([1], [0.25]);
    expect(values(add(a, b, { lo: 0, hi: Infinity }))).toEqual([0, 0, 0.75, 2.25]);
    expect(values(add(a, b, { lo: -1, hi: 1 }))).toEqual([-1, -0.25, 0.75, 1]);
    expect(values(add(i64([2], [-3, 3]), i64([2], [1, 1]), { lo: 0, hi: Infinity }))).toEqual([0n, 4n]);
  });
});

describe("nn.batch_norm matches onnxruntime", () => {
  for (const dims of [
    [2, 4, 5, 3],
    [3, 6],
    [2, 3, 7],
  ]) {
    it(`rank ${dims.length}`, async () => {
      const rng = new Rng(dims.length);
      const c = dims[1]!;
      await compareWithOrt({
        onnx: { op: "BatchNormalization", attrs: { epsilon: 1e-3 }, opset: 13 },
        nn: { op: "nn.batch_norm", attrs: { epsilon: 1e-3 } },
        operands: [
          { name: "x", dims, data: rng.f32(numel(dims), -3, 3) },
          { name: "scale", dims: [c], data: rng.f32(c, 0.5, 2), const: true },
          { name: "bias", dims: [c], data: rng.f32(c), const: true },
          { name: "mean", dims: [c], data: rng.f32(c), const: true },
          { name: "var", dims: [c], data: rng.f32(c, 0.01, 2), const: true },
        ],
      });
    });
  }
});

describe("nn.softmax matches onnxruntime", () => {
  it("opset 13: along one axis", async () => {
    for (const axis of [1, -1, 0]) {
      await compareWithOrt({
        onnx: { op: "Softmax", attrs: { axis }, opset: 13 },
        nn: { op: "nn.softmax", attrs: { axis } },
        operands: [{ name: "x", dims: [2, 3, 4], data: new Rng(50 + axis).f32(24, -4, 4) }],
      });
    }
  });

  it("opset 11: coerced to 2-D at the axis (coerce_2d)", async () => {
    for (const axis of [1, 2, -2]) {
      await compareWithOrt({
        onnx: { op: "Softmax", attrs: { axis }, opset: 11 },
        nn: { op: "nn.softmax", attrs: { axis, coerce_2d: true } },
        operands: [{ name: "x", dims: [2, 3, 4], data: new Rng(60 + axis).f32(24, -4, 4) }],
      });
    }
  });

  it("the two semantics differ, and large logits do not overflow", () => {
    const x = f32([1, 2, 2], [1000, 1001, 1002, 1003]);
    const along = softmax(x, 1, false);
    const coerced = softmax(x, 1, true);
    expect(at(along, 0) + at(along, 2)).toBeCloseTo(1, 6);
    expect(at(coerced, 0) + at(coerced, 1) + at(coerced, 2) + at(coerced, 3)).toBeCloseTo(1, 6);
    expect(at(along, 0)).not.toBeCloseTo(at(coerced, 0), 3);
  });
});

describe("nn.dropout and nn.identity pass the input through", () => {
  it("dropout (inference)", async () => {
    await compareWithOrt({
      onnx: { op: "Dropout", opset: 13 },
      nn: { op: "nn.dropout", attrs: { ratio: 0.3 } },
      operands: [{ name: "x", dims: [2, 6], data: new Rng(70).f32(12) }],
    });
  });

  it("identity", async () => {
    await compareWithOrt({ onnx: { op: "Identity" }, nn: { op: "nn.identity" }, operands: [{ name: "x", dims: [2, 6], data: new Rng(71).f32(12) }] });
  });
});

describe("nn.cast matches onnxruntime", () => {
  it("f32 → i64 truncates toward zero", async () => {
    await compareWithOrt({
      onnx: { op: "Cast", attrs: { to: 7 } },
      nn: { op: "nn.cast", attrs: { to: "i64" } },
      dynamicBatch: false,
      outDtype: "i64",
      operands: [{ name: "x", dims: [6], data: Float32Array.of(-2.7, -0.5, 0, 0.5, 2.7, 123456) }],
    });
  });

  it("i64 → f32 and i64 → i32", async () => {
    const data = BigInt64Array.of(-3n, 0n, 7n, 16777217n);
    await compareWithOrt({
      onnx: { op: "Cast", attrs: { to: 1 } },
      nn: { op: "nn.cast", attrs: { to: "f32" } },
      dynamicBatch: false,
      operands: [{ name: "x", dims: [4], data }],
    });
    await compareWithOrt({
      onnx: { op: "Cast", attrs: { to: 6 } },
      nn: { op: "nn.cast", attrs: { to: "i32" } },
      dynamicBatch: false,
      outDtype: "i32",
      operands: [{ name: "x", dims: [4], data }],
    });
  });

  it("casting to the same type returns the tensor", () => {
    const x = i64([2], [1, 2]);
    expect(cast(x, "i64")).toBe(x);
  });
});

describe("scalar arithmetic, Floor and Round match onnxruntime (the ops of QAT activations)", () => {
  const ops = [
    ["Mul", "nn.mul"],
    ["Div", "nn.div"],
    ["Sub", "nn.sub"],
  ] as const;
  for (const [onnxOp, nnOp] of ops) {
    for (const [name, a, b] of [
      ["a scalar constant", [2, 3, 4], []],
      ["a per-channel [C, 1, 1] constant", [2, 3, 2, 2], [3, 1, 1]],
      ["a run-time operand of the same shape", [2, 5], [2, 5]],
    ] as const) {
      it(`${onnxOp} by ${name}`, async () => {
        const rng = new Rng(a.length * 10 + b.length + onnxOp.length);
        await compareWithOrt({
          onnx: { op: onnxOp },
          nn: { op: nnOp },
          dynamicBatch: b.length === a.length ? false : true,
          operands: [
            { name: "a", dims: a, data: rng.f32(numel(a), -4, 4) },
            { name: "b", dims: b, data: rng.f32(numel(b), 0.25, 3), const: b.length !== a.length },
          ],
          tol: 0,
        });
      });
    }
  }

  // Exact halves (ties), negative zero, integers, and values near the float32 integer limit.
  const ties = Float32Array.of(-2.5, -1.5, -0.5, -0, 0.5, 1.5, 2.5, 3.5, -3.49999976, 3.50000024, 7, -7, 8388607.5, 123456.5, 0.49999997);

  it("Floor", async () => {
    await compareWithOrt({ onnx: { op: "Floor" }, nn: { op: "nn.floor" }, dynamicBatch: false, operands: [{ name: "x", dims: [ties.length], data: ties }], tol: 0 });
  });

  it("Round rounds halves to even", async () => {
    const { ours } = await compareWithOrt({ onnx: { op: "Round", opset: 11 }, nn: { op: "nn.round" }, dynamicBatch: false, operands: [{ name: "x", dims: [ties.length], data: ties }], tol: 0 });
    expect(values(ours).slice(0, 8)).toEqual([-2, -2, -0, -0, 0, 2, 2, 4]);
  });
});

describe("QuantizeLinear and DequantizeLinear match onnxruntime", () => {
  // x / scale lands on exact halves (ties to even), inside the range, and beyond both ends (saturation).
  const x = Float32Array.of(-9, -0.75, -0.25, 0, 0.25, 0.75, 1.25, 1.75, 2.5, 63.75, 64.25, 70, 0.3, -0.3);
  for (const [to, zp] of [
    ["u8", 0],
    ["u8", 3],
    ["i8", 0],
    ["i8", -128],
    ["i8", 5],
  ] as const) {
    it(`${to} with zero point ${zp}: round half to even, then saturate`, async () => {
      const zpData = to === "u8" ? Uint8Array.of(zp) : Int8Array.of(zp);
      await compareWithOrt({
        onnx: { op: "QuantizeLinear", opset: 13 },
        nn: { op: "nn.quantize_linear", attrs: { scale: 0.5, zero_point: zp, to } },
        dynamicBatch: false,
        outDtype: to,
        operands: [
          { name: "x", dims: [x.length], data: x },
          { name: "scale", dims: [], data: Float32Array.of(0.5), const: true, onnxOnly: true },
          { name: "zp", dims: [], data: zpData, dtype: to, const: true, onnxOnly: true },
        ],
      });
      const codes = to === "u8" ? Uint8Array.of(0, 1, 2, 3, 127, 128, 200, 255) : Int8Array.of(-128, -1, 0, 1, 5, 64, 127);
      await compareWithOrt({
        onnx: { op: "DequantizeLinear", opset: 13 },
        nn: { op: "nn.dequantize_linear", attrs: { scale: Math.fround(1 / 255), zero_point: zp } },
        dynamicBatch: false,
        tol: 0,
        operands: [
          { name: "q", dims: [codes.length], data: codes, dtype: to },
          { name: "scale", dims: [], data: Float32Array.of(1 / 255), const: true, onnxOnly: true },
          { name: "zp", dims: [], data: zpData, dtype: to, const: true, onnxOnly: true },
        ],
      });
    });
  }

  it("ties go to the even code", () => {
    const q = quantizeLinear(f32([6], [0.25, 0.75, 1.25, -0.25, -0.75, 2.5]), 0.5, 0, "i8");
    expect(values(q)).toEqual([0, 2, 2, 0, -2, 5]);
  });
});
