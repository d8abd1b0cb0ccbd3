/**
 * A pool of worker threads for data-parallel emulator runs (`tscc run --jobs N`, the benchmarks). Jobs
 * are handed out from a queue in order and the results come back in job order, so as long as each job
 * is deterministic on its own the outcome is the same whatever the number of workers.
 *
 * A worker is a module that calls `serveJobs` (its data: `workerInput()`). From TypeScript sources
 * (tests, `tsx bench/…`) workers start through worker-boot.mjs, which registers tsx in the thread.
 */
import { parentPort, Worker, workerData } from "node:worker_threads";
import { isTsccError, TsccError, type Diagnostic } from "../../ir/index.js";

interface Reply {
  readonly id: number;
  readonly result?: unknown;
  readonly error?: string;
  /** A user error (TsccError) in the worker: rethrown as such in the main thread. */
  readonly diagnostics?: readonly Diagnostic[];
}

type Message = { kind: "job"; id: number; job: unknown } | { kind: "broadcast"; msg: unknown };

interface Pending {
  resolve: (r: unknown) => void;
  reject: (e: Error) => void;
}

export class WorkerPool<J, R> {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | undefined;
  private closing = false;

  /** `size` workers running `entry` (a module URL), each given `data` (structured-cloned; SharedArrayBuffers are shared). */
  constructor(entry: URL, readonly size: number, data: unknown) {
    const script = entry.pathname.endsWith(".ts") ? new URL("./worker-boot.mjs", import.meta.url) : entry;
    for (let i = 0; i < size; i++) {
      const w = new Worker(script, { workerData: { entry: entry.href, data } });
      w.on("message", (m: Reply) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.diagnostics) p.reject(new TsccError([...m.diagnostics]));
        else if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve(m.result);
      });
      w.on("error", (e) => this.fail(e));
      w.on("exit", (code) => {
        if (!this.closing) this.fail(new Error(`a worker thread exited (code ${code})`));
      });
      this.workers.push(w);
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Send `msg` to every worker (delivered before any job posted after it). */
  broadcast(msg: unknown): void {
    for (const w of this.workers) w.postMessage({ kind: "broadcast", msg } satisfies Message);
  }

  private post(w: Worker, job: J): Promise<R> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
      w.postMessage({ kind: "job", id, job } satisfies Message);
    });
  }

  /** Run every job; results in job order. `done` sees each result as it arrives. The first failure stops the queue. */
  async map(jobs: readonly J[], done?: (r: R, index: number) => void): Promise<R[]> {
    const results = new Array<R>(jobs.length);
    let next = 0;
    let stopped = false;
    await Promise.all(
      this.workers.map(async (w) => {
        while (next < jobs.length && !stopped) {
          const i = next++;
          try {
            results[i] = await this.post(w, jobs[i]!);
          } catch (e) {
            stopped = true;
            throw e;
          }
          done?.(results[i]!, i);
        }
      }),
    );
    return results;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** In a pool worker: the `data` the pool was created with. */
export function workerInput<T>(): T {
  return (workerData as { data: T }).data;
}

/** In a pool worker: answer jobs with `run` (one at a time, in order); broadcasts go to `onBroadcast`. */
export function serveJobs<J, R>(run: (job: J) => R | Promise<R>, onBroadcast?: (msg: unknown) => void): void {
  parentPort!.on("message", async (m: Message) => {
    if (m.kind === "broadcast") {
      onBroadcast?.(m.msg);
      return;
    }
    let reply: Reply;
    try {
      reply = { id: m.id, result: await run(m.job as J) };
    } catch (e) {
      reply = isTsccError(e) ? { id: m.id, diagnostics: e.diagnostics } : { id: m.id, error: (e as Error)?.stack ?? String(e) };
    }
    parentPort!.postMessage(reply);
  });
}
