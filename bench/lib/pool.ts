/**
 * A pool of worker threads that shard emulator runs over images. The test images live in one
 * SharedArrayBuffer; a network is posted to each worker once per `run` call. Jobs are handed out from a
 * queue (image chunks, in order), so the results are identical whatever the number of workers: every
 * engine is deterministic per sample (the Poisson encoder seeds per global sample index).
 *
 * `workers: 0` runs everything on the main thread (for profiling and debugging).
 */
import { Worker } from "node:worker_threads";
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

function formatSeconds(s: number): string {
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, "0")}m`;
}

interface Pending {
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
}

export class Pool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
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
    const boot = new URL("./worker-boot.mjs", import.meta.url);
    const entry = new URL("./worker.ts", import.meta.url).href;
    for (let i = 0; i < size; i++) {
      const w = new Worker(boot, { workerData: { entry, images: sab, per: ds.per } });
      w.on("message", (m: { id: number; result?: JobResult; error?: string }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve(m.result!);
      });
      w.on("error", (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      this.workers.push(w);
    }
  }

  private post(w: Worker, job: Job): Promise<JobResult> {
    const id = this.nextId++;
    return new Promise<JobResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ kind: "job", id, job });
    });
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
    const results: JobResult[] = [];
    let done = 0;
    const t0 = performance.now();
    const progress = (): void => {
      const el = (performance.now() - t0) / 1000;
      const eta = done > 0 && done < total ? ` (ETA ${formatSeconds((el * (total - done)) / done)})` : "";
      this.log.progress(`${label}${eta}`, done, total);
    };
    progress();
    if (this.size === 0) {
      for (const job of jobs) {
        const r = await runJob(net, job, this.images, this.ds.per);
        results.push(r);
        done += r.end - r.start;
        progress();
      }
    } else {
      for (const w of this.workers) w.postMessage({ kind: "net", key, net });
      let next = 0;
      await Promise.all(
        this.workers.map(async (w) => {
          while (next < jobs.length) {
            const r = await this.post(w, jobs[next++]!);
            results.push(r);
            done += r.end - r.start;
            progress();
          }
        }),
      );
      for (const w of this.workers) w.postMessage({ kind: "drop", key });
    }
    const wallSeconds = (performance.now() - t0) / 1000;
    results.sort((a, b) => a.start - b.start);
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
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
