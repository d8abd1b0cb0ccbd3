/**
 * `tscc run <emulator artifact>`: load the artifact's own generated module, check the inputs against
 * the manifest, run the event or closed-form engine, and compare with the reference ANN shipped in the
 * artifact (accuracy, top-1 agreement, logit error), with per-inference operation counts and energy.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { builtinOps, fmt, interpret, M, parseModule, readWeights, TsccError } from "../../ir/index.js";
import type { RTensor } from "../../ir/interp/tensor.js";
import type { RunReport, RunRequest } from "../api.js";
import { annToOnnx } from "./ann-onnx.js";
import { runClockArtifact, type ClockManifest, type ClockModule } from "./clock-artifact.js";
import { ARTIFACT_FORMAT, ARTIFACT_VERSION } from "./emit.js";
import { ENERGY_SETS, energyPj } from "./energy.js";
import type { Manifest } from "./manifest.js";
import { closedFormOnnx } from "./onnx-export.js";
import { schedule } from "./runtime/schedule.js";
import { parseWindow, withWindow } from "./sweep.js";
import { sumCounters } from "./runtime/counters.js";
import type { Network } from "./runtime/network.js";
import type { Counters, RunOptions, RunResult } from "./runtime/types.js";
import type { OrtModule, OrtSession } from "./runtime/onnx-engine.js";

interface ArtifactModule {
  load(dir?: string): Network;
  runEvent(net: Network, input: Float32Array | readonly Float32Array[], batch: number, opts?: RunOptions): RunResult;
  runClosedForm(net: Network, input: Float32Array | readonly Float32Array[], batch: number, opts?: RunOptions): RunResult;
  createOrtSession(ort: OrtModule, model: Uint8Array, threads?: number): Promise<OrtSession>;
  runOnnxClosedForm(net: Network, ort: OrtModule, session: OrtSession, input: Float32Array | readonly Float32Array[], batch: number, opts?: { counters?: boolean; recordIntervals?: boolean }): Promise<RunResult>;
  runRateOnnx(net: Network, ort: OrtModule, input: Float32Array | readonly Float32Array[], batch: number, opts?: RunOptions, threads?: number): Promise<RunResult>;
}

/** onnxruntime-node, when installed (an optional dependency of tscc). */
export async function loadOrt(): Promise<OrtModule | undefined> {
  try {
    const mod = (await import("onnxruntime-node")) as unknown as OrtModule & { default?: OrtModule };
    return mod.InferenceSession ? mod : mod.default;
  } catch {
    return undefined;
  }
}

function bad(dir: string, why: string, hint?: string): never {
  throw new TsccError(fmt(M.InputMismatch, [`${dir}: ${why}`], hint ? { hint } : {}));
}

export function readManifest(dir: string): Manifest {
  const file = join(dir, "manifest.json");
  if (!existsSync(file)) throw new TsccError(fmt(M.DataFile, [dir, "no manifest.json: not an emulator artifact"]));
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(file, "utf8")) as Manifest;
  } catch (e) {
    throw new TsccError(fmt(M.DataFile, [file, `corrupt manifest: ${(e as Error).message}`]));
  }
  if (m.format !== ARTIFACT_FORMAT || m.version !== ARTIFACT_VERSION) {
    throw new TsccError(
      fmt(M.DataFile, [dir, `artifact format ${m.format ?? "?"} version ${m.version ?? "?"} (written by tscc ${m.tscc ?? "?"}); this tscc reads ${ARTIFACT_FORMAT} version ${ARTIFACT_VERSION}`], {
        hint: "recompile the model with this tscc",
      }),
    );
  }
  return m;
}

