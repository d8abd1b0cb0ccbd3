/**
 * The ANN reference: the original ONNX model run with onnxruntime-node (independent of tscc). Models
 * trained on normalised inputs carry their mean/std in the ONNX metadata (`tscc.input_mean`,
 * `tscc.input_std`), read here with onnx-proto; the raw [0,1] pixels are normalised before the run.
 */
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import onnxProto from "onnx-proto";

export interface OnnxInfo {
  readonly inputName: string;
  readonly outputName: string;
  readonly mean: number[];
  readonly std: number[];
}

export function onnxInfo(file: string): OnnxInfo {
  const model = onnxProto.onnx.ModelProto.decode(readFileSync(file));
  const meta = new Map((model.metadataProps ?? []).map((p) => [p.key ?? "", p.value ?? ""]));
  const list = (k: string): number[] => (meta.get(k) ?? "").split(",").filter((s) => s.trim() !== "").map(Number);
  const inits = new Set((model.graph?.initializer ?? []).map((t) => t.name));
  const input = (model.graph?.input ?? []).find((i) => !inits.has(i.name ?? ""));
  return { inputName: input?.name ?? "input", outputName: model.graph?.output?.[0]?.name ?? "output", mean: list("tscc.input_mean"), std: list("tscc.input_std") };
}

/** Normalise raw pixels [n, C, ...] per channel as the model expects. */
export function normalizeInput(x: Float32Array, n: number, channels: number, info: OnnxInfo): Float32Array {
  if (!info.mean.length && !info.std.length) return x;
  const per = x.length / n;
  const inner = per / channels;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor((i % per) / inner);
    const mu = info.mean.length ? info.mean[info.mean.length === 1 ? 0 : c]! : 0;
    const sd = info.std.length ? info.std[info.std.length === 1 ? 0 : c]! : 1;
    out[i] = (x[i]! - mu) / sd;
  }
  return out;
}

export async function annSession(file: string, threads = 1): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(file, { graphOptimizationLevel: "all", intraOpNumThreads: threads, interOpNumThreads: 1 });
}

/** Logits [n × classes] of the ONNX model on raw inputs x ([n, ...shape]), in batches. */
export async function annLogits(file: string, x: Float32Array, n: number, shape: readonly number[], batch = 256): Promise<Float32Array> {
  const info = onnxInfo(file);
  const session = await annSession(file, 2);
  const xin = normalizeInput(x, n, shape[0]!, info);
  const per = x.length / n;
  let out: Float32Array | undefined;
  let k = 0;
  for (let s = 0; s < n; s += batch) {
    const b = Math.min(batch, n - s);
    const t = new ort.Tensor("float32", xin.slice(s * per, (s + b) * per), [b, ...shape]);
    const r = await session.run({ [info.inputName]: t });
    const y = r[info.outputName]!.data as Float32Array;
    k = y.length / b;
    out ??= new Float32Array(n * k);
    out.set(y, s * k);
  }
  await session.release();
  return out ?? new Float32Array(0);
}
