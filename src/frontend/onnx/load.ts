/**
 * Reading ONNX files: protobuf decoding (onnx-proto / protobufjs), tensor payloads (raw_data, typed
 * fields, external data files) and int64 fields (Long). The only module that touches onnx-proto.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { dirname, resolve } from "node:path";
import onnxProto from "onnx-proto";
import { fmt, M, MAX_TENSOR_ELEMENTS, TsccError, type Diagnostic, type DType, type TensorData } from "../../../ir/index.js";
import { fileInside } from "../../io/paths.js";

export const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.IModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

/** Long | number | null → number. */
export function toInt(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  const l = v as { toNumber?: () => number; low?: number; high?: number };
  if (typeof l.toNumber === "function") return l.toNumber();
  return Number(v);
}

function toBigInt(v: unknown): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return BigInt(v);
  const l = v as { toString?: () => string };
  return BigInt(l.toString!());
}

/** ONNX TensorProto.DataType codes. */
export const ONNX_DTYPE: Record<number, string> = {
  1: "float",
  2: "uint8",
  3: "int8",
  4: "uint16",
  5: "int16",
  6: "int32",
  7: "int64",
  8: "string",
  9: "bool",
  10: "float16",
  11: "double",
  12: "uint32",
  13: "uint64",
  14: "complex64",
  15: "complex128",
  16: "bfloat16",
};

export function onnxDtypeName(code: number): string {
  return ONNX_DTYPE[code] ?? `type ${code}`;
}

/** The IR element type an ONNX tensor is stored as (float types widen or narrow to f32). */
export function irDtypeOf(code: number): DType | undefined {
  switch (code) {
    case 1:
    case 10:
    case 11:
    case 16:
      return "f32";
    case 7:
      return "i64";
    case 6:
      return "i32";
    case 3:
      return "i8";
    case 2:
      return "u8";
    case 9:
      return "bool";
    default:
      return undefined;
  }
}

export interface LoadedModel {
  proto: ModelProto;
  file: string;
  /** The file's bytes; tensor payloads may be views into it. */
  bytes: Uint8Array;
}

/** Decode an ONNX file; every failure is a TSCC1002 diagnostic naming the file. */
export function loadOnnxFile(file: string): LoadedModel {
  if (!existsSync(file)) throw new TsccError(fmt(M.FileNotFound, [file]));
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new TsccError(fmt(M.NotOnnxModel, [(e as Error).message], { file }));
  }
  return { proto: decodeOnnx(bytes, file), file, bytes };
}

