/**
 * Calibration data for threshold normalisation: a `.npy` array, a folder of PNG/JPEG images, or a
 * built-in example set (`example:fashion-mnist`). Returned as float32 [N, ...] matching the model's
 * input shape (images become pixel/255 in [0, 1]).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { BATCH, fmt, M, TsccError } from "../../ir/index.js";
import type { RTensor } from "../../ir/interp/tensor.js";
import { readNpy } from "./npy.js";

/** Built-in calibration sets shipped with tscc (relative to the package root). */
export const EXAMPLE_SETS: Readonly<Record<string, string>> = {
  "fashion-mnist": "examples/fashion-mnist/calib-images.npy",
};

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, "package.json");
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, "utf8")) as { name?: string }).name === "tscc") return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("tscc package root not found");
    dir = up;
  }
}

function bad(spec: string, why: string): never {
  throw new TsccError(fmt(M.DataFile, [spec, why]));
}

function checkShape(t: RTensor, inputShape: readonly number[], spec: string): RTensor {
  const want = inputShape.slice(1);
  const got = t.shape.slice(1);
  if (t.shape.length === 0 || t.shape[0] === 0) bad(spec, "it holds no samples");
  if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
    bad(spec, `samples have shape [${got.join(", ")}], the model input is [${inputShape.map((d) => (d === BATCH ? "?" : d)).join(", ")}]`);
  }
  return t;
}

function decodeImage(file: string): { width: number; height: number; rgba: Uint8Array } {
  const bytes = readFileSync(file);
  const ext = extname(file).toLowerCase();
  try {
    if (ext === ".png") {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, rgba: png.data };
    }
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    return { width: img.width, height: img.height, rgba: img.data };
  } catch (e) {
    return bad(file, `not a readable ${ext.slice(1).toUpperCase()} image: ${(e as Error).message}`);
  }
}

function loadImageFolder(dir: string, inputShape: readonly number[], spec: string): RTensor {
  const files = readdirSync(dir)
    .filter((f) => /\.(png|jpe?g)$/i.test(f))
    .sort();
  if (files.length === 0) bad(spec, "the folder has no .png or .jpg images");
  if (inputShape.length !== 4) bad(spec, `image folders need a [N, C, H, W] model input, this model takes rank ${inputShape.length}`);
  const [, c, h, w] = inputShape as [number, number, number, number];
  if (c !== 1 && c !== 3) bad(spec, `images have 1 or 3 channels; the model input has ${c}`);
  const out = new Float32Array(files.length * c * h * w);
  files.forEach((f, n) => {
    const img = decodeImage(join(dir, f));
    if (img.width !== w || img.height !== h) bad(join(dir, f), `image is ${img.width}×${img.height}, the model takes ${w}×${h}`);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = (y * w + x) * 4;
        const [r, g, b] = [img.rgba[p]!, img.rgba[p + 1]!, img.rgba[p + 2]!];
        if (c === 1) out[n * h * w + y * w + x] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
        else for (let k = 0; k < 3; k++) out[((n * 3 + k) * h + y) * w + x] = [r, g, b][k]! / 255;
      }
    }
  });
  return { shape: [files.length, c, h, w], dtype: "f32", data: out };
}

export function loadCalibration(spec: string, inputShape: readonly number[], opts: { baseDir?: string } = {}): RTensor {
  if (spec.startsWith("example:")) {
    const name = spec.slice("example:".length);
    const rel = EXAMPLE_SETS[name] ?? bad(spec, `no built-in set '${name}' (available: ${Object.keys(EXAMPLE_SETS).join(", ")})`);
    return loadCalibration(join(packageRoot(), rel), inputShape);
  }
  const path = resolve(opts.baseDir ?? process.cwd(), spec);
  if (!existsSync(path)) throw new TsccError(fmt(M.FileNotFound, [spec]));
  if (statSync(path).isDirectory()) return checkShape(loadImageFolder(path, inputShape, spec), inputShape, spec);
  const t = readNpy(path);
  if (t.dtype !== "f32" && t.dtype !== "f64") bad(spec, `dtype ${t.dtype}; calibration data must be float32 (raw inputs, e.g. pixels/255)`);
  const f32: RTensor = t.dtype === "f32" ? t : { shape: t.shape, dtype: "f32", data: Float32Array.from(t.data as Float64Array) };
  let nonFinite = 0;
  for (let i = 0; i < f32.data.length; i++) if (!Number.isFinite(f32.data[i] as number)) nonFinite++;
  if (nonFinite) bad(spec, `${nonFinite} values are NaN or infinite`);
  return checkShape(f32, inputShape, spec);
}

/**
 * Held-out calibration samples for window tuning: the last min(holdout, ⌊N/2⌋) samples. Threshold
 * normalisation then uses only the samples before them (`calibrationSplit(...).fit`), so the windows are
 * chosen on data λ was not fitted to.
 */
export function calibrationSplit(data: RTensor, holdout: number): { fit: RTensor; heldOut: RTensor } {
  const n = data.shape[0]!;
  const h = Math.min(Math.max(0, Math.floor(holdout)), Math.floor(n / 2));
  const per = data.data.length / n;
  const part = (a: number, b: number): RTensor => ({ shape: [b - a, ...data.shape.slice(1)], dtype: data.dtype, data: (data.data as Float32Array).subarray(a * per, b * per) });
  return { fit: part(0, n - h), heldOut: part(n - h, n) };
}
