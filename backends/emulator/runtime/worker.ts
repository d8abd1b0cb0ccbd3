/**
 * Worker-thread entry for data-parallel runs: `tscc run --workers N` starts N of these, each loads the
 * artifact's network once and runs its shard of the batch on the event or closed-form engine.
 * Messages in: { dir, engine, input: Float32Array, batch, offset }; out: { outputs, counters } or { error }.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parentPort } from "node:worker_threads";
import type { Network } from "./network.js";
import type { RunOptions, RunResult } from "./types.js";

interface Job {
  readonly dir: string;
  readonly engine: "event" | "fast";
  readonly input: Float32Array;
  readonly batch: number;
  readonly offset: number;
}

interface ArtifactModule {
  load(dir?: string): Network;
  runEvent(net: Network, input: Float32Array, batch: number, opts?: RunOptions): RunResult;
  runClosedForm(net: Network, input: Float32Array, batch: number, opts?: RunOptions): RunResult;
}

let net: Network | undefined;
let mod: ArtifactModule | undefined;

parentPort?.on("message", (job: Job) => {
  void (async () => {
    try {
      mod ??= (await import(pathToFileURL(join(job.dir, "model.js")).href)) as ArtifactModule;
      net ??= mod.load(job.dir);
      const run = job.engine === "event" ? mod.runEvent : mod.runClosedForm;
      const r = run(net, job.input, job.batch, { sampleOffset: job.offset });
      parentPort!.postMessage({ outputs: r.outputs, counters: r.counters });
    } catch (e) {
      parentPort!.postMessage({ error: (e as Error).message });
    }
  })();
});