export function artifactInputs(dir: string): string[] {
  return [(readManifest(dir) as Manifest | ClockManifest).input.name];
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

/**
 * The reference ANN on the same inputs (preprocessed as the model expects): with onnxruntime when it is
 * installed (the reference module exported to ONNX), else with tscc's reference interpreter.
 */
export async function referenceLogits(dir: string, man: Manifest, x: Float32Array, batch: number, ort: OrtModule | undefined, log: RunRequest["log"]): Promise<{ logits: Float32Array; by: string } | undefined> {
  const file = join(dir, "reference", "model.tir");
  if (!existsSync(file)) return undefined;
  let wf: ReturnType<typeof readWeights> | undefined;
  const m = parseModule(readFileSync(file, "utf8"), {
    file,
    registry: builtinOps(),
    loadBlob: (ref, type) => (wf ??= readWeights(readFileSync(join(dir, "reference", "weights.bin")), join(dir, "reference", "weights.bin"))).load(ref, type),
  });
  const c = man.input.shape[0] ?? 1;
  const per = x.length / batch;
  const inner = per / c;
  const xin = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const ch = Math.floor((i % per) / inner);
    const mu = man.input.mean[man.input.mean.length === 1 ? 0 : ch] ?? 0;
    const sd = man.input.std[man.input.std.length === 1 ? 0 : ch] ?? 1;
    xin[i] = (x[i]! / man.input.scale - mu) / sd;
  }
  const name = m.inputs[0]!.name;
  const onnxBytes = ort ? annToOnnx(m) : undefined;
  if (ort && onnxBytes) {
    const session = await ort.InferenceSession.create(onnxBytes, {});
    const per = xin.length / batch;
    let out: Float32Array | undefined;
    for (let s = 0; s < batch; s += 256) {
      const n = Math.min(256, batch - s);
      const r = await session.run({ [name]: new ort.Tensor("float32", xin.subarray(s * per, (s + n) * per), [n, ...man.input.shape]) });
      const y = r[man.outputs[0]!]!.data as Float32Array;
      out ??= new Float32Array((y.length / n) * batch);
      out.set(y, s * (y.length / n));
      log.progress("reference ANN", s + n, batch);
    }
    await session.release?.();
    return out ? { logits: out, by: "onnxruntime" } : undefined;
  }
  const out = interpret(m, { [name]: { shape: [batch, ...man.input.shape], dtype: "f32", data: xin } });
  const y = out[man.outputs[0]!]?.data as Float32Array | undefined;
  return y ? { logits: y, by: "interpreter" } : undefined;
}

/**
 * Run the event engine beside the fast one and explain every difference: per sample, the first layer
 * where an interval differs must differ only at floor-boundary ties (the event engine's float64 V/θ within
 * `tol` of an integer), where two correct summation orders (float64 event order vs float32 onnxruntime or
 * float64 im2col) may floor apart; later layers then differ as a consequence. Anything else is a bug.
 */
function checkEngines(net: Network, event: RunResult, fast: RunResult, batch: number, tol: number): Record<string, number> {
  const populations = net.nodes.map((n, i) => ({ n, i })).filter(({ n }) => n.kind === "tsc");
  let compared = 0;
  let mismatched = 0;
  let samplesDiverging = 0;
  let explained = 0;
  let unexplained = 0;
  for (let b = 0; b < batch; b++) {
    let first = true;
    for (const { n, i } of populations) {
      const size = net.values[n.out]!.shape.reduce((a, c) => a * c, 1);
      const de = event.intervals![n.out]!;
      const df = fast.intervals![n.out]!;
      const mem = event.membrane![i]!;
      const theta = (n as { theta: number }).theta;
      let here = 0;
      let ties = 0;
      for (let j = 0; j < size; j++) {
        compared++;
        if (de[b * size + j] === df[b * size + j]) continue;
        here++;
        const u = mem[b * size + j]! / theta;
        if (Math.abs(u - Math.round(u)) <= tol * Math.max(1, Math.abs(u))) ties++;
      }
      mismatched += here;
      if (here > 0 && first) {
        first = false;
        samplesDiverging++;
        if (ties === here) explained++;
        else unexplained++;
      }
    }
  }
  let predictions = 0;
  const k = event.outputs[0]!.length / batch;
  for (let b = 0; b < batch; b++) if (argmax(event.outputs[0]!, b, k) !== argmax(fast.outputs[0]!, b, k)) predictions++;
  return { intervals_compared: compared, intervals_differing: mismatched, samples_diverging: samplesDiverging, samples_explained_by_ties: explained, samples_unexplained: unexplained, prediction_differences: predictions };
}

