import { describe, expect, it } from "vitest";
import { Builder } from "../../../ir/builder.js";
import { isTsccError, TsccError } from "../../../ir/diagnostics/diagnostic.js";
import { M } from "../../../ir/diagnostics/messages.js";
import { canEvaluate, constToTensor, evaluateOp, interpret } from "../../../ir/interp/interpreter.js";
import { rtensor, type RTensor } from "../../../ir/interp/tensor.js";
import { onnxLoc } from "../../../ir/location.js";
import { Module, type Op, type Value } from "../../../ir/module.js";
import { defineOp, OpRegistry } from "../../../ir/opdef.js";
import { BUILTIN_OPS } from "../../../ir/ops/index.js";
import { BATCH, tensorType } from "../../../ir/types.js";
import { buildModel, runOnnx } from "../../support/onnx-builder.js";
import { Rng } from "../../support/random.js";
import { expectClose, f32, i64, newBuilder, values } from "./harness.js";

/** The TsccError thrown by f (fails the test if f does not throw one). */
function tsccErrorOf(f: () => unknown): TsccError {
  try {
    f();
  } catch (e) {
    if (isTsccError(e)) return e;
    throw e;
  }
  throw new Error("expected a TsccError");
}

describe("a small CNN matches onnxruntime end to end", () => {
  // conv+relu → maxpool(ceil) → conv → bn → add(residual)+relu → avgpool(ceil) → flatten → gemm → softmax
  const rng = new Rng(2024);
  const w1 = rng.f32(8 * 3 * 3 * 3, -0.5, 0.5);
  const b1 = rng.f32(8);
  const w2 = rng.f32(8 * 8 * 3 * 3, -0.3, 0.3);
  const bn = [rng.f32(8, 0.5, 1.5), rng.f32(8), rng.f32(8, -0.2, 0.2), rng.f32(8, 0.1, 1)] as const;
  const w3 = rng.f32(10 * 128, -0.2, 0.2);
  const b3 = rng.f32(10);
  const k3 = { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] };
  const pool1 = { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 };
  const pool2 = { kernel_shape: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], ceil_mode: 1, count_include_pad: 0 };

  const onnxModel = buildModel({
    opset: 13,
    inputs: [{ name: "x", shape: ["N", 3, 12, 12] }],
    initializers: [
      { name: "w1", dims: [8, 3, 3, 3], data: w1 },
      { name: "b1", dims: [8], data: b1 },
      { name: "w2", dims: [8, 8, 3, 3], data: w2 },
      { name: "s", dims: [8], data: bn[0] },
      { name: "bb", dims: [8], data: bn[1] },
      { name: "mu", dims: [8], data: bn[2] },
      { name: "var", dims: [8], data: bn[3] },
      { name: "w3", dims: [10, 128], data: w3 },
      { name: "b3", dims: [10], data: b3 },
    ],
    nodes: [
      { op: "Conv", inputs: ["x", "w1", "b1"], outputs: ["c1"], attrs: k3 },
      { op: "Relu", inputs: ["c1"], outputs: ["r1"] },
      { op: "MaxPool", inputs: ["r1"], outputs: ["p1"], attrs: pool1 },
      { op: "Conv", inputs: ["p1", "w2"], outputs: ["c2"], attrs: k3 },
      { op: "BatchNormalization", inputs: ["c2", "s", "bb", "mu", "var"], outputs: ["n2"] },
      { op: "Add", inputs: ["n2", "p1"], outputs: ["a2"] },
      { op: "Relu", inputs: ["a2"], outputs: ["r2"] },
      { op: "AveragePool", inputs: ["r2"], outputs: ["p2"], attrs: pool2 },
      { op: "Flatten", inputs: ["p2"], outputs: ["f"], attrs: { axis: 1 } },
      { op: "Gemm", inputs: ["f", "w3", "b3"], outputs: ["g"], attrs: { transB: 1 } },
      { op: "Softmax", inputs: ["g"], outputs: ["y"], attrs: { axis: 1 } },
    ],
    outputs: ["y", "g"],
  });

  function nnModule(): Module {
    const { m, b } = newBuilder("cnn");
    const c = (name: string, shape: number[], data: Float32Array): Value => m.addConst(name, tensorType(shape), data).value;
    const x = m.addInput("x", tensorType([BATCH, 3, 12, 12]));
    const r1 = b.value("nn.conv", [x, c("w1", [8, 3, 3, 3], w1), c("b1", [8], b1)], { ...k3, activation: "relu" });
    const p1 = b.value("nn.max_pool", [r1], { ...pool1, dilations: [1, 1] });
    const c2 = b.value("nn.conv", [p1, c("w2", [8, 8, 3, 3], w2)], k3);
    const n2 = b.value("nn.batch_norm", [c2, c("s", [8], bn[0]), c("bb", [8], bn[1]), c("mu", [8], bn[2]), c("var", [8], bn[3])]);
    const r2 = b.value("nn.add", [n2, p1], { activation: "relu" });
    const p2 = b.value("nn.average_pool", [r2], { ...pool2, dilations: [1, 1] });
    const f = b.value("nn.flatten", [p2], { axis: 1 });
    const g = b.value("nn.gemm", [f, c("w3", [10, 128], w3), c("b3", [10], b3)], { transB: 1 });
    m.outputs.push({ name: "y", value: b.value("nn.softmax", [g], { axis: 1 }) });
    m.outputs.push({ name: "g", value: g });
    return m;
  }

  for (const n of [1, 3]) {
    it(`batch ${n} through the dynamic batch dimension`, async () => {
      const x = new Rng(n).f32(n * 3 * 12 * 12, -2, 2);
      const ref = await runOnnx(onnxModel, { x: { dims: [n, 3, 12, 12], data: x } });
      const ours = interpret(nnModule(), { x: rtensor([n, 3, 12, 12], "f32", x) });
      expectClose(ours["g"]!, ref["g"]!);
      expectClose(ours["y"]!, ref["y"]!);
      expect(ours["y"]!.shape).toEqual([n, 10]);
    });
  }

  it("observe sees every op result once, in order, with run-time shapes", () => {
    const m = nnModule();
    const seen: [Value, RTensor, Op][] = [];
    interpret(m, { x: rtensor([2, 3, 12, 12], "f32", new Rng(9).f32(2 * 3 * 12 * 12)) }, { observe: (v, t, op) => seen.push([v, t, op]) });
    expect(seen.map(([v]) => v)).toEqual(m.ops.map((op) => op.result));
    for (const [v, t, op] of seen) {
      expect(v.op).toBe(op);
      const ty = v.type.shape;
      expect(t.shape).toEqual(ty.map((d) => (d === BATCH ? 2 : d)));
    }
  });
});

