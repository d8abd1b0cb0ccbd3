/**
 * Seed corpus shared by the fuzz targets, built deterministically in memory: a tiny CNN (ONNX), its
 * calibration and test tensors, the repository's PyTorch-exported ONNX fixtures, IR text/JSON of
 * them, and emulator and Loihi artifacts and NIR exports compiled from the tiny CNN. Each builder runs at most once
 * per fuzz process.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { moduleToJson, printModule, writeWeights, type Module } from "../ir/index.js";
import { compile, createRegistry } from "../src/driver/compile.js";
import { OUTPUT_MARKER } from "../src/driver/output.js";
import { importOnnxFile } from "../src/frontend/onnx/import.js";
import { encodeNpy } from "../src/io/npy.js";
import { buildModel } from "../test/support/onnx-builder.js";
import { Rng } from "../test/support/random.js";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Small real exports (PyTorch → ONNX) from test/fixtures/onnx: every supported op family, opsets 7–17. */
export const FIXTURE_NAMES = ["matmul_add.opset13", "bn_pool.opset13", "bn_pool.opset7", "conv_variants.opset11", "resnet_block.opset17", "relu6_concat.opset13", "fixed_batch.opset13", "shared_init.opset9"];

export function fixtureBytes(): Uint8Array[] {
  return FIXTURE_NAMES.map((n) => new Uint8Array(readFileSync(join(ROOT, "test/fixtures/onnx", `${n}.onnx`))));
}

function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= f());
}

/** Input [N, 1, 8, 8] → Conv 3×3 (2 channels) → ReLU → MaxPool 2×2 → Flatten → Gemm (32 → 4). */
export function tinyModel(): Uint8Array {
  const rng = new Rng(7);
  const w = Float32Array.from({ length: 2 * 9 }, () => rng.uniform(-0.5, 0.8));
  const fw = Float32Array.from({ length: 4 * 32 }, () => rng.uniform(-0.3, 0.3));
  return buildModel({
    name: "tiny",
    opset: 13,
    inputs: [{ name: "x", shape: ["N", 1, 8, 8] }],
    outputs: ["y"],
    initializers: [
      { name: "w", dims: [2, 1, 3, 3], data: w },
      { name: "b", dims: [2], data: Float32Array.of(0.05, -0.02) },
      { name: "fw", dims: [4, 32], data: fw },
      { name: "fb", dims: [4], data: Float32Array.of(0.1, 0, -0.1, 0.2) },
    ],
    nodes: [
      { name: "conv", op: "Conv", inputs: ["x", "w", "b"], outputs: ["c"], attrs: { pads: [1, 1, 1, 1] } },
      { name: "relu", op: "Relu", inputs: ["c"], outputs: ["r"] },
      { name: "pool", op: "MaxPool", inputs: ["r"], outputs: ["p"], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
      { name: "flat", op: "Flatten", inputs: ["p"], outputs: ["f"] },
      { name: "fc", op: "Gemm", inputs: ["f", "fw", "fb"], outputs: ["y"], attrs: { transB: 1 } },
    ],
  });
}

/** n samples [n, 1, 8, 8] of pixels/255 in [0, 1]. */
export function tinyImages(n: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  return encodeNpy({ shape: [n, 1, 8, 8], dtype: "f32", data: Float32Array.from({ length: n * 64 }, () => Math.round(rng.float() * 255) / 255) });
}

export function tinyLabels(n: number): Uint8Array {
  return encodeNpy({ shape: [n], dtype: "i64", data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 4)) });
}

/** The files every case folder starts from: tiny.onnx, calib.npy (16 samples), x.npy and y.npy (2 samples). */
export function tinyFiles(): Record<string, Uint8Array> {
  return { "tiny.onnx": tinyModel(), "calib.npy": tinyImages(16, 11), "x.npy": tinyImages(2, 12), "y.npy": tinyLabels(2) };
}

/** Compile the tiny model in memory; the files an output folder would hold (with tscc's marker). */
async function compileTiny(scratch: string, target: string, options: Record<string, string>): Promise<Record<string, Uint8Array>> {
  for (const [name, bytes] of Object.entries(tinyFiles())) writeFileSync(join(scratch, name), bytes);
  const reg = await createRegistry([], scratch);
  const r = await compile({ model: join(scratch, "tiny.onnx"), target, backendOptions: { calibration: "calib.npy", ...options }, cwd: scratch }, reg);
  const files: Record<string, Uint8Array> = Object.fromEntries(r.files);
  files[OUTPUT_MARKER] = new TextEncoder().encode(JSON.stringify({ tool: "tscc", target }) + "\n");
  return files;
}

let scratchDir = "";
export function setScratch(dir: string): void {
  scratchDir = dir;
}

export const emulatorArtifact = once(() => compileTiny(scratchDir, "emulator", {}));
export const loihiArtifact = once(() => compileTiny(scratchDir, "loihi", { window: "8" }));
/** The tiny CNN exported to NIR (tscc's own .nir files): TSC at T = 4 and the rate-coded baseline at 8 steps. */
export const nirExports = once(async () => ({
  tsc: (await compileTiny(scratchDir, "nir", { window: "4" }))["model.nir"]!,
  rate: (await compileTiny(scratchDir, "nir", { coding: "rate", window: "8" }))["model.nir"]!,
}));

export interface IrCorpus {
  /** .tir texts with inline weights, and with blob references to a weights.bin sidecar. */
  inline: string[];
  withBlobs: { text: string; weights: Uint8Array }[];
  json: unknown[];
}

function irOf(m: Module): { inline: string; blobs: { text: string; weights: Uint8Array }; json: unknown } {
  const sidecar = m.clone();
  sidecar.attrs["weights_file"] = "weights.bin";
  return { inline: printModule(m, { inlineWeights: true }), blobs: { text: printModule(sidecar), weights: writeWeights(sidecar) }, json: moduleToJson(m, { inlineWeights: true }) };
}

/** IR of the fixtures as imported (nn dialect) and of the tiny model after TSC conversion (snn dialect). */
export const irCorpus = once(async (): Promise<IrCorpus> => {
  const mods: Module[] = ["matmul_add.opset13", "bn_pool.opset13", "resnet_block.opset17", "relu6_concat.opset13"].map((n) => importOnnxFile(join(ROOT, "test/fixtures/onnx", `${n}.onnx`)).module);
  for (const [name, bytes] of Object.entries(tinyFiles())) writeFileSync(join(scratchDir, name), bytes);
  const reg = await createRegistry([], scratchDir);
  const snn = await compile(
    { model: join(scratchDir, "tiny.onnx"), target: "ir", passes: "canonicalize,fold-input-normalization,normalize-thresholds{calibration=calib.npy},insert-tsc-encoding{window=8}", cwd: scratchDir },
    reg,
  );
  mods.push(snn.module);
  const irs = mods.map(irOf);
  return { inline: irs.map((i) => i.inline), withBlobs: irs.map((i) => i.blobs), json: irs.map((i) => i.json) };
});
