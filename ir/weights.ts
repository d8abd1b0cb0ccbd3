/**
 * The weights sidecar (`weights.bin`): float constants stored outside the text IR, referenced by name
 * and SHA-256. Layout: magic `TSCCWGT1`, u32 little-endian header length, a JSON header
 * `{version, blobs: [{name, dtype, shape, offset, length, sha256}]}`, then each blob at a 64-byte
 * aligned absolute offset. Deterministic: blobs in module order, no timestamps.
 */
import { fmt, TsccError } from "./diagnostics/diagnostic.js";
import { M } from "./diagnostics/messages.js";
import type { BlobRef, Module } from "./module.js";
import { isBlobConst, sha256Hex, type PrintOptions } from "./printer.js";
import { bytesOf, dataFromBytes, DTYPES, dtypeBytes, MAX_TENSOR_ELEMENTS, numel, type DType, type TensorData, type TensorType } from "./types.js";

const MAGIC = "TSCCWGT1";
const ALIGN = 64;

interface BlobEntry {
  name: string;
  dtype: DType;
  shape: number[];
  offset: number;
  length: number;
  sha256: string;
}

const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/** Serialise every constant that the printer (with the same options) writes as a blob reference. */
export function writeWeights(m: Module, opts: PrintOptions = {}): Uint8Array {
  const consts = [...m.consts.values()].filter((c) => isBlobConst(c, opts));
  const blobs: BlobEntry[] = [];
  const datas: TensorData[] = [];
  for (const c of consts) {
    const data = c.data;
    const sha = !c.loaded && c.blob ? c.blob.sha256 : sha256Hex(data);
    blobs.push({ name: c.blob && !c.loaded ? c.blob.name : c.name, dtype: c.type.dtype, shape: [...c.type.shape], offset: 0, length: data.byteLength, sha256: sha });
    datas.push(data);
  }
  // Offsets depend on the header length, which depends on the offsets' digits: iterate to a fixed point.
  let headerLen = 0;
  for (let iter = 0; iter < 8; iter++) {
    let off = align(MAGIC.length + 4 + headerLen);
    for (const b of blobs) {
      b.offset = off;
      off = align(off + b.length);
    }
    const len = Buffer.byteLength(JSON.stringify({ version: 1, blobs }));
    if (len === headerLen) break;
    headerLen = len;
  }
  const header = Buffer.from(JSON.stringify({ version: 1, blobs }));
  const total = blobs.length ? align(blobs[blobs.length - 1]!.offset + blobs[blobs.length - 1]!.length) : align(MAGIC.length + 4 + header.length);
  const out = new Uint8Array(total);
  out.set(Buffer.from(MAGIC), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, header.length, true);
  out.set(header, MAGIC.length + 4);
  blobs.forEach((b, i) => out.set(bytesOf(datas[i]!), b.offset));
  return out;
}

export interface WeightsFile {
  load(ref: BlobRef, type: TensorType): TensorData;
  names(): string[];
}

/** What is wrong with a header entry, or undefined. */
function blobProblem(b: unknown): string | undefined {
  const e = b as Partial<BlobEntry> | null;
  const what = `blob ${JSON.stringify(e?.name ?? null)}`;
  if (!e || typeof e.name !== "string" || typeof e.sha256 !== "string") return `${what} has no name or sha256`;
  if (!DTYPES.includes(e.dtype as DType)) return `${what} has unknown dtype ${JSON.stringify(e.dtype)}`;
  if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isSafeInteger(d) || d < 0) || numel(e.shape) > MAX_TENSOR_ELEMENTS) return `${what} has an invalid shape ${JSON.stringify(e.shape)}`;
  if (!Number.isSafeInteger(e.offset) || e.offset! < 0 || e.length !== numel(e.shape) * dtypeBytes(e.dtype as DType)) {
    return `${what} has offset ${JSON.stringify(e.offset)} and length ${JSON.stringify(e.length)} for ${e.dtype}[${e.shape.join(", ")}]`;
  }
  return undefined;
}

export function readWeights(bytes: Uint8Array, file: string): WeightsFile {
  const bad = (msg: string): never => {
    throw new TsccError(fmt(M.WeightsError, [`${file}: ${msg}`]));
  };
  if (bytes.byteLength < MAGIC.length + 4 || Buffer.from(bytes.subarray(0, MAGIC.length)).toString() !== MAGIC) bad("not a tscc weights file");
  const hlen = new DataView(bytes.buffer, bytes.byteOffset).getUint32(MAGIC.length, true);
  let header: { version: number; blobs: BlobEntry[] };
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(MAGIC.length + 4, MAGIC.length + 4 + hlen)).toString());
  } catch {
    return bad("corrupt header");
  }
  if (!header || typeof header !== "object" || header.version !== 1) bad(`unsupported weights file version ${JSON.stringify((header as { version?: unknown } | null)?.version)}`);
  if (!Array.isArray(header.blobs)) bad("corrupt header: no list of blobs");
  // Every declared size is checked before a blob is read.
  for (const b of header.blobs as unknown[]) {
    const problem = blobProblem(b);
    if (problem) bad(`corrupt header: ${problem}`);
  }
  const byName = new Map(header.blobs.map((b) => [b.name, b]));
  return {
    names: () => [...byName.keys()],
    load(ref, type) {
      const b = byName.get(ref.name) ?? bad(`no blob named '${ref.name}'`);
      if (b.dtype !== type.dtype || numel(b.shape) !== numel(type.shape)) bad(`blob '${ref.name}' holds ${b.dtype}[${b.shape.join(", ")}], the IR expects ${type.dtype}[${type.shape.join(", ")}]`);
      if (b.offset + b.length > bytes.byteLength) bad(`blob '${ref.name}' extends past the end of the file (truncated?)`);
      const data = dataFromBytes(b.dtype, bytes.subarray(b.offset, b.offset + b.length));
      const sha = sha256Hex(data);
      if (sha !== ref.sha256) bad(`blob '${ref.name}' has SHA-256 ${sha.slice(0, 12)}…, the IR expects ${ref.sha256.slice(0, 12)}…`);
      return data;
    },
  };
}
