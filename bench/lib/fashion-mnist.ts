/**
 * The Fashion-MNIST test set from Debian's `dataset-fashion-mnist` package (idx format, gzip), read with
 * node:zlib: pixels/255 as float32 [N, 1, 28, 28] and labels as Int32Array.
 *
 * idx format (LeCun): big-endian magic 0x00000801 (labels) / 0x00000803 (images), then the dimension
 * sizes as big-endian uint32, then the unsigned bytes.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

export const FASHION_MNIST_DIR = process.env["FASHION_MNIST_DIR"] ?? "/usr/share/datasets/fashion-mnist";

export interface Dataset {
  /** float32 [n, 1, 28, 28], pixels/255. */
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly n: number;
  /** Per-sample size (784). */
  readonly per: number;
  readonly shape: readonly number[];
  readonly source: string;
}

function readIdx(file: string, magic: number): { dims: number[]; data: Uint8Array } {
  if (!existsSync(file)) throw new Error(`${file} not found: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or set FASHION_MNIST_DIR`);
  const raw = gunzipSync(readFileSync(file));
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const m = view.getUint32(0, false);
  if (m !== magic) throw new Error(`${file}: idx magic 0x${m.toString(16)}, expected 0x${magic.toString(16)}`);
  const rank = magic & 0xff;
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const offset = 4 + 4 * rank;
  const count = dims.reduce((a, b) => a * b, 1);
  if (raw.length !== offset + count) throw new Error(`${file}: ${raw.length - offset} data bytes, expected ${count}`);
  return { dims, data: raw.subarray(offset) };
}

/** The 10,000-image test set (or its first `limit` images). */
export function loadTestSet(limit = Infinity, dir = FASHION_MNIST_DIR): Dataset {
  return loadSplit("t10k", limit, dir);
}

/** The 60,000-image training set (or its first `limit` images): calibration and window tuning, never evaluation. */
export function loadTrainSet(limit = Infinity, dir = FASHION_MNIST_DIR): Dataset {
  return loadSplit("train", limit, dir);
}

function loadSplit(prefix: "t10k" | "train", limit: number, dir: string): Dataset {
  const img = readIdx(join(dir, `${prefix}-images-idx3-ubyte.gz`), 0x803);
  const lab = readIdx(join(dir, `${prefix}-labels-idx1-ubyte.gz`), 0x801);
  const [count, h, w] = img.dims as [number, number, number];
  if (lab.dims[0] !== count) throw new Error(`${dir}: ${count} images but ${lab.dims[0]} labels`);
  const n = Math.min(count, limit);
  const per = h * w;
  const images = new Float32Array(n * per);
  for (let i = 0; i < n * per; i++) images[i] = img.data[i]! / 255;
  const labels = Int32Array.from(lab.data.subarray(0, n));
  return { images, labels, n, per, shape: [1, h, w], source: `${dir}/${prefix}-*-idx*-ubyte.gz` };
}

/** Samples [start, end) of a dataset as a new dataset view (no copy). */
export function slice(ds: Dataset, start: number, end: number): Dataset {
  return { ...ds, images: ds.images.subarray(start * ds.per, end * ds.per), labels: ds.labels.subarray(start, end), n: end - start };
}
