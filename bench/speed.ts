/**
 * Speed: images/s of the fast engine (`tscc run --engine fast`: the artifact's closed-form.onnx on
 * onnxruntime with the operation counts computed in the graph, `runOnnxClosedForm`) and of the JavaScript
 * closed form (`-O fast=js`, `runClosedForm`), on the TSC network at T = 32, batch 64, against
 * onnxruntime-node on the original ANN ONNX at batch 64, all on one thread, measured in the same run,
 * with their ratios; for cnn-small, vgg-bn and a CIFAR VGG-16 with random weights (exported with
 * examples/vgg16-cifar/export.py into /tmp; not committed); plus the event engine's synaptic events per
 * second (throughput.ts).
 *
 * Run alone: npx tsx bench/speed.ts   (or npm run bench -- --only speed)
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as ort from "onnxruntime-node";
import { closedFormOnnx } from "../backends/emulator/onnx-export.js";
import { createOrtSession, runClosedForm, runOnnxClosedForm, type Network, type OrtModule } from "../backends/emulator/runtime/index.js";
import { readNpy } from "../src/io/npy.js";
import { annSession, normalizeInput, onnxInfo } from "./lib/ann.js";
import type { BenchContext } from "./lib/context.js";
import { Converter, ROOT, type ModelSpec } from "./lib/convert.js";
import { markdownTable, ratio } from "./lib/report.js";
import { throughputSuite } from "./throughput.js";

export const SPEED_BATCH = 64;
/** Minimum timed seconds per measurement (at least one batch is always timed). */
const MIN_SECONDS = 3;

export interface SpeedRow {
  readonly model: string;
  /** The fast engine: closed-form.onnx on onnxruntime, counts included. */
  readonly fastImagesPerSecond: number;
  /** The JavaScript closed form (float64). */
  readonly closedFormImagesPerSecond: number;
  /** onnxruntime on the ANN. */
  readonly ortImagesPerSecond: number;
  /** fast engine / onnxruntime ANN. */
  readonly ratio: number;
  /** JavaScript closed form / onnxruntime ANN. */
  readonly closedFormRatio: number;
}

/** Repeat `f` (one batch) until MIN_SECONDS have passed, after `warm` (a warm-up); images per second. */
async function rate(f: () => unknown | Promise<unknown>, batch: number, warm: () => unknown | Promise<unknown> = f): Promise<number> {
  await warm();
  let n = 0;
  const t0 = performance.now();
  do {
    await f();
    n += batch;
  } while (performance.now() - t0 < MIN_SECONDS * 1000);
  return n / ((performance.now() - t0) / 1000);
}

export async function closedFormVsOrt(name: string, file: string, net: Network, x: Float32Array, shape: readonly number[]): Promise<SpeedRow> {
  const per = shape.reduce((a, b) => a * b, 1);
  const B = SPEED_BATCH;
  const xb = x.subarray(0, B * per);
  // Warm-up on 2 images: one batch of a large network takes a minute on this engine.
  const closedFormImagesPerSecond = await rate(() => runClosedForm(net, xb, B), B, () => runClosedForm(net, xb.subarray(0, 2 * per), 2));
  const fast = await createOrtSession(ort as unknown as OrtModule, closedFormOnnx(net), 1);
  const fastImagesPerSecond = await rate(() => runOnnxClosedForm(net, ort as unknown as OrtModule, fast, xb, B), B);
  await fast.release?.();
  const info = onnxInfo(file);
  const session = await annSession(file, 1);
  const t = new ort.Tensor("float32", normalizeInput(xb, B, shape[0]!, info).slice(), [B, ...shape]);
  const ortImagesPerSecond = await rate(() => session.run({ [info.inputName]: t }), B);
  await session.release();
  return { model: name, fastImagesPerSecond, closedFormImagesPerSecond, ortImagesPerSecond, ratio: fastImagesPerSecond / ortImagesPerSecond, closedFormRatio: closedFormImagesPerSecond / ortImagesPerSecond };
}

/** The CIFAR VGG-16 (random weights) and its stand-in calibration set, exported once into a temp folder. */
export function vgg16Cifar(): { model: ModelSpec; calibration: string } | undefined {
  const dir = join(tmpdir(), "tscc-bench");
  const file = join(dir, "vgg16-cifar.onnx");
  const calibration = join(dir, "vgg16-cifar-calib.npy");
  if (!existsSync(file) || !existsSync(calibration)) {
    mkdirSync(dir, { recursive: true });
    try {
      execFileSync("/usr/bin/python3", [join(ROOT, "examples", "vgg16-cifar", "export.py"), file, "--calib", calibration, "--n", String(SPEED_BATCH)], { stdio: "ignore" });
    } catch {
      return undefined;
    }
  }
  return { model: { name: "vgg16-cifar", file, about: "CIFAR VGG-16, random weights, 13 conv + 3 FC, average pooling" }, calibration };
}

export async function speedSuite(ctx: BenchContext): Promise<{ speed: SpeedRow[] }> {
  const rows: SpeedRow[] = [];
  for (const model of ctx.opts.models) {
    const spec = ctx.model(model);
    const { network } = await ctx.conv.convert(spec, { coding: "tsc", window: "32" });
    ctx.log.progress(`speed ${model}`, 0, 1);
    rows.push(await closedFormVsOrt(model, spec.file, network, ctx.ds.images, ctx.ds.shape));
    ctx.log.progress(`speed ${model}`, 1, 1);
  }
  const vgg = vgg16Cifar();
  let note = "";
  if (vgg) {
    ctx.log.progress("speed vgg16-cifar (compile)", 0, 1);
    const conv = new Converter(vgg.calibration);
    const { network } = await conv.convert(vgg.model, { coding: "tsc", window: "32" });
    const x = readNpy(vgg.calibration).data as Float32Array;
    rows.push(await closedFormVsOrt("vgg16-cifar", vgg.model.file, network, x, [3, 32, 32]));
    ctx.log.progress("speed vgg16-cifar (compile)", 1, 1);
  } else note = "vgg16-cifar skipped: /usr/bin/python3 with torch could not export it.";
  const { out } = ctx;
  out.print(`### Speed: fast engine vs onnxruntime-node on the ANN (batch ${SPEED_BATCH}, one thread each, TSC T = 32)`);
  out.print();
  out.print(
    markdownTable(
      ["network", "fast engine (images/s)", "JS closed form (images/s)", "onnxruntime ANN (images/s)", "fast / ANN", "JS closed form / ANN"],
      rows.map((r) => [r.model, r.fastImagesPerSecond.toFixed(1), r.closedFormImagesPerSecond.toFixed(1), r.ortImagesPerSecond.toFixed(1), ratio(r.ratio), ratio(r.closedFormRatio)]),
    ),
  );
  out.print("Fast engine = `tscc run --engine fast` (closed-form.onnx on onnxruntime, every operation count computed in the graph); JS closed form = `-O fast=js` (float64, also counts floor-boundary ties). Target: fast ≥ 0.5× the ANN.");
  if (note) out.print(note);
  await throughputSuite(ctx);
  return { speed: rows };
}

// Standalone: index.ts imports this module, so do not await it here (that would deadlock the cycle).
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  void import("./index.js").then(({ main }) => main(["--only", "speed", ...process.argv.slice(2)]));
}
