/**
 * NumPy `.npy` files (format versions 1–3, little-endian, C order): the input, label and output
 * format of `tscc run`. Hand-written because it is ~100 lines and the npm readers do not write.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fmt, M, MAX_TENSOR_ELEMENTS, TsccError, type DType, type TensorData } from "../../ir/index.js";
import { dataFromBytes, dtypeBytes } from "../../ir/types.js";
import type { RTensor } from "../../ir/interp/tensor.js";

const MAGIC = "\x93NUMPY";

const DESCR_TO_DTYPE: Record<string, DType> = {
  "<f4": "f32",
  "<f8": "f64",
  "<i8": "i64",
  "<i4": "i32",
  "|i1": "i8",
  "|u1": "u8",
  "|b1": "bool",
};

const DTYPE_TO_DESCR: Record<DType, string> = { f32: "<f4", f64: "<f8", i64: "<i8", i32: "<i4", i8: "|i1", u8: "|u1", bool: "|b1" };

export function parseNpy(bytes: Uint8Array, file: string): RTensor {
  const bad = (why: string): never => {
    throw new TsccError(fmt(M.DataFile, [file, why]));
  };
  if (bytes.byteLength < 10 || Buffer.from(bytes.subarray(0, 6)).toString("latin1") !== MAGIC) bad("not a .npy file");
  const major = bytes[6]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let hlen: number;
  let start: number;
  if (major === 1) {
    hlen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    hlen = dv.getUint32(8, true);
    start = 12;
  } else return bad(`unsupported .npy version ${major}`);
  const header = Buffer.from(bytes.subarray(start, start + hlen)).toString(major === 3 ? "utf8" : "latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) return bad("malformed .npy header");
  if (fortran === "True") bad("Fortran-ordered arrays are not supported; save with np.ascontiguousarray");
  const dtype = DESCR_TO_DTYPE[descr] ?? bad(`unsupported dtype '${descr}' (supported: float32, float64, int64, int32, int8, uint8, bool; little-endian)`);
  const dims = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  // Non-negative integers (Python 2 wrote longs as "3L"), checked before the data is sized or read.
  if (dims.some((d) => !/^\d+L?$/.test(d))) bad(`malformed .npy header: shape (${shapeText}) must hold non-negative integers`);
  const shape = dims.map((d) => Number(d.replace(/L$/, "")));
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > MAX_TENSOR_ELEMENTS) bad(`shape (${shape.join(", ")}) holds ${n} elements, more than the ${MAX_TENSOR_ELEMENTS} tscc reads`);
  const dataStart = start + hlen;
  const need = n * dtypeBytes(dtype);
  if (bytes.byteLength - dataStart < need) bad(`truncated: ${bytes.byteLength - dataStart} data bytes, shape (${shape.join(", ")}) needs ${need}`);
  return { shape, dtype, data: dataFromBytes(dtype, bytes.subarray(dataStart, dataStart + need)) };
}

export function readNpy(file: string): RTensor {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new TsccError(fmt(M.FileNotFound, [file]));
  }
  return parseNpy(bytes, file);
}

export function encodeNpy(t: { shape: readonly number[]; dtype: DType; data: TensorData }): Uint8Array {
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(", ")})`;
  let header = `{'descr': '${DTYPE_TO_DESCR[t.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + header.length + t.data.byteLength);
  out.set(Buffer.from(MAGIC, "latin1"), 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, "latin1"), 10);
  out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), 10 + header.length);
  return out;
}

export function writeNpy(file: string, t: { shape: readonly number[]; dtype: DType; data: TensorData }): void {
  writeFileSync(file, encodeNpy(t));
}
