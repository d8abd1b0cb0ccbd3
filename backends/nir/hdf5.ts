/**
 * The one module that talks to h5wasm (HDF5 compiled to WebAssembly, npm `h5wasm`): reads an HDF5
 * file into a plain tree of groups and datasets, and writes such a tree to bytes. Everything NIR-specific
 * lives in format.ts; swapping the HDF5 library touches this file only.
 *
 * - h5wasm's Node build opens host files directly (Emscripten NODERAWFS). Its first use costs about half
 *   a second (compiling the WebAssembly), so it is loaded lazily, on the first `.nir` file.
 * - Reading is defensive: the file must carry the HDF5 signature, every dataset's declared size is checked
 *   against what the file could hold before a byte is read, only numeric and string datatypes are
 *   accepted, and libhdf5's own error stack becomes an exception instead of text on stderr. A corrupt file
 *   can abort the WebAssembly instance; the next read then starts a fresh one.
 * - Writing is deterministic: groups and datasets are created in name order, and libhdf5's object
 *   timestamps (it reads the clock, and h5wasm has no switch for `track_times`) are pinned to 0.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as H5 from "h5wasm/node";

export type H5Array = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/** A dataset as read: numbers (typed array, scalars as length-1 arrays) or strings (UTF-8 decoded). */
export interface H5Dataset {
  readonly kind: "dataset";
  /** Path inside the file, e.g. `/node/nodes/lif/tau`. */
  readonly path: string;
  /** `[]` for a scalar. */
  readonly shape: readonly number[];
  /** f32, f64, i8..i64, u8..u64, or str. */
  readonly dtype: string;
  readonly value: H5Array | readonly string[];
}

export interface H5Group {
  readonly kind: "group";
  readonly path: string;
  readonly children: ReadonlyMap<string, H5Dataset | H5Group>;
}

/** What the reader could not accept: `path` is the HDF5 object (or the file itself when empty). */
export class Hdf5Error extends Error {
  constructor(
    message: string,
    readonly path = "",
  ) {
    super(message);
  }
}

/** A dataset to write. Strings are variable-length UTF-8 (h5py's `string_dtype()`, as NIR writes them). */
export interface WriteDataset {
  readonly kind: "dataset";
  readonly data: Float32Array | Float64Array | BigInt64Array | Int32Array | string | readonly string[];
  /** Omit for a scalar (a number array of length 1 or a string). */
  readonly shape?: readonly number[];
  /** gzip (level 4, h5py's default) in chunks along the first axis; ignored for scalars and strings. */
  readonly compress?: boolean;
}

export interface WriteGroup {
  readonly kind: "group";
  readonly children: ReadonlyMap<string, WriteDataset | WriteGroup> | Readonly<Record<string, WriteDataset | WriteGroup>>;
}

type H5Module = typeof H5;

let current: Promise<H5Module> | undefined;
let generation = 0;

/** h5wasm's high-level module bound to a live WebAssembly instance (a fresh one after an abort). */
async function h5(): Promise<H5Module> {
  if (!current) {
    current = (async () => {
      // A query string gives a new copy of the high-level module, which instantiates its own WebAssembly
      // (the first load uses the plain specifier so that bundlers and the package's exports map see it).
      const mod = (generation++ === 0 ? await import("h5wasm/node") : await import(`${import.meta.resolve("h5wasm/node")}?instance=${generation}`)) as H5Module;
      const m = await mod.ready;
      (m as unknown as { activate_throwing_error_handler(): number }).activate_throwing_error_handler();
      return mod;
    })();
  }
  return current;
}

/** Load h5wasm now (the readers and writers below are synchronous once it is loaded). */
export async function hdf5Ready(): Promise<void> {
  loaded = await h5();
}

let loaded: H5Module | undefined;

function lib(): H5Module {
  if (!loaded) throw new Error("internal: HDF5 used before hdf5Ready()");
  return loaded;
}

/** After an abort the WebAssembly instance is unusable: drop it so the next hdf5Ready() makes a new one. */
function isFatal(e: unknown): boolean {
  const s = String((e as Error)?.message ?? e);
  return /Aborted\(|memory access out of bounds|unreachable|RuntimeError|table index is out of bounds|null function/.test(s) || (e as Error)?.name === "RuntimeError";
}

function retire(): void {
  current = undefined;
  loaded = undefined;
}

/** Run `f` with anything libhdf5 / Emscripten prints to stderr captured (it belongs in the exception). */
function quietly<T>(f: () => T): T {
  const write = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return f();
  } finally {
    process.stderr.write = write;
  }
}

/**
 * Run `f` with the WebAssembly heap allowed to grow by at most `bytes`. A corrupt length (a variable-length
 * string's, a chunk's) makes libhdf5 allocate whatever the file claims; Emscripten would grow the heap to
 * its 2 GiB limit first (tens of seconds) and then abort. Refusing the growth makes that allocation fail
 * at once, which libhdf5 reports as an error. (Emscripten grows the heap through WebAssembly.Memory's
 * `grow`, the only hook it offers; nothing else runs WebAssembly while `f` runs: it is synchronous.)
 */