describe("shape chains", () => {
  it("x.view(x.size(0), -1) (Shape → Gather → Unsqueeze → Concat → Reshape) at N = 3", async () => {
    const onnxModel = buildModel({
      opset: 13,
      inputs: [{ name: "x", shape: ["N", 2, 3, 3] }],
      initializers: [
        { name: "zero", dims: [], data: BigInt64Array.of(0n) },
        { name: "axes", dims: [1], data: BigInt64Array.of(0n) },
        { name: "minus1", dims: [1], data: BigInt64Array.of(-1n) },
      ],
      nodes: [
        { op: "Shape", inputs: ["x"], outputs: ["s"] },
        { op: "Gather", inputs: ["s", "zero"], outputs: ["n"], attrs: { axis: 0 } },
        { op: "Unsqueeze", inputs: ["n", "axes"], outputs: ["n1"] },
        { op: "Concat", inputs: ["n1", "minus1"], outputs: ["t"], attrs: { axis: 0 } },
        { op: "Reshape", inputs: ["x", "t"], outputs: ["y"] },
      ],
      outputs: ["y", { name: "t", dtype: "int64" }],
    });
    const { m, b } = newBuilder();
    const x = m.addInput("x", tensorType([BATCH, 2, 3, 3]));
    const s = b.value("nn.shape", [x]);
    const n = b.value("nn.gather", [s, m.addConst("zero", tensorType([], "i64"), BigInt64Array.of(0n)).value], { axis: 0 });
    const n1 = b.value("nn.unsqueeze", [n], { axes: [0] });
    const t = b.value("nn.concat", [n1, m.addConst("minus1", tensorType([1], "i64"), BigInt64Array.of(-1n)).value], { axis: 0 });
    const y = b.value("nn.reshape", [x, t]);
    expect(y.type.shape).toEqual([BATCH, 18]);
    m.outputs.push({ name: "y", value: y }, { name: "t", value: t });

    const data = new Rng(1).f32(3 * 18);
    const ref = await runOnnx(onnxModel, { x: { dims: [3, 2, 3, 3], data } });
    const ours = interpret(m, { x: rtensor([3, 2, 3, 3], "f32", data) });
    expectClose(ours["y"]!, ref["y"]!);
    expectClose(ours["t"]!, ref["t"]!);
    expect(values(ours["t"]!)).toEqual([3n, -1n]);
  });

  it("evaluateOp folds i64 ops on given operands; constToTensor shares the constant's data", () => {
    const { m, b } = newBuilder();
    const a = m.addConst("a", tensorType([2], "i64"), BigInt64Array.of(4n, 5n));
    const c = m.addConst("c", tensorType([1], "i64"), BigInt64Array.of(-1n));
    const cat = b.create("nn.concat", [a.value, c.value], { axis: 0 });
    const ta = constToTensor(a);
    expect(ta.data).toBe(a.data);
    expect(ta.shape).toEqual([2]);
    const [y] = evaluateOp(cat, [ta, constToTensor(c)]);
    expect(y!.dtype).toBe("i64");
    expect(values(y!)).toEqual([4n, 5n, -1n]);
    const sum = b.create("nn.add", [a.value, a.value]);
    expect(values(evaluateOp(sum, [ta, ta])[0]!)).toEqual([8n, 10n]);
    const cast = b.create("nn.cast", [a.value], { to: "f32" });
    expect(values(evaluateOp(cast, [ta])[0]!)).toEqual([4, 5]);
    expect(canEvaluate(cat)).toBe(true);
    expect(() => evaluateOp(cat, [])).toThrow("nn.concat takes at least 1 operand, got 0");
  });
});