export function decodeOnnx(bytes: Uint8Array, file: string): ModelProto {
  let proto: ModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (e) {
    const why = (e as Error).message.replace(/^index out of range.*$/, "the file is truncated or not protobuf");
    throw new TsccError(fmt(M.NotOnnxModel, [why], { file }));
  }
  const g = proto.graph;
  if (!g || (!g.node?.length && !g.output?.length)) {
    throw new TsccError(fmt(M.NotOnnxModel, ["it has no graph (is this an ONNX file?)"], { file }));
  }
  if (!proto.opsetImport?.length && toInt(proto.irVersion) >= 3) {
    throw new TsccError(fmt(M.NotOnnxModel, ["it declares no opset_import"], { file }));
  }
  return proto;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * View `len` bytes at `src` as a Float32Array without copying when possible: if the payload is
 * 4-byte aligned in the file buffer it is viewed directly; otherwise it is moved left in place to
 * the aligned address (the bytes it overwrites are its own, already decoded, protobuf field header),
 * and only tiny payloads whose header is too short for that are copied. Keeps the peak memory of a
 * large import close to the file size.
 */
function alignedView(raw: Uint8Array, n: number, bytesPer: 4 | 8, inPlace: boolean): Uint8Array {
  const abs = raw.byteOffset;
  const mis = abs % bytesPer;
  if (mis === 0) return raw;
  // raw_data's field header is at least tag (1) + length varint (1 byte; 2+ once length ≥ 128).
  const header = raw.byteLength >= 128 ? 3 : 2;
  if (inPlace && mis <= header && bytesPer === 4) {
    const whole = new Uint8Array(raw.buffer);
    whole.copyWithin(abs - mis, abs, abs + n * bytesPer);
    return new Uint8Array(raw.buffer, abs - mis, n * bytesPer);
  }
  return copyBytes(raw);
}

/** A copy in a fresh ArrayBuffer (Buffer#slice would return a view). */
function copyBytes(raw: Uint8Array): Uint8Array {
  const out = new Uint8Array(raw.byteLength);
  out.set(raw);
  return out;
}

export interface TensorDecodeResult {
  dtype: DType;
  dims: number[];
  data: TensorData;
}

/**
 * Decode a TensorProto's payload. `modelDir` resolves external data; `inPlace` allows the in-place
 * realignment trick (only for tensors decoded from a buffer nobody else reads).
 */
export function decodeTensor(t: TensorProto, ctx: { file: string; modelDir: string; inPlace?: boolean }): TensorDecodeResult {
  const name = t.name ?? "";
  const code = t.dataType ?? 0;
  const dtype = irDtypeOf(code);
  const fail = (d: Diagnostic): never => {
    throw new TsccError(d);
  };
  if (!dtype) fail(fmt(M.UnsupportedTensorType, [name, onnxDtypeName(code)], { file: ctx.file }));
  if (t.segment) fail(fmt(M.UnsupportedConstruct, [`tensor '${name}' is segmented; tscc does not read segmented tensors`], { file: ctx.file }));
  const dims = (t.dims ?? []).map(toInt);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(fmt(M.BadTensorDims, [name, `[${dims.join(", ")}]`], { file: ctx.file }));
  const n = dims.reduce((a, b) => a * b, 1);
  // Checked before anything is read or allocated: a tensor declaring 10^12 elements fails here.
  if (n > MAX_TENSOR_ELEMENTS) fail(fmt(M.TensorTooLarge, [name, `[${dims.join(", ")}]`, n, MAX_TENSOR_ELEMENTS], { file: ctx.file }));
  let raw: Uint8Array | undefined = t.rawData && t.rawData.byteLength > 0 ? t.rawData : undefined;
  if (t.dataLocation === 1) raw = readExternal(t, ctx.file, ctx.modelDir);
  const D = dtype!;
  const bytesPer = code === 10 || code === 16 ? 2 : code === 11 || code === 7 ? 8 : code === 6 || code === 1 ? 4 : 1;
  if (raw) {
    if (raw.byteLength !== n * bytesPer) {
      fail(fmt(M.BadExternalData, [name, `payload has ${raw.byteLength} bytes, dims [${dims.join(", ")}] need ${n * bytesPer}`], { file: ctx.file }));
    }
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    switch (code) {
      case 1: {
        const v = alignedView(raw, n, 4, ctx.inPlace ?? false);
        // Moved in place: point the proto at the new position, or decoding it again (a second import
        // of the same LoadedModel) would read shifted bytes and move them over this tensor's data.
        if (v.buffer === raw.buffer && v.byteOffset !== raw.byteOffset) t.rawData = v;
        return { dtype: D, dims, data: new Float32Array(v.buffer, v.byteOffset, n) };
      }
      case 11: {
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
        return { dtype: D, dims, data: out };
      }
      case 10: {
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true));
        return { dtype: D, dims, data: out };
      }
      case 16: {
        const out = new Float32Array(n);
        const u = new Uint32Array(1);
        const f = new Float32Array(u.buffer);
        for (let i = 0; i < n; i++) {
          u[0] = dv.getUint16(i * 2, true) << 16;
          out[i] = f[0]!;
        }
        return { dtype: D, dims, data: out };
      }
      case 7: {
        const out = new BigInt64Array(n);
        for (let i = 0; i < n; i++) out[i] = dv.getBigInt64(i * 8, true);
        return { dtype: D, dims, data: out };
      }
      case 6: {
        const out = new Int32Array(n);
        for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true);
        return { dtype: D, dims, data: out };
      }
      case 3:
        return { dtype: D, dims, data: new Int8Array(copyBytes(raw).buffer, 0, n) };
      default:
        return { dtype: D, dims, data: copyBytes(raw) };
    }
  }
  // Typed fields.
  const need = (len: number | undefined, field: string): void => {
    if ((len ?? 0) !== n) fail(fmt(M.BadExternalData, [name, `${field} holds ${len ?? 0} values, dims [${dims.join(", ")}] need ${n}`], { file: ctx.file }));
  };
  switch (code) {
    case 1:
      need(t.floatData?.length, "float_data");
      return { dtype: D, dims, data: Float32Array.from(t.floatData ?? []) };
    case 11:
      need(t.doubleData?.length, "double_data");
      return { dtype: D, dims, data: Float32Array.from(t.doubleData ?? []) };
    case 10:
    case 16: {
      need(t.int32Data?.length, "int32_data");
      const src = t.int32Data ?? [];
      const out = new Float32Array(n);
      const u = new Uint32Array(1);
      const f = new Float32Array(u.buffer);
      for (let i = 0; i < n; i++) {
        if (code === 10) out[i] = halfToFloat(src[i]!);
        else {
          u[0] = src[i]! << 16;
          out[i] = f[0]!;
        }
      }
      return { dtype: D, dims, data: out };
    }
    case 7:
      need(t.int64Data?.length, "int64_data");
      return { dtype: D, dims, data: BigInt64Array.from((t.int64Data ?? []).map(toBigInt)) };
    case 6:
      need(t.int32Data?.length, "int32_data");
      return { dtype: D, dims, data: Int32Array.from(t.int32Data ?? []) };
    case 3:
      need(t.int32Data?.length, "int32_data");
      return { dtype: D, dims, data: Int8Array.from(t.int32Data ?? []) };
    default:
      need(t.int32Data?.length, "int32_data");
      return { dtype: D, dims, data: Uint8Array.from(t.int32Data ?? []) };
  }
}