/** Shards of the batch on worker threads (event engine or JavaScript closed form). */
async function runOnWorkers(dir: string, engine: "event" | "fast", data: Float32Array, batch: number, workers: number, outSize: number, log: RunRequest["log"]): Promise<{ logits: Float32Array; counters: Counters[] }> {
  const per = data.length / batch;
  const shard = Math.ceil(batch / workers);
  const logits = new Float32Array(batch * outSize);
  const counters: Counters[] = [];
  let done = 0;
  const pool = Array.from({ length: Math.min(workers, batch) }, () => new Worker(join(dir, "runtime", "worker.js")));
  try {
    await Promise.all(
      pool.map(async (w, k) => {
        const start = k * shard;
        const n = Math.min(shard, batch - start);
        if (n <= 0) return;
        // Small chunks per message keep progress visible and memory bounded.
        const chunk = 64;
        for (let s = start; s < start + n; s += chunk) {
          const m = Math.min(chunk, start + n - s);
          const input = data.slice(s * per, (s + m) * per);
          const r = await new Promise<{ outputs?: Float32Array[]; counters?: Counters; error?: string }>((resolve) => {
            w.once("message", resolve);
            w.postMessage({ dir, engine, input, batch: m, offset: s }, [input.buffer]);
          });
          if (r.error) throw new TsccError(fmt(M.DataFile, [dir, `worker failed: ${r.error}`]));
          logits.set(r.outputs![0]!, s * outSize);
          counters.push(r.counters!);
          done += m;
          log.progress(`${engine} engine (${pool.length} workers)`, done, batch);
        }
      }),
    );
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return { logits, counters };
}

/** Operation counts per inference, energy, and the per-layer breakdown, for the run report. */
export function counterMetrics(counters: Counters, batch: number, energy: string): Record<string, unknown> {
  const perInf = (x: number): number => x / batch;
  const metrics: Record<string, unknown> = {
    spikes_per_neuron_max: counters.spikes_per_neuron_max,
    spikes_per_neuron_mean: counters.spikes_per_neuron_mean,
    synaptic_additions_per_inference: perInf(counters.synaptic_additions),
    memory_reads_per_inference: perInf(counters.memory_reads),
    neuron_updates_per_inference: perInf(counters.neuron_updates),
    spikes_per_inference: perInf(counters.spikes),
  };
  if (counters.input_macs) metrics["input_macs_per_inference"] = perInf(counters.input_macs);
  const params = ENERGY_SETS[energy] ?? ENERGY_SETS["horowitz45-fp32"]!;
  const e = energyPj({ synaptic_additions: counters.synaptic_additions, memory_reads: counters.memory_reads, neuron_updates: counters.neuron_updates, input_macs: counters.input_macs }, params);
  metrics["energy_per_inference_pj"] = e.total / batch;
  metrics["energy_params"] = params.name;
  metrics["layers"] = counters.layers.map((l) => ({
    ...l,
    synaptic_additions: perInf(l.synaptic_additions),
    memory_reads: perInf(l.memory_reads),
    neuron_updates: perInf(l.neuron_updates),
    spikes: perInf(l.spikes),
    input_macs: perInf(l.input_macs),
    relayed_spikes: perInf(l.relayed_spikes),
  }));
  return metrics;
}

/** `tscc run` on a clock artifact (a NIR graph): outputs, counts, and accuracy against labels. */
async function runNirArtifact(dir: string, man: ClockManifest, req: RunRequest): Promise<RunReport> {
  const mod = (await import(pathToFileURL(join(dir, "model.js")).href)) as ClockModule;
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
  const any = readManifest(dir) as Manifest | ClockManifest;
  if (any.coding === "nir") return runNirArtifact(dir, any, req);
  const man = any;
  const given = req.inputs[man.input.name] ?? (Object.keys(req.inputs).length === 1 ? Object.values(req.inputs)[0] : undefined);
  if (!given) bad(dir, `no input named '${man.input.name}'`);
  const { data, batch } = checkInput(dir, man, given);
  const engine = req.options["engine"] ?? (man.coding === "tsc" ? "fast" : "event");
  if (engine !== "event" && engine !== "fast") throw new TsccError(fmt(M.Usage, [`--engine must be event or fast, got '${engine}'`]));
  if (engine === "fast" && man.coding !== "tsc" && !(await loadOrt())) {
    throw new TsccError(fmt(M.Usage, ["the fast engine for rate coding needs onnxruntime-node (the closed form exists for TSC only); use --engine event"]));
  }
  const chunk = Math.max(1, Number(req.options["batch"] ?? 64));
  const mod = (await import(pathToFileURL(join(dir, "model.js")).href)) as ArtifactModule;
  let net: Network;
  try {
    net = mod.load(dir);
  } catch (e) {
    throw new TsccError(fmt(M.DataFile, [dir, (e as Error).message]));
  }
  // -O window=T: the same weights at another window (sweep.ts); the closed-form ONNX is rebuilt for it.
  const override = req.options["window"] !== undefined ? parseWindow(req.options["window"], man.coding) : undefined;
  if (override !== undefined) net = withWindow(net, override);
  const per = data.length / batch;
  const outSize = net.values[net.outputs[0]!.value]!.shape.reduce((a, b) => a * b, 1);
  const logits = new Float32Array(batch * outSize);
  const parts: Counters[] = [];
  let ties = 0;
  // The fast engine runs closed-form.onnx in onnxruntime when it is installed (-O fast=js forces the
  // float64 JavaScript closed form, which also counts floor-boundary ties).
  let session: OrtSession | undefined;
  let ort: OrtModule | undefined;
  const onnxFile = join(dir, "closed-form.onnx");
  if (engine === "fast" && req.options["fast"] !== "js" && existsSync(onnxFile)) {
    ort = await loadOrt();
    if (ort) session = await mod.createOrtSession(ort, override !== undefined ? closedFormOnnx(net) : readFileSync(onnxFile), Number(req.options["threads"] ?? 0));
    else if (req.options["fast"] === "ort") throw new TsccError(fmt(M.Usage, ["-O fast=ort needs the onnxruntime-node package, which is not installed"]));
  }
  if (engine === "fast" && man.coding === "rate") ort = await loadOrt();
  const fastImpl = engine === "fast" ? (session || man.coding === "rate" ? "onnxruntime" : "js") : undefined;
  const check = engine === "fast" && (req.options["check"] === "1" || req.options["check"] === "true");
  const checks: Record<string, number>[] = [];
  const workers = Math.max(1, Number(req.options["workers"] ?? 1));
  // Workers load the artifact's own network: an overridden window runs in this thread.
  const useWorkers = workers > 1 && !session && !check && override === undefined;
  const t0 = performance.now();
  if (useWorkers) {
    const r = await runOnWorkers(dir, engine, data, batch, workers, outSize, req.log);
    logits.set(r.logits);
    parts.push(...r.counters);
  }
  for (let s = 0; s < (useWorkers ? 0 : batch); s += chunk) {
    const n = Math.min(chunk, batch - s);
    const xs = data.subarray(s * per, (s + n) * per);
    const r =
      engine === "event"
        ? mod.runEvent(net, xs, n, { sampleOffset: s })
        : man.coding === "rate"
          ? await mod.runRateOnnx(net, ort!, xs, n, { sampleOffset: s }, Number(req.options["threads"] ?? 0))
          : session && ort
          ? await mod.runOnnxClosedForm(net, ort, session, xs, n, { counters: req.options["counters"] !== "0" && req.options["counters"] !== "false", recordIntervals: check })
          : mod.runClosedForm(net, xs, n, { sampleOffset: s, recordIntervals: check });
    if (check) {
      const ev = mod.runEvent(net, xs, n, { sampleOffset: s, recordIntervals: true, recordMembrane: true });
      checks.push(checkEngines(net, ev, r, n, session ? 1e-4 : 1e-9));
    }
    logits.set(r.outputs[0]!, s * outSize);
    parts.push(r.counters);
    ties += (r.ties ?? []).reduce((a, b) => a + b, 0);
    req.log.progress(`${engine} engine`, s + n, batch);
  }
  const seconds = (performance.now() - t0) / 1000;
  const counters = sumCounters(parts);
  const metrics: Record<string, unknown> = {
    coding: man.coding,
    engine,
    samples: batch,
    window: net.window,
    spiking_layers: man.spiking_layers,
    latency_steps: override !== undefined ? schedule(net).latency : man.latency_steps,
  };
  const refRun = await referenceLogits(dir, man, data, batch, req.options["reference"] === "interpreter" ? undefined : (ort ?? (await loadOrt())), req.log);
  const ref = refRun?.logits;
  if (refRun) metrics["reference"] = refRun.by;
  const labels = req.labels ? labelsOf(req.labels, batch) : undefined;
  const { correct, refCorrect: annCorrect, agree, errMax } = compareLogits(logits, ref, labels, batch, outSize);
  if (labels) metrics["accuracy"] = correct / batch;
  if (ref) {
    if (labels) metrics["ann_accuracy"] = annCorrect / batch;
    metrics["agreement"] = agree / batch;
    metrics["logit_error_max"] = errMax;
  }
  Object.assign(metrics, counterMetrics(counters, batch, req.options["energy"] ?? man.energy));
  metrics["images_per_second"] = batch / seconds;
  if (fastImpl === "js") metrics["floor_boundary_ties"] = ties;
  if (fastImpl) metrics["fast_engine"] = fastImpl;
  if (useWorkers) metrics["workers"] = workers;
  if (checks.length) {
    const sum: Record<string, number> = {};
    for (const c of checks) for (const [k, v] of Object.entries(c)) sum[k] = (sum[k] ?? 0) + v;
    metrics["engine_check"] = sum;
  }
  return { outputs: { [man.outputs[0]!]: { shape: [batch, outSize], dtype: "f32", data: logits } }, metrics };
}
