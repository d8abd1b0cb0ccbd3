/**
 * Value types of the tscc IR.
 *
 * Shapes are ONNX-faithful (same rank as in the ONNX graph). The only dynamic dimension allowed is the
 * leading batch dimension, written `?` in text and stored as {@link BATCH}. Constants and shape tensors
 * have fully static shapes; activations carry the batch dimension (either `?` or a static 1 when the
 * exporter fixed it).
 */

export type DType = "f32" | "f64" | "i64" | "i32" | "i8" | "u8" | "bool";

export const DTYPES: readonly DType[] = ["f32", "f64", "i64", "i32", "i8", "u8", "bool"];

/** Marker for the dynamic batch dimension (`?` in text). Only ever at index 0. */
export const BATCH = -1;

/** Real-valued (analog) tensor: activations, currents, weights, shape vectors. */
export interface TensorType {
  readonly kind: "tensor";
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** Spike coding of a `spikes` value. */
export type Coding = "tsc" | "rate";

/**
 * Binary events over a window of `window` time steps. For TSC every neuron sends at most two spikes
 * whose interval carries the value; for rate coding the spike count over the window does.
 */
export interface SpikesType {
  readonly kind: "spikes";
  readonly shape: readonly number[];
  readonly window: number;
  readonly coding: Coding;
}

export type Type = TensorType | SpikesType;

export function tensorType(shape: readonly number[], dtype: DType = "f32"): TensorType {
  return { kind: "tensor", shape: [...shape], dtype };
}

export function spikesType(shape: readonly number[], window: number, coding: Coding = "tsc"): SpikesType {
  return { kind: "spikes", shape: [...shape], window, coding };
}

export function isFloat(d: DType): boolean {
  return d === "f32" || d === "f64";
}

export function isInteger(d: DType): boolean {
  return d === "i64" || d === "i32" || d === "i8" || d === "u8";
}

/**
 * The most elements a stored tensor (an initializer, an IR constant, a weights blob) may declare: 2^28,
 * 1 GiB of float32 (VGG-16's largest weight holds 102.8 M). Readers compare a file's declared sizes
 * with it before allocating anything, so a model declaring a 10^12-element tensor fails at once.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

/** Number of elements; the batch dimension counts as 1. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d === BATCH ? 1 : d;
  return n;
}

/** Elements per sample: the product of all dimensions but the leading batch one (`?` or 1). */
export function sampleShape(shape: readonly number[]): number[] {
  return shape.slice(1);
}

export function hasBatch(shape: readonly number[]): boolean {
  return shape.length > 0 && shape[0] === BATCH;
}

export function shapeEquals(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function typeEquals(a: Type, b: Type): boolean {
  if (a.kind !== b.kind || !shapeEquals(a.shape, b.shape)) return false;
  if (a.kind === "tensor") return a.dtype === (b as TensorType).dtype;
  const s = b as SpikesType;
  return a.window === s.window && a.coding === s.coding;
}

export function formatShape(shape: readonly number[]): string {
  return shape.map((d) => (d === BATCH ? "?" : String(d))).join("x");
}

/** `tensor<?x3x32x32xf32>`, `tensor<f32>` (scalar), `spikes<?x16x28x28, 16, tsc>`. */
export function formatType(t: Type): string {
  const dims = formatShape(t.shape);
  if (t.kind === "tensor") return `tensor<${dims ? dims + "x" : ""}${t.dtype}>`;
  return `spikes<${dims}, ${t.window}, ${t.coding}>`;
}

/** Bytes per element of a stored constant. */
export function dtypeBytes(d: DType): number {
  switch (d) {
    case "f64":
    case "i64":
      return 8;
    case "f32":
    case "i32":
      return 4;
    case "i8":
    case "u8":
    case "bool":
      return 1;
  }
}

export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

export function allocData(dtype: DType, n: number): TensorData {
  switch (dtype) {
    case "f32":
      return new Float32Array(n);
    case "f64":
      return new Float64Array(n);
    case "i64":
      return new BigInt64Array(n);
    case "i32":
      return new Int32Array(n);
    case "i8":
      return new Int8Array(n);
    case "u8":
    case "bool":
      return new Uint8Array(n);
  }
}

/** View raw little-endian bytes as typed data (copies, so unaligned input is fine). */
export function dataFromBytes(dtype: DType, bytes: Uint8Array): TensorData {
  const size = dtypeBytes(dtype);
  if (bytes.byteLength % size !== 0) throw new RangeError(`byte length ${bytes.byteLength} is not a multiple of ${size}`);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  const n = bytes.byteLength / size;
  switch (dtype) {
    case "f32":
      return new Float32Array(copy.buffer, 0, n);
    case "f64":
      return new Float64Array(copy.buffer, 0, n);
    case "i64":
      return new BigInt64Array(copy.buffer, 0, n);
    case "i32":
      return new Int32Array(copy.buffer, 0, n);
    case "i8":
      return new Int8Array(copy.buffer, 0, n);
    case "u8":
    case "bool":
      return copy;
  }
}

export function bytesOf(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Read element i of any tensor data as a JS number (i64 via Number()). */
export function elementAsNumber(data: TensorData, i: number): number {
  const v = data[i]!;
  return typeof v === "bigint" ? Number(v) : v;
}

export function toNumberArray(data: TensorData): number[] {
  const out = new Array<number>(data.length);
  for (let i = 0; i < data.length; i++) out[i] = elementAsNumber(data, i);
  return out;
}