describe("fixed batch 1", () => {
  // Input fixed at [1, 2, 5, 5]; the flatten is a view(1, -1).
  const rng = new Rng(31);
  const w = rng.f32(3 * 2 * 3 * 3);
  const wf = rng.f32(4 * 27);
  const convAttrs = { kernel_shape: [3, 3], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] };
  const onnxModel = buildModel({
    opset: 13,
    inputs: [{ name: "x", shape: [1, 2, 5, 5] }],
    initializers: [
      { name: "w", dims: [3, 2, 3, 3], data: w },
      { name: "shape", dims: [2], data: BigInt64Array.of(1n, -1n) },
      { name: "wf", dims: [4, 27], data: wf },
    ],
    nodes: [
      { op: "Conv", inputs: ["x", "w"], outputs: ["c"], attrs: convAttrs },
      { op: "Relu", inputs: ["c"], outputs: ["r"] },
      { op: "Reshape", inputs: ["r", "shape"], outputs: ["f"] },
      { op: "Gemm", inputs: ["f", "wf"], outputs: ["y"], attrs: { transB: 1 } },
    ],
    outputs: ["y"],
  });
  function nnModule(): Module {
    const { m, b } = newBuilder("fixed");
    const x = m.addInput("x", tensorType([1, 2, 5, 5]));
    const c = b.value("nn.conv", [x, m.addConst("w", tensorType([3, 2, 3, 3]), w).value], { ...convAttrs, activation: "relu" });
    const f = b.value("nn.reshape", [c, m.addConst("shape", tensorType([2], "i64"), BigInt64Array.of(1n, -1n)).value]);
    m.outputs.push({ name: "y", value: b.value("nn.gemm", [f, m.addConst("wf", tensorType([4, 27]), wf).value], { transB: 1 }) });
    return m;
  }

  it("N = 4 runs the model once per sample and stacks the outputs", async () => {
    const x = new Rng(32).f32(4 * 50);
    const parts: Float32Array[] = [];
    for (let s = 0; s < 4; s++) {
      const r = await runOnnx(onnxModel, { x: { dims: [1, 2, 5, 5], data: x.slice(s * 50, (s + 1) * 50) } });
      parts.push(r["y"]!.data as Float32Array);
    }
    const ref = f32([4, 4], Float32Array.from(parts.flatMap((p) => Array.from(p))));
    let calls = 0;
    const ours = interpret(nnModule(), { x: rtensor([4, 2, 5, 5], "f32", x) }, { observe: () => calls++ });
    expectClose(ours["y"]!, ref);
    expect(calls).toBe(3 * 4);
  });

  it("N = 1 runs directly", async () => {
    const x = new Rng(33).f32(50);
    const ref = await runOnnx(onnxModel, { x: { dims: [1, 2, 5, 5], data: x } });
    expectClose(interpret(nnModule(), { x: rtensor([1, 2, 5, 5], "f32", x) })["y"]!, ref["y"]!);
  });

  it("the non-batch dimensions must still match", () => {
    const e = tsccErrorOf(() => interpret(nnModule(), { x: rtensor([3, 2, 5, 6], "f32") }));
    expect(e.diagnostics[0]!.message).toBe("input 'x' has shape [3, 2, 5, 6] but the model expects [1, 2, 5, 5]");
  });
});

