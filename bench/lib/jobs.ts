/**
 * One unit of work for a worker (or the main thread): run an emulator network on images [start, end) of
 * the shared test set with one engine, and return logits, counters and wall time.
 */
import { closedFormOnnx } from "../../backends/emulator/onnx-export.js";
import { createOrtSession, runClosedForm, runEvent, runOnnxClosedForm, runRateOnnx, type Counters, type OrtModule, type OrtSession, type RunResult } from "../../backends/emulator/runtime/index.js";
import type { Network } from "../../backends/emulator/runtime/network.js";
import { loadOrt } from "../../backends/emulator/evaluate.js";

/**
 * closed: TSC closed form (JavaScript, float64); closed-onnx: the fast engine (closed-form.onnx on
 * onnxruntime, float32, counts in the graph); event: the reference event engine; rate-onnx: the
 * rate-coded network with its synapses on onnxruntime. onnxruntime runs one intra-op thread per worker.
 */
export type Engine = "closed" | "closed-onnx" | "event" | "rate-onnx";

const closedSessions = new WeakMap<Network, Promise<OrtSession>>();

let ort: Promise<OrtModule | undefined> | undefined;
/** onnxruntime-node as `tscc run` loads it; the onnxruntime engines need it installed. */
async function needOrt(): Promise<OrtModule> {
  const mod = await (ort ??= loadOrt());
  if (!mod) throw new Error("the onnxruntime engines need onnxruntime-node (npm ci installs it)");
  return mod;
}

export interface Job {
  /** Key of the network (networks are sent to a worker once and cached there). */
  readonly net: string;
  readonly engine: Engine;
  readonly start: number;
  readonly end: number;
  /** Rate coding: checkpoint steps. */
  readonly checkpoints?: readonly number[];
}

export interface JobResult {
  readonly start: number;
  readonly end: number;
  readonly logits: Float32Array;
  readonly counters: Counters;
  readonly latency: number;
  readonly checkpoints?: { step: number; logits: Float32Array; counters: Counters }[];
  readonly seconds: number;
}

/** Run `job` on `net`; `images` holds the whole data set ([N × per]). */
export async function runJob(net: Network, job: Job, images: Float32Array, per: number): Promise<JobResult> {
  const n = job.end - job.start;
  const x = images.subarray(job.start * per, job.end * per);
  const t0 = performance.now();
  const opts = { sampleOffset: job.start, ...(job.checkpoints?.length ? { checkpoints: job.checkpoints } : {}) };
  let r: RunResult;
  if (job.engine === "closed") r = runClosedForm(net, x, n, opts);
  else if (job.engine === "event") r = runEvent(net, x, n, opts);
  else if (job.engine === "closed-onnx") {
    const ort = await needOrt();
    let session = closedSessions.get(net);
    if (!session) closedSessions.set(net, (session = createOrtSession(ort, closedFormOnnx(net), 1)));
    // onnxruntime rejects tensors over a SharedArrayBuffer: hand it a copy of the images.
    r = await runOnnxClosedForm(net, ort, await session, x.slice(), n);
  }
  else r = await runRateOnnx(net, await needOrt(), x, n, opts, 1);
  const seconds = (performance.now() - t0) / 1000;
  return {
    start: job.start,
    end: job.end,
    logits: r.outputs[0]!,
    counters: r.counters,
    latency: r.latency,
    ...(r.checkpoints ? { checkpoints: r.checkpoints.map((c) => ({ step: c.step, logits: c.outputs[0]!, counters: c.counters })) } : {}),
    seconds,
  };
}
