/**
 * `tscc run <emulator artifact>`: load the artifact's own generated module, check the inputs against
 * the manifest, run the event or closed-form engine, and compare with the reference ANN shipped in the
 * artifact (accuracy, top-1 agreement, logit error), with per-inference operation counts and energy.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { fmt, M, TsccError, yieldToEventLoop } from "../../ir/index.js";
import type { RTensor } from "../../ir/interp/tensor.js";
import type { RunReport, RunRequest } from "../api.js";
import { chunksOf, parseShard, shardRange } from "../counts.js";
import { importModelJs, readArtifactJson, shapeSchema } from "./artifact-files.js";
import { runClockArtifact, type ClockManifest, type ClockModule } from "./clock-artifact.js";
import { ARTIFACT_FORMAT, ARTIFACT_VERSION } from "./emit.js";
import { ENERGY_SETS } from "./energy.js";
import type { EvalWorkerData } from "./eval-worker.js";
import { Evaluator, type ChunkResult, type EvalSettings } from "./evaluate.js";
import type { Manifest } from "./manifest.js";
import { counterMetrics, emulatorCounts, emulatorMetrics } from "./metrics.js";
import { WorkerPool } from "./pool.js";
import { parseWindow } from "./sweep.js";

function bad(dir: string, why: string, hint?: string): never {
  throw new TsccError(fmt(M.InputMismatch, [`${dir}: ${why}`], hint ? { hint } : {}));
}

/** What `tscc run` reads from an emulator manifest.json (checked before it is used). */
const manifestSchema = z.looseObject({
  tscc: z.string().optional(),
  coding: z.enum(["tsc", "rate"]),
  window: z.number().int().min(1),
  input: z.looseObject({ name: z.string(), shape: shapeSchema, scale: z.number().positive().finite(), mean: z.array(z.number().finite()), std: z.array(z.number().positive().finite()) }),
  outputs: z.array(z.string()).min(1),
  latency_steps: z.number().int().min(0),
  spiking_layers: z.number().int().min(0),
  energy: z.string(),
});

/** What `tscc run` reads from the manifest.json of a NIR graph's clock artifact. */
const clockManifestSchema = z.looseObject({
  tscc: z.string().optional(),
  coding: z.literal("nir"),
  dt: z.number().positive().finite(),
  steps: z.number().int().min(0),
  readout: z.enum(["last", "sum"]),
  input: z.looseObject({ name: z.string(), shape: shapeSchema }),
  outputs: z.array(z.looseObject({ name: z.string(), shape: shapeSchema })).min(1),
  energy: z.string(),
});

/** An emulator artifact's manifest: a converted SNN (tsc, rate) or a NIR graph (nir), checked before use. */
export function readArtifactManifest(dir: string): Manifest | ClockManifest {
  const m = readArtifactJson(dir, "manifest.json", "an emulator", z.looseObject({ format: z.unknown(), version: z.unknown(), tscc: z.unknown(), coding: z.unknown() }));
  if (m.format !== ARTIFACT_FORMAT || m.version !== ARTIFACT_VERSION) {
    throw new TsccError(
      fmt(M.DataFile, [dir, `artifact format ${String(m.format ?? "?")} version ${String(m.version ?? "?")} (written by tscc ${String(m.tscc ?? "?")}); this tscc reads ${ARTIFACT_FORMAT} version ${ARTIFACT_VERSION}`], {
        hint: "recompile the model with this tscc",
      }),
    );
  }
  if (m.coding === "nir") return readArtifactJson(dir, "manifest.json", "an emulator", clockManifestSchema) as unknown as ClockManifest;
  return readArtifactJson(dir, "manifest.json", "an emulator", manifestSchema) as unknown as Manifest;
}

/** The manifest of a converted SNN's artifact (a NIR graph's artifact is refused by name). */
export function readManifest(dir: string): Manifest {
  const m = readArtifactManifest(dir);
  if (m.coding === "nir") throw new TsccError(fmt(M.DataFile, [dir, "this artifact runs a NIR graph on the clock engine; window sweeps and reports need a converted SNN (tsc or rate)"]));
  return m;
}

export function artifactInputs(dir: string): string[] {
  return [readArtifactManifest(dir).input.name];
}

