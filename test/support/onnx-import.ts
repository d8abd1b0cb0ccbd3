/**
 * Helpers for the ONNX importer's tests: import models built in memory, and compare what the
 * imported module computes in the reference interpreter with what onnxruntime computes on the
 * original ONNX model (never with tscc's own output).
 */
import { expect } from "vitest";
import onnxProto from "onnx-proto";
import * as ort from "onnxruntime-node";
import { BATCH, type DType, type Module, type TensorData } from "../../ir/index.js";
import { interpret } from "../../ir/interp/interpreter.js";
import type { RTensor } from "../../ir/interp/tensor.js";
import { importOnnxModel, type ImportOptions, type ImportResult } from "../../src/frontend/onnx/import.js";
import { decodeOnnx } from "../../src/frontend/onnx/load.js";
import { Rng } from "./random.js";

const { onnx } = onnxProto;

/**
 * Import serialised ONNX bytes as if read from `file` (the name only labels diagnostics and the
 * module). The importer may realign tensor payloads inside the buffer it is given, so it gets a copy:
 * `bytes` stay valid for onnxruntime.
 */
export function importBytes(bytes: Uint8Array, file = "model.onnx", opts: ImportOptions = {}): ImportResult {
  const own = Uint8Array.from(bytes);
  return importOnnxModel({ proto: decodeOnnx(own, file), file, bytes: own }, opts);
}

/** Decode, edit and re-encode a model (for fields the builder does not write). */
export function editModel(bytes: Uint8Array, edit: (m: onnxProto.onnx.ModelProto) => void): Uint8Array {
  const m = onnx.ModelProto.decode(bytes);
  edit(m);
  return onnx.ModelProto.encode(m).finish();
}

const ORT_TYPES: Partial<Record<string, DType>> = { float32: "f32", float64: "f64", int64: "i64", int32: "i32", int8: "i8", uint8: "u8", bool: "bool" };

/** Run a model (bytes, or a path so that external data resolves) in onnxruntime. */
export async function runOrt(model: Uint8Array | string, feeds: Record<string, RTensor>): Promise<Record<string, RTensor>> {
  // Severity 3: errors only (no warnings about unused initializers and the like).
  const options = { logSeverityLevel: 3 } as const;
  // (Two calls: TypeScript picks an overload per argument type.)
  const session = typeof model === "string" ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      if (t.dtype !== "f32") throw new Error(`runOrt feeds float32 inputs only, '${name}' is ${t.dtype}`);
      ortFeeds[name] = new ort.Tensor("float32", t.data as Float32Array, [...t.shape]);
    }
    const results = await session.run(ortFeeds);
    const out: Record<string, RTensor> = {};
    for (const [name, t] of Object.entries(results)) {
      const dtype = ORT_TYPES[t.type];
      if (!dtype) throw new Error(`onnxruntime output '${name}' has type ${t.type}, which the tests do not compare`);
      out[name] = { shape: [...t.dims], dtype, data: t.data as TensorData };
    }
    return out;
  } finally {
    await session.release();
  }
}

/**
 * Seeded inputs for every module input: uniform in [lo, hi), `batch` samples where the batch is
 * dynamic, and also where the model fixes it to 1 (the interpreter then runs the model per sample).
 */
export function seededInputs(m: Module, o: { seed?: number; batch?: number; lo?: number; hi?: number } = {}): Record<string, RTensor> {
  const rng = new Rng(o.seed ?? 1);
  const out: Record<string, RTensor> = {};
  for (const i of m.inputs) {
    if (i.value.type.kind !== "tensor") throw new Error(`input '${i.name}' is not a tensor`);
    const shape = i.value.type.shape.map((d, axis) => (d === BATCH ? (o.batch ?? 3) : axis === 0 && d === 1 && o.batch !== undefined ? o.batch : d));
    out[i.name] = { shape, dtype: "f32", data: rng.f32(Rng.numel(shape), o.lo ?? -1, o.hi ?? 1) };
  }
  return out;
}

/** max |a − b| / max(1e-6, max |b|); Infinity if NaNs differ. */
export function relativeError(actual: TensorData, expected: TensorData): number {
  let diff = 0;
  let scale = 1e-6;
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
  return diff / scale;
}

/**
 * `actual` has the shape and element type of `expected`; float values agree within `tol` (relative
 * to the largest expected magnitude), integer values exactly. Returns the relative error.
 */
export function expectTensorClose(actual: RTensor | undefined, expected: RTensor, tol = 1e-4, what = "output"): number {
  expect(actual, `${what} is missing`).toBeDefined();
  const a = actual!;
  expect(a.shape, `${what} shape`).toEqual(expected.shape);
  expect(a.dtype, `${what} element type`).toBe(expected.dtype);
  if (expected.dtype !== "f32" && expected.dtype !== "f64") {
    expect(Array.from(a.data as ArrayLike<number | bigint>), `${what} values`).toEqual(Array.from(expected.data as ArrayLike<number | bigint>));
    return 0;
  }
  const err = relativeError(a.data, expected.data);
  expect(err, `${what}: relative error ${err}`).toBeLessThanOrEqual(tol);
  return err;
}

/** Every output onnxruntime computes from `model` is matched by the interpreter on `m`; returns the worst error. */
export async function expectSameAsOrt(
  model: Uint8Array | string,
  m: Module,
  o: { seed?: number; batch?: number; lo?: number; hi?: number; tol?: number } = {},
): Promise<number> {
  const inputs = seededInputs(m, o);
  const ours = interpret(m, inputs);
  const ref = await runOrtBatched(model, m, inputs);
  expect(Object.keys(ours).sort()).toEqual(Object.keys(ref).sort());
  let worst = 0;
  for (const [name, t] of Object.entries(ref)) worst = Math.max(worst, expectTensorClose(ours[name], t, o.tol ?? 1e-4, `output '${name}'`));
  return worst;
}

/**
 * onnxruntime on `inputs`; a model whose batch is fixed to 1 is run once per sample and the outputs
 * stacked, as tscc's interpreter does.
 */
async function runOrtBatched(model: Uint8Array | string, m: Module, inputs: Record<string, RTensor>): Promise<Record<string, RTensor>> {
  const first = m.inputs[0];
  const fixedOne = first !== undefined && first.value.type.kind === "tensor" && first.value.type.shape[0] === 1;
  const n = first ? inputs[first.name]!.shape[0]! : 1;
  if (!fixedOne || n === 1) return runOrt(model, inputs);
  const runs: Record<string, RTensor>[] = [];
  for (let s = 0; s < n; s++) {
    const slice: Record<string, RTensor> = {};
    for (const [name, t] of Object.entries(inputs)) {
      const per = t.data.length / n;
      slice[name] = { shape: [1, ...t.shape.slice(1)], dtype: t.dtype, data: (t.data as Float32Array).subarray(s * per, (s + 1) * per) };
    }
    runs.push(await runOrt(model, slice));
  }
  const out: Record<string, RTensor> = {};
  for (const name of Object.keys(runs[0]!)) {
    const parts = runs.map((r) => r[name]!);
    if (parts[0]!.dtype !== "f32") throw new Error(`stacking per-sample outputs supports float32 only, '${name}' is ${parts[0]!.dtype}`);
    const data = new Float32Array(parts.reduce((k, p) => k + p.data.length, 0));
    let off = 0;
    for (const p of parts) {
      data.set(p.data as Float32Array, off);
      off += p.data.length;
    }
    out[name] = { shape: [n, ...parts[0]!.shape.slice(1)], dtype: parts[0]!.dtype, data };
  }
  return out;
}