describe("input checks", () => {
  function mnist(): Module {
    const { m, b } = newBuilder("mnist");
    const x = m.addInput("x", tensorType([BATCH, 1, 28, 28]));
    m.outputs.push({ name: "y", value: b.value("nn.relu", [x]) });
    return m;
  }
  const ok = () => rtensor([2, 1, 28, 28], "f32");

  it("a wrong shape names the input, both shapes and the batch as ?", () => {
    const e = tsccErrorOf(() => interpret(mnist(), { x: rtensor([2, 3, 5], "f32") }));
    expect(e.diagnostics).toHaveLength(1);
    expect(e.diagnostics[0]!.code).toBe(M.InputMismatch.code);
    expect(e.diagnostics[0]!.message).toBe("input 'x' has shape [2, 3, 5] but the model expects [?, 1, 28, 28]");
    expect(e.message).toContain("TSCC5005");
  });

  it("a static dimension must match exactly", () => {
    const e = tsccErrorOf(() => interpret(mnist(), { x: rtensor([2, 1, 28, 27], "f32") }));
    expect(e.diagnostics[0]!.message).toBe("input 'x' has shape [2, 1, 28, 27] but the model expects [?, 1, 28, 28]");
  });

  it("a wrong element type", () => {
    const e = tsccErrorOf(() => interpret(mnist(), { x: rtensor([2, 1, 28, 28], "i64") }));
    expect(e.diagnostics[0]!.message).toBe("input 'x' has element type i64 but the model expects f32");
  });

  it("data that does not fit the declared dtype or shape", () => {
    const e1 = tsccErrorOf(() => interpret(mnist(), { x: { shape: [1, 1, 28, 28], dtype: "f32", data: new Float64Array(784) } }));
    expect(e1.diagnostics[0]!.message).toBe("input 'x' is declared f32 but its data is a Float64Array");
    const e2 = tsccErrorOf(() => interpret(mnist(), { x: { shape: [1, 1, 28, 28], dtype: "f32", data: new Float32Array(10) } }));
    expect(e2.diagnostics[0]!.message).toBe("input 'x' has 10 elements but its shape [1, 1, 28, 28] needs 784");
  });

  it("missing and unknown inputs are reported together", () => {
    const e = tsccErrorOf(() => interpret(mnist(), { image: ok() }));
    expect(e.diagnostics.map((d) => d.message)).toEqual(["unknown input 'image'; the model's inputs are 'x'", "missing input 'x' (the model expects [?, 1, 28, 28] f32)"]);
  });

  it("a batch of 0 is refused with a hint", () => {
    const e = tsccErrorOf(() => interpret(mnist(), { x: rtensor([0, 1, 28, 28], "f32") }));
    expect(e.diagnostics[0]!.message).toBe("input 'x' has shape [0, 1, 28, 28] but the model expects [?, 1, 28, 28]");
    expect(e.diagnostics[0]!.hint).toBe("the batch size must be at least 1");
  });

  it("batched inputs must agree on the batch size", () => {
    const { m, b } = newBuilder();
    const x = m.addInput("a", tensorType([BATCH, 4]));
    const y = m.addInput("b", tensorType([BATCH, 4]));
    m.outputs.push({ name: "y", value: b.value("nn.add", [x, y]) });
    const e = tsccErrorOf(() => interpret(m, { a: rtensor([2, 4], "f32"), b: rtensor([3, 4], "f32") }));
    expect(e.diagnostics[0]!.message).toBe("input 'b' has batch size 3 but input 'a' has batch size 2");
  });
});

