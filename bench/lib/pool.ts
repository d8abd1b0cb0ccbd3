/**
 * The benchmarks' emulator runs over image chunks, on the worker pool of `tscc run --jobs`
 * (backends/emulator/pool.ts). The test images live in one SharedArrayBuffer; a network is posted to
 * each worker once per `run` call. Jobs are image chunks in order, so the results are identical whatever
 * the number of workers: every engine is deterministic per sample (the Poisson encoder seeds per global
 * sample index).
 *
 * `workers: 0` runs everything on the main thread (for profiling and debugging).
 */
import { WorkerPool } from "../../backends/emulator/pool.js";
import { sumCounters } from "../../backends/emulator/runtime/counters.js";
import type { Counters } from "../../backends/emulator/runtime/index.js";
import type { Network } from "../../backends/emulator/runtime/network.js";
import type { Logger } from "../../ir/index.js";
import type { Dataset } from "./fashion-mnist.js";
import { runJob, type Engine, type Job, type JobResult } from "./jobs.js";

export interface RunSpec {
  readonly engine: Engine;
  /** Images [start, end) of the pool's data set. */
  readonly start: number;
  readonly end: number;
  /** Images per job. */
  readonly chunk: number;
  readonly checkpoints?: readonly number[];
  /** Progress label (TTY only). */
  readonly label?: string;
}

export interface Aggregate {
  readonly n: number;
  readonly logits: Float32Array;
  readonly counters: Counters;
  readonly latency: number;
  readonly checkpoints?: { step: number; logits: Float32Array; counters: Counters }[];
  /** Wall-clock seconds of the whole run. */
  readonly wallSeconds: number;
  /** Sum of the jobs' engine seconds (CPU time on the workers). */
  readonly engineSeconds: number;
}

export class Pool {
  private readonly workers: WorkerPool<Job, JobResult> | undefined;
  private nextNet = 0;
  private readonly images: Float32Array;

  constructor(
    readonly ds: Dataset,
    readonly size: number,
    private readonly log: Logger,
  ) {
    const sab = new SharedArrayBuffer(ds.images.byteLength);
    this.images = new Float32Array(sab);
    this.images.set(ds.images);
    if (size > 0) this.workers = new WorkerPool(new URL("./worker.ts", import.meta.url), size, { images: sab, per: ds.per });
  }

  /** Run `net` over images [spec.start, spec.end) in chunks, on all workers. */
  async run(net: Network, spec: RunSpec): Promise<Aggregate> {
    const jobs: Job[] = [];
    const key = `net${this.nextNet++}`;
    for (let s = spec.start; s < spec.end; s += spec.chunk) {
      jobs.push({ net: key, engine: spec.engine, start: s, end: Math.min(spec.end, s + spec.chunk), ...(spec.checkpoints ? { checkpoints: spec.checkpoints } : {}) });
    }
    const total = spec.end - spec.start;
    const label = spec.label ?? spec.engine;
    let results: JobResult[] = [];
    let done = 0;
    const t0 = performance.now();
    const progress = (r?: JobResult): void => this.log.progress(label, (done += r ? r.end - r.start : 0), total);
    progress();
    if (!this.workers) {
      for (const job of jobs) {
        const r = await runJob(net, job, this.images, this.ds.per);
        results.push(r);
        progress(r);
      }
    } else {
      this.workers.broadcast({ kind: "net", key, net });
      results = await this.workers.map(jobs, progress);
      this.workers.broadcast({ kind: "drop", key });
    }
    const wallSeconds = (performance.now() - t0) / 1000;
    const k = results[0]!.logits.length / (results[0]!.end - results[0]!.start);
    const concat = (parts: Float32Array[]): Float32Array => {
      const out = new Float32Array(total * k);
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.length;
      }
      return out;
    };
    const cps = results[0]!.checkpoints?.map((c, i) => ({
      step: c.step,
      logits: concat(results.map((r) => r.checkpoints![i]!.logits)),
      counters: sumCounters(results.map((r) => r.checkpoints![i]!.counters)),
    }));
    return {
      n: total,
      logits: concat(results.map((r) => r.logits)),
      counters: sumCounters(results.map((r) => r.counters)),
      latency: results[0]!.latency,
      ...(cps ? { checkpoints: cps } : {}),
      wallSeconds,
      engineSeconds: results.reduce((s, r) => s + r.seconds, 0),
    };
  }

  async close(): Promise<void> {
    await this.workers?.close();
  }
}
