/**
 * Test harness for the reference interpreter: build the same op as an ONNX model (run in
 * onnxruntime) and as an `nn` module (run in the interpreter) and compare the results.
 */
import { expect } from "vitest";
import { Builder } from "../../../ir/builder.js";
import { interpret } from "../../../ir/interp/interpreter.js";
import { rtensor, type RTensor } from "../../../ir/interp/tensor.js";
import { Module, type Attrs, type Value } from "../../../ir/module.js";
import { builtinOps } from "../../../ir/ops/index.js";
import { BATCH, tensorType, type DType } from "../../../ir/types.js";
import { runOnnx, singleNodeModel, type AttrInput, type OnnxElemType, type OrtValue, type TensorDataLike } from "../../support/onnx-builder.js";

export const ORT_TYPE: Record<DType, OnnxElemType> = {
  f32: "float32",
  f64: "float64",
  i64: "int64",
  i32: "int32",
  i8: "int8",
  u8: "uint8",
  bool: "bool",
};

const FROM_ORT: Record<OnnxElemType, DType> = {
  float32: "f32",
  float64: "f64",
  int64: "i64",
  int32: "i32",
  int8: "i8",
  uint8: "u8",
  bool: "bool",
};

export function newBuilder(name = "t"): { m: Module; b: Builder } {
  const m = new Module(name);
  return { m, b: new Builder(m, builtinOps()) };
}

export function toOrt(t: RTensor): OrtValue {
  return { dims: [...t.shape], data: t.data, dtype: ORT_TYPE[t.dtype] };
}

export function fromOrt(v: OrtValue): RTensor {
  const dtype = v.dtype ? FROM_ORT[v.dtype] : v.data instanceof BigInt64Array ? "i64" : "f32";
  return rtensor(v.dims, dtype, v.data);
}

export function f32(shape: readonly number[], data: Float32Array | readonly number[]): RTensor {
  return rtensor(shape, "f32", data instanceof Float32Array ? data : Float32Array.from(data));
}

export function i64(shape: readonly number[], data: readonly (number | bigint)[]): RTensor {
  return rtensor(shape, "i64", BigInt64Array.from(data, (v) => BigInt(v)));
}

/** The elements of a tensor as JS values (numbers, or bigints for i64). */
export function values(t: RTensor): (number | bigint)[] {
  return Array.from(t.data as ArrayLike<number | bigint>);
}

/** Element i of a float tensor. */
export function at(t: RTensor, i: number): number {
  return Number(t.data[i]);
}

/** max|a - b| / max(1e-6, max|b|). */
export function relError(actual: TensorDataLike, expected: TensorDataLike): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual[i]);
    const b = Number(expected[i]);
    if (Number.isNaN(a) !== Number.isNaN(b)) return Infinity;
    if (a === b) {
      if (Number.isFinite(b)) scale = Math.max(scale, Math.abs(b));
      continue;
    }
    diff = Math.max(diff, Math.abs(a - b));
    scale = Math.max(scale, Math.abs(b));
  }
  return diff / Math.max(1e-6, scale);
}

/** Same shape and dtype, and relative error ≤ tol (exact equality for integer tensors). */
export function expectClose(actual: RTensor, expected: OrtValue | RTensor, tol = 1e-4): number {
  const exp = "dims" in expected ? fromOrt(expected) : expected;
  expect(actual.shape).toEqual(exp.shape);
  expect(actual.dtype).toBe(exp.dtype);
  if (actual.data instanceof BigInt64Array || exp.dtype !== "f32") {
    expect(Array.from(actual.data as ArrayLike<number | bigint>)).toEqual(Array.from(exp.data as ArrayLike<number | bigint>));
    return 0;
  }
  const err = relError(actual.data, exp.data);
  expect(err, `relative error ${err}`).toBeLessThanOrEqual(tol);
  return err;
}

/** An operand of a compared op: a graph input (run-time data) or a constant (initializer). */
export interface Operand {
  name: string;
  /** Concrete shape (for graph inputs: including the batch). */
  dims: readonly number[];
  data: TensorDataLike;
  dtype?: DType;
  /** An initializer in ONNX and a module constant in the IR. */
  const?: boolean;
  /** Passed to ORT but not to the nn op (e.g. Clip's min/max inputs, which nn carries as attributes). */
  onnxOnly?: boolean;
}

export interface OpCase {
  onnx: { op: string; attrs?: Record<string, AttrInput>; opset?: number };
  nn: { op: string; attrs?: Attrs };
  /** In ONNX input order; null skips an optional ONNX input. */
  operands: readonly (Operand | null)[];
  /** Graph inputs get a symbolic leading dimension (N in ONNX, ? in the IR). Default true. */
  dynamicBatch?: boolean;
  /** Element type of the result (default f32). */
  outDtype?: DType;
  tol?: number;
}

function dtypeOf(o: Operand): DType {
  if (o.dtype) return o.dtype;
  if (o.data instanceof BigInt64Array) return "i64";
  if (o.data instanceof Int32Array) return "i32";
  return "f32";
}

/** Run a single op in onnxruntime and in the interpreter; expect the results to agree. */
export async function compareWithOrt(c: OpCase): Promise<{ ours: RTensor; ref: OrtValue; err: number }> {
  const dynamic = c.dynamicBatch ?? true;
  const bytes = singleNodeModel({
    op: c.onnx.op,
    ...(c.onnx.attrs ? { attrs: c.onnx.attrs } : {}),
    ...(c.onnx.opset !== undefined ? { opset: c.onnx.opset } : {}),
    outputs: [{ name: "y", dtype: ORT_TYPE[c.outDtype ?? "f32"] }],
    operands: c.operands.map((o) => {
      if (o === null) return null;
      const dtype = ORT_TYPE[dtypeOf(o)];
      if (o.const) return { name: o.name, dims: o.dims, data: o.data, dtype };
      return { name: o.name, dtype, shape: dynamic && o.dims.length > 0 ? ["N", ...o.dims.slice(1)] : o.dims };
    }),
  });
  const feeds: Record<string, OrtValue> = {};
  for (const o of c.operands) if (o && !o.const) feeds[o.name] = { dims: o.dims, data: o.data, dtype: ORT_TYPE[dtypeOf(o)] };
  const ref = (await runOnnx(bytes, feeds))["y"]!;

  const { m, b } = newBuilder();
  const values: Value[] = [];
  const inputs: Record<string, RTensor> = {};
  for (const o of c.operands) {
    if (o === null || o.onnxOnly) continue;
    const dtype = dtypeOf(o);
    if (o.const) values.push(m.addConst(o.name, tensorType(o.dims, dtype), o.data).value);
    else {
      values.push(m.addInput(o.name, tensorType(dynamic && o.dims.length > 0 ? [BATCH, ...o.dims.slice(1)] : o.dims, dtype)));
      inputs[o.name] = rtensor(o.dims, dtype, o.data);
    }
  }
  m.outputs.push({ name: "y", value: b.value(c.nn.op, values, c.nn.attrs ?? {}) });
  const ours = interpret(m, inputs)["y"]!;
  const err = expectClose(ours, ref, c.tol ?? 1e-4);
  return { ours, ref, err };
}