describe("errors while running", () => {
  it("ops outside the nn dialect are refused before running, with their location", () => {
    const foo = defineOp({
      name: "test.foo",
      summary: "",
      operands: [{ name: "x", type: "tensor" }],
      results: [{ name: "y", type: "tensor" }],
      attrs: {},
      infer: (ctx) => [ctx.operands[0]!],
    });
    const m = new Module("t");
    const b = new Builder(m, new OpRegistry([...BUILTIN_OPS, foo]));
    b.loc = onnxLoc("foo_1", 3, "Foo");
    const x = m.addInput("x", tensorType([BATCH, 2]));
    m.outputs.push({ name: "y", value: b.value("test.foo", [x]) });
    const e = tsccErrorOf(() => interpret(m, { x: rtensor([1, 2], "f32") }));
    expect(e.diagnostics[0]!.code).toBe(M.BackendUnsupported.code);
    expect(e.diagnostics[0]!.message).toMatch(/'test\.foo'/);
    expect(e.diagnostics[0]!.loc).toEqual(onnxLoc("foo_1", 3, "Foo"));
  });

  it("a data-dependent failure (gather index out of range) becomes a diagnostic at the op", () => {
    const { m, b } = newBuilder();
    b.loc = onnxLoc("gather_0", 0, "Gather");
    const x = m.addInput("x", tensorType([BATCH, 3]));
    const i = m.addInput("i", tensorType([2], "i64"));
    m.outputs.push({ name: "y", value: b.value("nn.gather", [x, i], { axis: 1 }) });
    const e = tsccErrorOf(() => interpret(m, { x: rtensor([1, 3], "f32"), i: i64([2], [0, 3]) }));
    expect(e.diagnostics[0]!.message).toBe("nn.gather: Gather index 3 is out of range for axis 1 of size 3");
    expect(e.diagnostics[0]!.loc).toEqual(onnxLoc("gather_0", 0, "Gather"));
  });

  it("3-D convolution in a module is reported at the op", () => {
    const { m, b } = newBuilder();
    b.loc = onnxLoc("conv3d", 0, "Conv");
    const x = m.addInput("x", tensorType([BATCH, 1, 2, 2, 2]));
    const w = m.addConst("w", tensorType([1, 1, 1, 1, 1]), Float32Array.of(1)).value;
    m.outputs.push({ name: "y", value: b.value("nn.conv", [x, w], { kernel_shape: [1, 1, 1], strides: [1, 1, 1], pads: [0, 0, 0, 0, 0, 0], dilations: [1, 1, 1] }) });
    const e = tsccErrorOf(() => interpret(m, { x: rtensor([1, 1, 2, 2, 2], "f32") }));
    expect(e.diagnostics[0]!.code).toBe(M.BackendUnsupported.code);
    expect(e.diagnostics[0]!.loc).toEqual(onnxLoc("conv3d", 0, "Conv"));
  });

  it("a result that disagrees with its IR type is an internal error, not a diagnostic", () => {
    const { m, b } = newBuilder();
    const x = m.addInput("x", tensorType([BATCH, 4]));
    const r = b.create("nn.relu", [x]);
    r.result.type = tensorType([BATCH, 5]);
    m.outputs.push({ name: "y", value: r.result });
    let err: unknown;
    try {
      interpret(m, { x: rtensor([1, 4], "f32") });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect(isTsccError(err)).toBe(false);
    expect(String(err)).toMatch(/internal error: nn\.relu computed \[1, 4\]/);
  });
});

describe("outputs", () => {
  it("never alias the caller's input or a constant", () => {
    const { m, b } = newBuilder();
    const x = m.addInput("x", tensorType([BATCH, 2]));
    const k = m.addConst("k", tensorType([2]), Float32Array.of(1, 2));
    m.outputs.push({ name: "same", value: b.value("nn.identity", [x]) });
    m.outputs.push({ name: "view", value: b.value("nn.flatten", [x], { axis: 1 }) });
    m.outputs.push({ name: "const", value: k.value });
    m.outputs.push({ name: "input", value: x });
    const input = f32([1, 2], [3, 4]);
    const out = interpret(m, { x: input });
    for (const name of ["same", "view", "input"]) {
      expect(out[name]!.data).not.toBe(input.data);
      expect(values(out[name]!)).toEqual([3, 4]);
    }
    expect(out["const"]!.data).not.toBe(k.data);
    expect(values(out["const"]!)).toEqual([1, 2]);
  });
});