/** Check shape, dtype, NaN and range of the input against the manifest. */
function checkInput(dir: string, man: Manifest, x: RTensor): { data: Float32Array; batch: number } {
  const want = man.input.shape;
  const got = x.shape.slice(1);
  if (x.shape.length !== want.length + 1 || got.some((d, i) => d !== want[i])) {
    bad(dir, `input '${man.input.name}' has shape [${x.shape.join(", ")}] but the network takes [N, ${want.join(", ")}]`, x.shape.length === want.length ? "add a leading batch dimension" : undefined);
  }
  if (x.dtype !== "f32") bad(dir, `input '${man.input.name}' has dtype ${x.dtype}; float32 expected`);
  const d = x.data as Float32Array;
  let nan = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (Number.isNaN(v)) nan++;
    else {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (nan) bad(dir, `input '${man.input.name}' holds ${nan} NaN value(s)`);
  const scale = man.input.scale;
  const tol = 1e-6 * scale;
  if (lo < -tol || hi > scale + tol) {
    bad(dir, `input values span [${lo}, ${hi}], outside the declared input range [0, ${scale}]`, "spike codes carry raw, non-negative inputs: pass --input-scale (and --mean/--std for a normalised model) when compiling");
  }
  return { data: d, batch: x.shape[0]! };
}

/** Index of the largest of the k logits of sample `row` (the first on ties). */
export function argmax(d: ArrayLike<number>, row: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (d[row * k + j]! > d[row * k + best]!) best = j;
  return best;
}

/**
 * Top-1 hits of `logits` and of a reference against the labels, top-1 agreement with the reference and
 * the largest absolute logit difference, over `batch` samples of `k` logits.
 */
export function compareLogits(logits: Float32Array, ref: Float32Array | undefined, labels: readonly number[] | undefined, batch: number, k: number): { correct: number; refCorrect: number; agree: number; errMax: number } {
  let correct = 0;
  let refCorrect = 0;
  let agree = 0;
  let errMax = 0;
  for (let i = 0; i < batch; i++) {
    const p = argmax(logits, i, k);
    if (labels && p === labels[i]) correct++;
    if (ref) {
      const q = argmax(ref, i, k);
      if (p === q) agree++;
      if (labels && q === labels[i]) refCorrect++;
      for (let j = 0; j < k; j++) errMax = Math.max(errMax, Math.abs(logits[i * k + j]! - ref[i * k + j]!));
    }
  }
  return { correct, refCorrect, agree, errMax };
}

/** Integer class labels of n samples (a user error for float labels or a count mismatch). */
export function labelsOf(labels: RTensor, n: number): number[] {
  if (labels.dtype === "f32" || labels.dtype === "f64") throw new TsccError(fmt(M.InputMismatch, [`labels are ${labels.dtype}; integer class indices expected`]));
  const y = Array.from(labels.data as ArrayLike<number | bigint>, Number);
  if (y.length !== n) throw new TsccError(fmt(M.InputMismatch, [`${y.length} labels for ${n} samples`]));
  return y;
}

/** Samples per engine call when --batch is not given: 64, fewer for long rate windows (progress, balance). */
export function defaultChunk(man: Manifest): number {
  return man.coding === "rate" ? Math.max(1, Math.min(64, Math.floor(2048 / man.window))) : 64;
}

function positiveInt(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new TsccError(fmt(M.Usage, [`${what} must be a positive integer, got '${value}'`]));
  return n;
}

/**
 * Evaluate chunks [start, end) of the data set: on the main thread (one job) or on worker threads (each
 * opens the artifact once; the samples are shared). Results in chunk order either way.
 */
async function evaluateChunks(settings: EvalSettings, data: Float32Array, per: number, from: number, chunks: readonly { start: number; end: number }[], jobs: number, log: RunRequest["log"]): Promise<ChunkResult[]> {
  const total = chunks.reduce((s, c) => s + c.end - c.start, 0);
  const label = `${settings.engine} engine${jobs > 1 ? ` (${jobs} jobs)` : ""}`;
  let done = 0;
  log.progress(label, 0, total);
  if (jobs <= 1) {
    const ev = await Evaluator.open(settings);
    const out: ChunkResult[] = [];
    try {
      for (const c of chunks) {
        out.push(await ev.run(data.subarray((c.start - from) * per, (c.end - from) * per), c.start, c.end));
        log.progress(label, (done += c.end - c.start), total);
        await yieldToEventLoop();
      }
    } finally {
      await ev.close();
    }
    return out;
  }
  const samples = new SharedArrayBuffer(data.byteLength);
  new Float32Array(samples).set(data);
  const workerData: EvalWorkerData = { settings, samples, base: from, per };
  const pool = new WorkerPool<{ start: number; end: number }, ChunkResult>(new URL(`./eval-worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url), jobs, workerData);
  try {
    return await pool.map(chunks, (r) => log.progress(label, (done += r.end - r.start), total));
  } finally {
    await pool.close();
  }
}

/** `tscc run` on a clock artifact (a NIR graph): outputs, counts, and accuracy against labels. */
async function runNirArtifact(dir: string, man: ClockManifest, req: RunRequest): Promise<RunReport> {
  const mod = await importModelJs<ClockModule>(dir);
  const r = await runClockArtifact(dir, man, req, mod);
  const metrics: Record<string, unknown> = { coding: "nir", engine: "clock", samples: r.batch, steps: r.steps, dt: man.dt, readout: r.readout };
  const first = r.outputs[man.outputs[0]!.name]!;
  const k = first.data.length / r.batch;
  if (req.labels) metrics["accuracy"] = compareLogits(first.data as Float32Array, undefined, labelsOf(req.labels, r.batch), r.batch, k).correct / r.batch;
  Object.assign(metrics, counterMetrics(r.counters, r.batch, req.options["energy"] ?? man.energy));
  metrics["images_per_second"] = r.batch / r.seconds;
  return { outputs: r.outputs, metrics };
}

export async function runArtifact(dir: string, req: RunRequest): Promise<RunReport> {
  const any = readArtifactManifest(dir);
  if (any.coding === "nir") return runNirArtifact(dir, any, req);
  const man = any;
  const given = req.inputs[man.input.name] ?? (Object.keys(req.inputs).length === 1 ? Object.values(req.inputs)[0] : undefined);
  if (!given) bad(dir, `no input named '${man.input.name}'`);
  const { data: all, batch: total } = checkInput(dir, man, given);
  const o = req.options;
  const engine = o["engine"] ?? (man.coding === "tsc" ? "fast" : "event");
  if (engine !== "event" && engine !== "fast") throw new TsccError(fmt(M.Usage, [`--engine must be event or fast, got '${engine}'`]));
  const chunk = positiveInt(o["batch"], defaultChunk(man), "--batch");
  // A shard is a contiguous run of whole chunks, so its engine calls are exactly those of a full run.
  let from = 0;
  let to = total;
  let shard: { index: number; count: number } | undefined;
  if (o["shard"] !== undefined) {
    shard = parseShard(o["shard"]);
    if (!shard) throw new TsccError(fmt(M.Usage, [`--shard must be i/n with 0 <= i < n, got '${o["shard"]}'`]));
    ({ start: from, end: to } = shardRange(total, chunk, shard.index, shard.count));
    if (to <= from) throw new TsccError(fmt(M.Usage, [`shard ${shard.index}/${shard.count} is empty: ${total} samples make ${Math.ceil(total / chunk)} chunks of ${chunk} (--batch); use at most that many shards`]));
  }
  const per = all.length / Math.max(1, total);
  const data = all.subarray(from * per, to * per);
  const n = to - from;
  const chunks = chunksOf(from, to, chunk);
  const jobs = Math.min(positiveInt(o["jobs"], 1, "--jobs"), chunks.length);
  const settings: EvalSettings = {
    dir,
    manifest: man,
    engine,
    ...(o["fast"] !== undefined ? { fast: o["fast"] } : {}),
    threads: Number(o["threads"] ?? 1),
    counters: o["counters"] !== "0" && o["counters"] !== "false",
    check: engine === "fast" && (o["check"] === "1" || o["check"] === "true"),
    ...(o["reference"] !== undefined ? { reference: o["reference"] } : {}),
    // -O window=T: the same weights at another window (sweep.ts).
    ...(o["window"] !== undefined ? { window: parseWindow(o["window"], man.coding) } : {}),
  };
  const labels = req.labels ? labelsOf(req.labels, total).slice(from, to) : undefined;
  const t0 = performance.now();
  const results = await evaluateChunks(settings, data, per, from, chunks, jobs, req.log);
  const seconds = (performance.now() - t0) / 1000;
  const outSize = results[0]!.logits.length / (results[0]!.end - results[0]!.start);
  const logits = new Float32Array(n * outSize);
  const hasRef = results.every((r) => r.ref);
  const ref = hasRef ? new Float32Array(n * outSize) : undefined;
  for (const r of results) {
    logits.set(r.logits, (r.start - from) * outSize);
    if (ref) ref.set(r.ref!, (r.start - from) * outSize);
  }
  const energy = (ENERGY_SETS[o["energy"] ?? man.energy] ?? ENERGY_SETS["horowitz45-fp32"]!).name;
  const counts = emulatorCounts(man, { engine, energy, ...results[0]!.impl }, results, logits, ref, labels);
  const metrics = emulatorMetrics(counts);
  metrics["images_per_second"] = n / seconds;
  metrics["jobs"] = jobs;
  return {
    outputs: { [man.outputs[0]!]: { shape: [n, outSize], dtype: "f32", data: logits } },
    metrics,
    counts,
    ...(shard ? { shard: { ...shard, start: from, end: to } } : {}),
  };
}
