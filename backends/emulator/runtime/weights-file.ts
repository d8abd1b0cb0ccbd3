/**
 * Reading the artifact's weights.bin without tscc: magic `TSCCWGT1`, u32 little-endian header length,
 * JSON header {version, blobs: [{name, dtype, shape, offset, length, sha256}]}, 64-byte aligned
 * float32 blobs (float64 and int32 too, for the clock engine). (The writer is ir/weights.ts; this reader is kept inside runtime/ so that an artifact
 * is self-contained.)
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

export interface WeightStore {
  get(name: string): Float32Array;
  /** A blob of any stored dtype: f32, f64 or i32 (the clock engine's parameters). */
  getArray(name: string): Float32Array | Float64Array | Int32Array;
  names(): string[];
}

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  offset: number;
  length: number;
  sha256: string;
}

export function parseWeights(bytes: Uint8Array, file = "weights.bin", verify = true): WeightStore {
  const magic = Buffer.from(bytes.subarray(0, 8)).toString("latin1");
  if (magic !== "TSCCWGT1") throw new Error(`${file}: not a tscc weights file`);
  const hlen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  const header = JSON.parse(Buffer.from(bytes.subarray(12, 12 + hlen)).toString("utf8")) as { version: number; blobs: Entry[] };
  if (header.version !== 1) throw new Error(`${file}: weights format version ${header.version} is not supported`);
  const byName = new Map(header.blobs.map((b) => [b.name, b]));
  const cache = new Map<string, Float32Array | Float64Array | Int32Array>();
  const load = (name: string): Float32Array | Float64Array | Int32Array => {
    const hit = cache.get(name);
    if (hit) return hit;
    const e = byName.get(name);
    if (!e) throw new Error(`${file}: no weights named '${name}'`);
    if (e.dtype !== "f32" && e.dtype !== "f64" && e.dtype !== "i32") throw new Error(`${file}: '${name}' is ${e.dtype}, expected f32, f64 or i32`);
    if (e.offset + e.length > bytes.byteLength) throw new Error(`${file}: '${name}' extends past the end of the file`);
    const raw = bytes.subarray(e.offset, e.offset + e.length);
    if (verify && createHash("sha256").update(raw).digest("hex") !== e.sha256) throw new Error(`${file}: '${name}' does not match its SHA-256`);
    const copy = new Uint8Array(raw.byteLength);
    copy.set(raw);
    const data = e.dtype === "f64" ? new Float64Array(copy.buffer, 0, e.length / 8) : e.dtype === "i32" ? new Int32Array(copy.buffer, 0, e.length / 4) : new Float32Array(copy.buffer, 0, e.length / 4);
    cache.set(name, data);
    return data;
  };
  return {
    names: () => [...byName.keys()],
    get(name) {
      const d = load(name);
      if (!(d instanceof Float32Array)) throw new Error(`${file}: '${name}' is not f32`);
      return d;
    },
    getArray: load,
  };
}

export function loadWeights(file: string, verify = true): WeightStore {
  return parseWeights(readFileSync(file), file, verify);
}