function readExternal(t: TensorProto, file: string, modelDir: string): Uint8Array {
  const name = t.name ?? "";
  const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? "", e.value ?? ""]));
  const location = kv.get("location");
  if (!location) throw new TsccError(fmt(M.BadExternalData, [name, "no 'location' entry"], { file }));
  const inside = fileInside(modelDir, location);
  if ("error" in inside) throw new TsccError(fmt(M.BadExternalData, [name, `location ${inside.error}`], { file }));
  const path = inside.path;
  if (!existsSync(path)) throw new TsccError(fmt(M.MissingExternalData, [location, name], { file }));
  const offset = kv.has("offset") ? Number(kv.get("offset")) : 0;
  const given = kv.has("length") ? Number(kv.get("length")) : 0;
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(given) || given < 0) {
    throw new TsccError(fmt(M.BadExternalData, [name, `offset '${kv.get("offset") ?? ""}' and length '${kv.get("length") ?? ""}' must be non-negative integers`], { file }));
  }
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const length = kv.has("length") ? given : size - offset;
    if (length < 0 || offset + length > size) {
      throw new TsccError(fmt(M.BadExternalData, [name, `offset ${offset} + length ${length} exceeds the ${size} bytes of '${location}'`], { file }));
    }
    // A fresh ArrayBuffer: always 8-byte aligned.
    const buf = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const r = readSync(fd, buf, done, length - done, offset + done);
      if (r <= 0) break;
      done += r;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

export function modelDirOf(file: string): string {
  return dirname(resolve(file));
}

/** Attribute accessors with ONNX defaults. */
export function attrMap(node: NodeProto): Map<string, AttributeProto> {
  return new Map((node.attribute ?? []).map((a) => [a.name ?? "", a]));
}

export function decodeString(b: Uint8Array | null | undefined): string {
  return b ? Buffer.from(b).toString("utf8") : "";
}

/** A serialised ONNX TensorProto (`.pb`, as in ONNX's test data sets). */
export function readTensorProtoFile(file: string): { name: string; dtype: DType; dims: number[]; data: TensorData } {
  if (!existsSync(file)) throw new TsccError(fmt(M.FileNotFound, [file]));
  let t: TensorProto;
  try {
    t = onnx.TensorProto.decode(readFileSync(file));
  } catch (e) {
    throw new TsccError(fmt(M.DataFile, [file, `not an ONNX TensorProto: ${(e as Error).message}`]));
  }
  const dec = decodeTensor(t, { file, modelDir: modelDirOf(file) });
  return { name: t.name ?? "", ...dec };
}
