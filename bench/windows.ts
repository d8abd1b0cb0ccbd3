/**
 * `npx tsx bench/windows.ts [--models a,b] [--images N] [--rate-images N] [--tune-images N] [--rate-tmax T]`:
 * issue 12's levers against the strongest rate baseline, both codings on the same network in one run.
 *
 * Per model (cnn-small, vgg-bn, and the QAT variants vgg-bn-qat4/8 when their ONNX files exist):
 * - the ANN (original ONNX on onnxruntime) on the first `--images` test images (default: all 10,000);
 * - TSC with one window for every layer, T ∈ {2, 4, 8, 16, 32} (QAT: also T = L);
 * - TSC with per-layer windows chosen by `--window auto` (tolerance 0.5 points, labels), for the latency
 *   objective and for the additions objective; the tuning set is `--tune-images` training images that
 *   are not calibration images (labels from the training set), held out of normalisation exactly as the
 *   CLI does (`holdout`): the calibration file handed to the compiler is the shipped 1000 images followed
 *   by the tuning images;
 * - rate coding, the strongest baselines of bench/accuracy.ts (reset by subtraction, same normalisation,
 *   constant-current input, v-init 0.5 and 0; for average-pooling networks also the spiking average pool), on
 *   the first `--rate-images` test images up to `--rate-tmax` steps (one run, every T from checkpoints);
 * - at equal accuracy (first configuration within 0.5 points of the ANN on the same images): latency and
 *   synaptic additions per inference of TSC (tuned, and the best uniform window) against rate.
 * Everything is measured in this run; nothing is copied from earlier results. Progress on stderr on a TTY.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { progressLogger, progressWanted } from "../src/cli/progress.js";
import { readNpy, writeNpy } from "../src/io/npy.js";
import type { TuneResult } from "../src/passes/snn/tune.js";
import { schedule, type Counters } from "../backends/emulator/runtime/index.js";
import type { Network } from "../backends/emulator/runtime/network.js";
import { annLogits } from "./lib/ann.js";
import { CALIBRATION, Converter, FM_DIR, MODELS, type ModelSpec } from "./lib/convert.js";
import { loadTestSet, loadTrainSet } from "./lib/fashion-mnist.js";
import { runJob } from "./lib/jobs.js";
import { argmaxes, count, markdownTable, matchRate, pct, ratio } from "./lib/report.js";

const EQUAL_TOL = 0.005;
const log = progressLogger(process.stderr, progressWanted(process.stderr, false));

interface Flags {
  models: string[];
  images: number;
  rateImages: number;
  tuneImages: number;
  rateTmax: number;
}

function parse(argv: readonly string[]): Flags {
  const f = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    f.set(a.slice(2), argv[++i] ?? "");
  }
  const known = ["models", "images", "rate-images", "tune-images", "rate-tmax"];
  for (const k of f.keys()) if (!known.includes(k)) throw new Error(`unknown flag --${k} (known: ${known.join(", ")})`);
  const qat = ["vgg-bn-qat4", "vgg-bn-qat8"].filter((m) => existsSync(join(FM_DIR, `${m}.onnx`)));
  return {
    models: (f.get("models") ?? ["cnn-small", "vgg-bn", ...qat].join(",")).split(","),
    images: Number(f.get("images") ?? 10000),
    rateImages: Number(f.get("rate-images") ?? 2000),
    tuneImages: Number(f.get("tune-images") ?? 1000),
    rateTmax: Number(f.get("rate-tmax") ?? 128),
  };
}

function spec(name: string): ModelSpec {
  const known = MODELS[name];
  if (known) return known;
  const file = join(FM_DIR, `${name}.onnx`);
  if (!existsSync(file)) throw new Error(`unknown model ${name} (${file} does not exist)`);
  return { name, file, about: "quantisation-aware-trained vgg-bn (QCFS activations)" };
}

/** Per-image figures of one configuration on images [0, n). */
interface Point {
  readonly label: string;
  readonly accuracy: number;
  readonly ann: number;
  readonly agreement: number;
  readonly latency: number;
  readonly additions: number;
  readonly n: number;
  readonly windows?: string;
  readonly note?: string;
}

function point(label: string, logits: Float32Array, counters: Counters, latency: number, labels: Int32Array, ann: Int32Array, n: number, extra: Partial<Point> = {}): Point {
  const pred = argmaxes(logits, n);
  return { label, accuracy: matchRate(pred, labels, n), ann: matchRate(ann, labels, n), agreement: matchRate(pred, ann, n), latency, additions: counters.synaptic_additions / n, n, ...extra };
}

/** TSC windows of a network, population by population (the encoder first). */
function windowsOf(net: Network): string {
  const s = schedule(net);
  return net.nodes.flatMap((nd, i) => (nd.kind === "encode" || nd.kind === "tsc" ? [s.steps[i]!] : [])).join("·");
}