function withHeapCap<T>(bytes: number, f: () => T): T {
  // Node's WebAssembly global (the TypeScript lib in use has no WebAssembly types).
  type Memory = { readonly buffer: ArrayBuffer; grow(pages: number): number };
  const proto = (globalThis as unknown as { WebAssembly: { Memory: { prototype: Memory } } }).WebAssembly.Memory.prototype;
  const grow = proto.grow;
  let limit: number | undefined;
  proto.grow = function (this: Memory, pages: number): number {
    const max = (limit ??= this.buffer.byteLength + bytes);
    if (this.buffer.byteLength + pages * 65536 > max) throw new RangeError(`the HDF5 reader may grow its memory by at most ${bytes} bytes`);
    return grow.call(this, pages);
  };
  try {
    return f();
  } finally {
    proto.grow = grow;
  }
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** HDF5 files start with the signature at offset 0, 512, 1024, 2048, … (a user block may precede it). */
function hasSignature(file: string, size: number): boolean {
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(8);
    for (let off = 0; off + 8 <= size; off = off === 0 ? 512 : off * 2) {
      if (readSync(fd, buf, 0, 8, off) === 8 && SIGNATURE.every((b, i) => buf[i] === b)) return true;
      if (off > 1 << 24) break;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

interface Meta {
  type: number;
  size: number;
  signed?: boolean;
  vlen?: boolean;
  littleEndian?: boolean;
  shape: number[] | null;
  total_size: number;
}

/** Our dtype name for an HDF5 datatype, or undefined when the reader does not accept it. */
function dtypeOf(m: Meta): string | undefined {
  if (m.type === 3) return "str";
  if (m.type === 1) return m.size === 4 ? "f32" : m.size === 8 ? "f64" : undefined;
  // 0 = integer, 8 = enumeration (h5py stores numpy bools as an int8 enum).
  if (m.type === 0 || m.type === 8) return [1, 2, 4, 8].includes(m.size) ? `${m.signed === false ? "u" : "i"}${m.size * 8}` : undefined;
  return undefined;
}

export interface ReadLimits {
  /** Largest total of dataset bytes accepted (default: 1100 × the file size + 16 MiB, at most 2 GiB). */
  readonly maxBytes?: number;
}

/**
 * Read a whole HDF5 file. Throws {@link Hdf5Error} for anything that is not a readable HDF5 file of
 * numeric and string datasets; hdf5Ready() must have resolved.
 */
export function readHdf5(file: string, limits: ReadLimits = {}): H5Group {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Hdf5Error("not a file");
    size = st.size;
  } catch (e) {
    throw e instanceof Hdf5Error ? e : new Hdf5Error((e as Error).message);
  }
  if (size === 0) throw new Hdf5Error("the file is empty");
  if (!hasSignature(file, size)) throw new Hdf5Error("not an HDF5 file (no HDF5 signature)");
  // Deflate expands at most about 1032:1; unwritten chunks of a chunked dataset read as fill values and
  // cost nothing in the file, so an absolute cap is needed as well.
  const budget = Math.min(limits.maxBytes ?? 1100 * size + (16 << 20), 2 ** 31);
  const mod = lib();
  let f: InstanceType<H5Module["File"]> | undefined;
  try {
    // The heap holds one dataset at a time (copied out, then freed) plus libhdf5's caches.
    return withHeapCap(2 * budget + (64 << 20), () => quietly(() => {
      f = new mod.File(file, "r");
      let used = 0;
      const readGroup = (g: InstanceType<H5Module["Group"]>, path: string, depth: number): H5Group => {
        if (depth > 64) throw new Hdf5Error("groups nested more than 64 deep", path);
        const children = new Map<string, H5Dataset | H5Group>();
        const keys = g.keys();
        if (keys.length > 1_000_000) throw new Hdf5Error(`${keys.length} members in one group`, path);
        for (const k of [...keys].sort()) {
          const p = `${path === "/" ? "" : path}/${k}`;
          const o = g.get(k);
          if (o instanceof mod.Group) children.set(k, readGroup(o, p, depth + 1));
          else if (o instanceof mod.Dataset) {
            const m = o.metadata as unknown as Meta;
            const dtype = dtypeOf(m);
            if (!dtype) throw new Hdf5Error(`unsupported HDF5 datatype (class ${m.type}, ${m.size} bytes)`, p);
            const shape = m.shape ?? [];
            if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new Hdf5Error(`invalid shape [${shape.join(", ")}]`, p);
            const n = shape.reduce((a, b) => a * b, 1);
            const bytes = n * (dtype === "str" ? 64 : m.size);
            used += bytes;
            if (!Number.isFinite(used) || used > budget) throw new Hdf5Error(`declares ${n} elements (${bytes} bytes), more than a ${size}-byte file can hold`, p);
            const v = o.value;
            let value: H5Array | readonly string[];
            if (dtype === "str") {
              const flat = (Array.isArray(v) ? (v as unknown[]).flat(Infinity) : [v]) as unknown[];
              if (!flat.every((s) => typeof s === "string")) throw new Hdf5Error("string dataset holds non-string values", p);
              value = flat as string[];
            } else if (ArrayBuffer.isView(v)) value = v as H5Array;
            else if (typeof v === "number") value = dtype.startsWith("f") ? Float64Array.of(v) : Float64Array.of(v);
            else if (typeof v === "bigint") value = BigInt64Array.of(v);
            else if (typeof v === "boolean") value = Int8Array.of(v ? 1 : 0);
            else throw new Hdf5Error("unreadable dataset value", p);
            if (value.length !== n) throw new Hdf5Error(`holds ${value.length} values for shape [${shape.join(", ")}]`, p);
            children.set(k, { kind: "dataset", path: p, shape, dtype, value });
          } else throw new Hdf5Error("unsupported HDF5 object (a link or a named datatype)", p);
        }
        return { kind: "group", path, children };
      };
      return readGroup(f, "/", 0);
    }));
  } catch (e) {
    if (e instanceof Hdf5Error) throw e;
    if (isFatal(e)) {
      retire();
      throw new Hdf5Error("corrupt HDF5 file (the HDF5 library aborted while reading it)");
    }
    const first = String((e as Error)?.message ?? e)
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("HDF5-DIAG") && !l.startsWith("#") && !/^(major|minor):/.test(l));
    const detail = String((e as Error)?.message ?? e).match(/minor: (.*)$/m)?.[1];
    throw new Hdf5Error(`unreadable HDF5 file${detail ? ` (${detail.trim()})` : first[0] ? ` (${first[0]})` : ""}`);
  } finally {
    try {
      (f as { close?: () => void } | undefined)?.close?.();
    } catch {
      /* a file that failed to open has nothing to close */
    }
  }
}

function entries(g: WriteGroup): [string, WriteDataset | WriteGroup][] {
  const c = g.children;
  const list = c instanceof Map ? [...c.entries()] : Object.entries(c);
  return list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** gzip level of compressed datasets: h5py's default, which nir.write uses. */
const GZIP_LEVEL = 4;

const DTYPE_OF: Record<string, string> = { Float32Array: "<f", Float64Array: "<d", BigInt64Array: "<q", Int32Array: "<i" };

/** Chunk shape: whole rows along axis 0, about 1 MiB per chunk (h5py chunks gzip datasets similarly). */
function chunksFor(shape: readonly number[], itemBytes: number): number[] {
  const row = shape.slice(1).reduce((a, b) => a * b, 1) * itemBytes;
  const rows = Math.max(1, Math.min(shape[0]!, Math.floor((1 << 20) / Math.max(1, row))));
  return [rows, ...shape.slice(1)];
}

/** Write `root` as an HDF5 file and return its bytes (deterministic for equal trees). hdf5Ready() first. */
export function writeHdf5(root: WriteGroup): Uint8Array {
  const mod = lib();
  const dir = mkdtempSync(join(tmpdir(), "tscc-h5-"));
  const file = join(dir, "out.h5");
  const now = Date.now;
  try {
    // libhdf5 stamps object headers with time(NULL), which Emscripten reads from Date.now().
    Date.now = () => 0;
    quietly(() => {
      const f = new mod.File(file, "w");
      try {
        const writeGroup = (g: InstanceType<H5Module["Group"]>, w: WriteGroup): void => {
          for (const [name, child] of entries(w)) {
            if (child.kind === "group") writeGroup(g.create_group(name), child);
            else {
              const d = child.data;
              if (typeof d === "string") g.create_dataset({ name, data: d });
              else if (Array.isArray(d)) g.create_dataset({ name, data: d as string[], shape: [...(child.shape ?? [d.length])] });
              else {
                const arr = d as Float32Array | Float64Array | BigInt64Array | Int32Array;
                const shape = child.shape ? [...child.shape] : [];
                const n = shape.reduce((a, b) => a * b, 1);
                if (n !== arr.length) throw new Error(`internal: dataset '${name}' has ${arr.length} values for shape [${shape.join(", ")}]`);
                const dtype = DTYPE_OF[arr.constructor.name]!;
                const gzip = child.compress !== false && shape.length > 0 && n > 0;
                g.create_dataset({ name, data: arr, shape, dtype, ...(gzip ? { chunks: chunksFor(shape, arr.BYTES_PER_ELEMENT), compression: GZIP_LEVEL } : {}) });
              }
            }
          }
        };
        writeGroup(f, root);
      } finally {
        f.close();
      }
    });
    return readFileSync(file);
  } catch (e) {
    if (isFatal(e)) retire();
    throw e;
  } finally {
    Date.now = now;
    rmSync(dir, { recursive: true, force: true });
  }
}
