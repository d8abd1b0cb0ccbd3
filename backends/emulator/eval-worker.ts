/**
 * Worker thread of `tscc run --jobs N` on an emulator artifact: opens the artifact once (evaluate.ts) and
 * evaluates the chunks it is sent. The samples live in one SharedArrayBuffer that every worker reads.
 */
import { Evaluator, type ChunkResult, type EvalSettings } from "./evaluate.js";
import { serveJobs, workerInput } from "./pool.js";

export interface EvalWorkerData {
  readonly settings: EvalSettings;
  /** Samples [base, base + n) of the data set, [n × per] float32. */
  readonly samples: SharedArrayBuffer;
  readonly base: number;
  readonly per: number;
}

const { settings, samples, base, per } = workerInput<EvalWorkerData>();
const x = new Float32Array(samples);
let evaluator: Promise<Evaluator> | undefined;

serveJobs(async (job: { start: number; end: number }): Promise<ChunkResult> => {
  const ev = await (evaluator ??= Evaluator.open(settings));
  // A copy: onnxruntime does not take tensors over a SharedArrayBuffer.
  return ev.run(x.slice((job.start - base) * per, (job.end - base) * per), job.start, job.end);
});