async function main(): Promise<void> {
  const flags = parse(process.argv.slice(2));
  const test = loadTestSet(flags.images);
  const train = loadTrainSet();
  const calib = readNpy(CALIBRATION);
  // Tuning set: training images that are not calibration images, with their labels; calibration labels
  // by matching the shipped images to the training set byte for byte.
  const per = train.per;
  const key = (a: Float32Array, o: number): string => Buffer.from(Uint8Array.from(a.subarray(o, o + per), (v) => Math.round(v * 255))).toString("base64");
  const calibKeys = new Set<string>();
  for (let i = 0; i < calib.shape[0]!; i++) calibKeys.add(key(calib.data as Float32Array, i * per));
  const tuneIdx: number[] = [];
  for (let i = train.n - 1; i >= 0 && tuneIdx.length < flags.tuneImages; i--) if (!calibKeys.has(key(train.images, i * per))) tuneIdx.push(i);
  const nCal = calib.shape[0]!;
  const tuneSet = new Float32Array((nCal + tuneIdx.length) * per);
  tuneSet.set(calib.data as Float32Array);
  const labels = new BigInt64Array(nCal + tuneIdx.length);
  const byKey = new Map<string, number>();
  for (let i = 0; i < train.n; i++) byKey.set(key(train.images, i * per), train.labels[i]!);
  for (let i = 0; i < nCal; i++) labels[i] = BigInt(byKey.get(key(calib.data as Float32Array, i * per)) ?? -1);
  tuneIdx.forEach((t, j) => {
    tuneSet.set(train.images.subarray(t * per, (t + 1) * per), (nCal + j) * per);
    labels[nCal + j] = BigInt(train.labels[t]!);
  });
  const dir = mkdtempSync(join(tmpdir(), "tscc-bench-windows-"));
  const tuneFile = join(dir, "calib-and-tune.npy");
  const labelFile = join(dir, "calib-and-tune-labels.npy");
  writeNpy(tuneFile, { shape: [nCal + tuneIdx.length, 1, 28, 28], dtype: "f32", data: tuneSet });
  writeNpy(labelFile, { shape: [nCal + tuneIdx.length], dtype: "i64", data: labels });

  const out: string[] = [];
  const print = (s = ""): void => {
    out.push(s);
    process.stdout.write(s + "\n");
  };
  print(`# Per-layer windows and QAT against the strongest rate baseline\n`);
  print(`Command: \`npx tsx bench/windows.ts ${process.argv.slice(2).join(" ")}\`. Test images: first ${test.n} of ${test.source}; tuning: ${tuneIdx.length} training images that are not calibration images (tolerance 0.5 points on top-1, labels); rate: first ${flags.rateImages} test images, T ≤ ${flags.rateTmax}.\n`);
  const results: Record<string, unknown> = {};
  try {
    for (const name of flags.models) {
      const model = spec(name);
      log.info(`${name}: ANN`);
      const ann = argmaxes(await annLogits(model.file, test.images, test.n, test.shape), test.n);
      const conv = new Converter(tuneFile);
      const rows: Point[] = [];
      const runTsc = async (label: string, opts: Record<string, string>, extra: Partial<Point> = {}, inputs?: Record<string, unknown>) => {
        const c = await conv.convert(model, { coding: "tsc", ...opts }, inputs);
        const r = await runJob(c.network, { net: label, engine: "closed-onnx", start: 0, end: test.n }, test.images, per);
        const p = point(label, r.logits, r.counters, r.latency, test.labels, ann, test.n, { windows: windowsOf(c.network), ...extra });
        rows.push(p);
        log.info(`${name}: ${label}: ${pct(p.accuracy)} (ANN ${pct(p.ann)}), latency ${p.latency}`);
        return p;
      };
      const base = { holdout: String(tuneIdx.length) };
      const qatL = /qat(\d+)$/.exec(name)?.[1];
      const uniform = [2, 4, 8, 16, 32, ...(qatL && ![2, 4, 8, 16, 32].includes(Number(qatL)) ? [Number(qatL)] : [])].sort((a, b) => a - b);
      for (const T of uniform) await runTsc(`TSC, every window ${T}`, { window: String(T), calibration: CALIBRATION });
      for (const objective of ["latency", "additions"] as const) {
        let tuned: TuneResult | undefined;
        await runTsc(`TSC, windows tuned (${objective})`, { ...base, "layer-windows": "auto", window: qatL ?? "32", tolerance: "0.5", objective, "calibration-labels": labelFile }, {}, { onTune: (t: TuneResult) => (tuned = t) });
        const t = tuned as TuneResult | undefined;
        if (t) rows[rows.length - 1] = { ...rows[rows.length - 1]!, note: `search ${(t.ms / 1000).toFixed(1)} s wall, ${(t.cpuMs / 1000).toFixed(1)} s CPU, ${t.evaluations} runs (${t.resumed} resumed from a layer boundary) on ${t.samples} images (${t.engine})` };
      }
      // Rate: the strongest variants of bench/accuracy.ts, one checkpointed run each.
      const hasAvg = await conv.hasAveragePool(model);
      // v-init 0.5 (QCFS) and 0 (bench/accuracy.ts: the strongest on cnn-small at short T, and at T = 128 on vgg-bn).
      const rateOpts = (vInit: string, avgpool: string): Record<string, string> => ({ coding: "rate", "rate-input": "current", "v-init": vInit, avgpool, reset: "subtract", calibration: CALIBRATION });
      const variants: [string, Record<string, string>][] = [
        ["rate, v-init 0.5", rateOpts("0.5", "merge")],
        ["rate, v-init 0", rateOpts("0", "merge")],
        ...(hasAvg ? [["rate, v-init 0.5, spiking avg-pool", rateOpts("0.5", "spike")] as [string, Record<string, string>]] : []),
      ];
      const checkpoints = [4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024].filter((t) => t <= flags.rateTmax);
      const nr = Math.min(flags.rateImages, test.n);
      const rate: Point[] = [];
      for (const [label, opts] of variants) {
        log.info(`${name}: ${label} on ${nr} images`);
        const c = await conv.convert(model, { ...opts, window: String(flags.rateTmax) });
        const r = await runJob(c.network, { net: label, engine: "rate-onnx", start: 0, end: nr, checkpoints }, test.images, per);
        for (const cp of r.checkpoints ?? []) rate.push(point(`${label}, T = ${cp.step}`, cp.logits, cp.counters, cp.step, test.labels, ann, nr));
      }
      // The TSC rows on the rate images, for the equal-accuracy comparison on the same images.
      const equal = (p: Point) => p.accuracy >= p.ann - EQUAL_TOL - 1e-12;
      const bestRate = rate.filter(equal).sort((a, b) => a.additions - b.additions)[0];
      const fastestRate = rate.filter(equal).sort((a, b) => a.latency - b.latency)[0];
      print(`## ${name}\n`);
      print(`${model.about}. ANN top-1 ${pct(rows[0]!.ann)} on ${test.n} test images.\n`);
      print(
        markdownTable(
          ["configuration", "windows (encoder first)", "latency (steps)", "top-1", "vs ANN (pts)", "agreement", "synaptic adds / image", "note"],
          rows.map((p) => [p.label, p.windows ?? "", String(p.latency), pct(p.accuracy), ((100 * (p.accuracy - p.ann)).toFixed(2)), pct(p.agreement), count(p.additions), p.note ?? ""]),
          ["l", "l", "r", "r", "r", "r", "r", "l"],
        ),
      );
      const rateEq = rate.filter(equal);
      print(`Rate coding on ${nr} images (ANN ${pct(rate[0]?.ann ?? NaN)} on them); configurations within 0.5 points of the ANN: ${rateEq.length ? rateEq.map((p) => p.label.replace(/^rate, /, "")).slice(0, 4).join("; ") + (rateEq.length > 4 ? "; …" : "") : "none up to T = " + flags.rateTmax}.\n`);
      print(
        markdownTable(
          ["rate configuration", "top-1", "vs ANN (pts)", "synaptic adds / image"],
          rate.filter((p) => [16, 32, 64, 128].includes(p.latency) || p === bestRate || p === fastestRate).map((p) => [p.label, pct(p.accuracy), (100 * (p.accuracy - p.ann)).toFixed(2), count(p.additions)]),
          ["l", "r", "r", "r"],
        ),
      );
      const tscEq = rows.filter(equal);
      const tscFast = tscEq.sort((a, b) => a.latency - b.latency)[0];
      const tscLean = rows.filter(equal).sort((a, b) => a.additions - b.additions)[0];
      if (fastestRate && bestRate) {
        print(`At equal accuracy (within 0.5 points of the ANN; TSC on ${test.n} images, rate on ${nr}):\n`);
        const lines: string[][] = [];
        if (tscFast) lines.push([`fastest TSC: ${tscFast.label}`, String(tscFast.latency), String(fastestRate.latency), ratio(tscFast.latency / fastestRate.latency), count(tscFast.additions), count(bestRate.additions), ratio(bestRate.additions / tscFast.additions)]);
        if (tscLean && tscLean !== tscFast) lines.push([`leanest TSC: ${tscLean.label}`, String(tscLean.latency), String(fastestRate.latency), ratio(tscLean.latency / fastestRate.latency), count(tscLean.additions), count(bestRate.additions), ratio(bestRate.additions / tscLean.additions)]);
        if (!lines.length) lines.push(["no TSC configuration within 0.5 points", "", "", "", "", "", ""]);
        print(markdownTable(["TSC", "TSC latency", "rate latency (fastest equal)", "latency TSC/rate", "TSC adds", "rate adds (leanest equal)", "adds rate/TSC"], lines, ["l", "r", "r", "r", "r", "r", "r"]));
      } else print(`No rate configuration reaches the ANN within 0.5 points up to T = ${flags.rateTmax} on ${nr} images.\n`);
      results[name] = { tsc: rows, rate };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(join(import.meta.dirname, "results"), { recursive: true });
  writeFileSync(join(import.meta.dirname, "results", "windows.md"), out.join("\n") + "\n");
  writeFileSync(join(import.meta.dirname, "results", "windows.json"), JSON.stringify(results, null, 1));
}

await main().finally(log.stop);
