/**
 * Mutations of a `TSCCWGT1` weights file (ir/weights.ts; the same format in emulator and Loihi
 * artifacts): raw byte edits, structural edits of its JSON header (with the length prefix kept
 * consistent so the reader gets past it), and blobs resized with their SHA-256 recomputed (a file
 * that is internally consistent but disagrees with the network that reads it) or left stale.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { mutatedBytes, mutatedJson } from "../mutate.js";

const MAGIC = 8;

interface Parsed {
  header: { version: number; blobs: { name: string; dtype: string; shape: number[]; offset: number; length: number; sha256: string }[] };
  rest: Uint8Array;
}

function parse(bytes: Uint8Array): Parsed {
  const hlen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(MAGIC, true);
  return { header: JSON.parse(Buffer.from(bytes.subarray(MAGIC + 4, MAGIC + 4 + hlen)).toString("utf8")), rest: bytes.subarray(MAGIC + 4 + hlen) };
}

/** magic + u32 length + header, followed by `rest` (the original padding and blob data). */
function withHeader(orig: Uint8Array, header: string, rest: Uint8Array): Uint8Array {
  const h = Buffer.from(header, "utf8");
  const out = new Uint8Array(MAGIC + 4 + h.length + rest.length);
  out.set(orig.subarray(0, MAGIC), 0);
  new DataView(out.buffer).setUint32(MAGIC, h.length, true);
  out.set(h, MAGIC + 4);
  out.set(rest, MAGIC + 4 + h.length);
  return out;
}

/** A weights file laid out like ir/weights.ts writes it (64-byte aligned blobs after the header). */
function layout(entries: Parsed["header"]["blobs"], datas: Uint8Array[]): Uint8Array {
  const align = (n: number): number => Math.ceil(n / 64) * 64;
  let hlen = 0;
  for (let iter = 0; iter < 8; iter++) {
    let off = align(MAGIC + 4 + hlen);
    for (let i = 0; i < entries.length; i++) {
      entries[i]!.offset = off;
      off = align(off + datas[i]!.length);
    }
    const len = Buffer.byteLength(JSON.stringify({ version: 1, blobs: entries }));
    if (len === hlen) break;
    hlen = len;
  }
  const header = Buffer.from(JSON.stringify({ version: 1, blobs: entries }));
  const last = entries.length ? entries[entries.length - 1]!.offset + datas[datas.length - 1]!.length : MAGIC + 4 + header.length;
  const out = new Uint8Array(align(last));
  out.set(Buffer.from("TSCCWGT1"), 0);
  new DataView(out.buffer).setUint32(MAGIC, header.length, true);
  out.set(header, MAGIC + 4);
  entries.forEach((e, i) => out.set(datas[i]!, e.offset));
  return out;
}

/**
 * Blob `k` (an index, or a name) resized by `delta` bytes (truncated or zero-extended), its SHA-256
 * recomputed or left stale; the rest of the file intact.
 */
export function resized(orig: Uint8Array, k: number | string, delta: number, rehash: boolean): Uint8Array {
  const { header } = parse(orig);
  if (header.blobs.length === 0) return orig;
  const datas = header.blobs.map((b) => orig.slice(b.offset, b.offset + b.length));
  const i = typeof k === "number" ? k % header.blobs.length : header.blobs.findIndex((b) => b.name === k);
  if (i < 0) throw new Error(`no blob named '${k}'`);
  const b = header.blobs[i]!;
  const len = Math.max(0, b.length + delta);
  const data = new Uint8Array(len);
  data.set(datas[i]!.subarray(0, Math.min(len, b.length)));
  datas[i] = data;
  b.length = len;
  if (rehash) b.sha256 = createHash("sha256").update(data).digest("hex");
  return layout(header.blobs, datas);
}

export function mutatedWeights(files: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const headers = files.map((f) => parse(f).header);
  return fc.oneof(
    { weight: 2, arbitrary: mutatedBytes(files, 4) },
    {
      weight: 2,
      arbitrary: fc.record({ k: fc.nat(), json: mutatedJson(headers, 3) }).map(({ k, json }) => {
        // mutatedJson picks its own document; pair it with the file of the same index when possible.
        const orig = files[k % files.length]!;
        return withHeader(orig, json, parse(orig).rest);
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ k: fc.nat(), blob: fc.nat(), delta: fc.constantFrom(-4, -1, 1, 4, -64, 64, -1000000), rehash: fc.boolean() })
        .map(({ k, blob, delta, rehash }) => resized(files[k % files.length]!, blob, delta, rehash)),
    },
  );
}
