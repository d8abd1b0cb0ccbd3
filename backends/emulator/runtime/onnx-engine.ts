/**
 * The fast engine on onnxruntime: the artifact's closed-form.onnx (tsc.md §8.4 as an ONNX graph, written
 * by tscc at compile time) runs in onnxruntime at ANN speed; the intervals it returns give the operation
 * counts with the event engine's rules (the same analytic counting as closed-form.ts).
 *
 * onnxruntime is not bundled: the caller passes the `onnxruntime-node` module (tscc run passes its own).
 * Arithmetic inside onnxruntime is float32; a pre-activation within rounding of an integer can floor
 * differently from the float64 engines (a floor-boundary tie).
 */
import { Tally } from "./counters.js";
import { planOf, splitInputs, type NeuronPlan } from "./plan.js";
import type { Network } from "./network.js";
import type { RunResult } from "./types.js";

/** The subset of onnxruntime-node's API this engine uses. */
export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: "float32", data: Float32Array, dims: readonly number[]) => unknown;
}

export interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown; dims: readonly number[] }>>;
  release?(): Promise<void>;
}

export async function createOrtSession(ort: OrtModule, model: Uint8Array, threads = 0): Promise<OrtSession> {
  return ort.InferenceSession.create(model, { intraOpNumThreads: threads, graphOptimizationLevel: "all" });
}

export interface OnnxRunOptions {
  /** Compute the operation counts in the graph (default true); false fetches the logits only. */
  readonly counters?: boolean;
  /** Also return every spikes value's intervals (for comparing engines), or those of the listed values only. */
  readonly recordIntervals?: boolean | readonly number[];
}

export async function runOnnxClosedForm(net: Network, ort: OrtModule, session: OrtSession, input: Float32Array | readonly Float32Array[], batch: number, opts: OnnxRunOptions = {}): Promise<RunResult> {
  const plan = planOf(net);
  const inputs = splitInputs(plan, input, batch);
  const feeds: Record<string, unknown> = {};
  net.inputs.forEach((io, k) => {
    const enc = plan.nodes[plan.encoders[k]!]! as { inSize: number };
    const shape = net.values[io.value]!.shape;
    const node = net.nodes[plan.encoders[k]!]! as { pads: readonly number[] };
    const p = node.pads.length ? node.pads : [0, 0, 0, 0];
    const dims = shape.length === 3 ? [batch, shape[0]!, shape[1]! - p[0]! - p[2]!, shape[2]! - p[1]! - p[3]!] : [batch, enc.inSize];
    feeds[io.name] = new ort.Tensor("float32", inputs[k]!, dims);
  });
  const counting = opts.counters !== false;
  const fetches = net.outputs.map((o) => o.name);
  const populations = net.nodes.map((n, i) => ({ n, i })).filter(({ n }) => n.kind === "encode" || n.kind === "tsc" || n.kind === "maxpool");
  const synapses = net.nodes.map((n, i) => ({ n, i })).filter(({ n }) => n.kind === "conv" || n.kind === "dense" || n.kind === "scale");
  if (counting) {
    for (const { n } of populations) fetches.push(`active.${n.out}`);
    for (const { n } of populations) if (n.kind === "tsc") fetches.push(`dsum.${n.out}`);
    for (const { i } of synapses) fetches.push(`syn.${i}`);
  }
  const only = Array.isArray(opts.recordIntervals) ? new Set<number>(opts.recordIntervals) : undefined;
  const recorded = opts.recordIntervals ? net.nodes.filter((n) => (n.kind === "encode" || n.kind === "tsc" || n.kind === "maxpool" || n.kind === "concat") && (!only || only.has(n.out))).map((n) => n.out) : [];
  for (const v of recorded) fetches.push(`d${v}`);
  const res = await (session.run as (f: Record<string, unknown>, fetches: string[]) => ReturnType<OrtSession["run"]>)(feeds, fetches);
  const num = (name: string): number => Number((res[name]!.data as ArrayLike<number>)[0]);
  const tally = new Tally(net.nodes.length);
  if (counting) {
    for (const { n, i } of populations) {
      const a = num(`active.${n.out}`);
      if (n.kind === "maxpool") tally.relayed[i]! += 2 * a;
      else {
        tally.spikes[i]! += 2 * a;
        if (a > 0) tally.maxPerNeuron = 2;
      }
      if (n.kind === "tsc") tally.neuron[i]! += num(`dsum.${n.out}`);
    }
    for (const { i } of synapses) tally.syn[i]! += num(`syn.${i}`);
    net.nodes.forEach((n, i) => {
      const p = plan.nodes[i]!;
      if (p.kind === "tsc" || p.kind === "decode") tally.neuron[i]! += batch * plan.sizes[n.out]! * (1 + (p as NeuronPlan).integrationSteps);
    });
  }
  const spiking = net.nodes.map((n) => (n.kind === "encode" || n.kind === "tsc" ? plan.sizes[n.out]! : 0));
  const outputs = net.outputs.map((o) => Float32Array.from(res[o.name]!.data as Float32Array));
  const intervals = opts.recordIntervals ? net.values.map((v, id) => (recorded.includes(id) ? Uint16Array.from(res[`d${id}`]!.data as Float32Array) : null)) : undefined;
  if (intervals) net.nodes.forEach((n) => n.kind === "reshape" && (intervals[n.out] = intervals[n.in] ?? null));
  return { outputs, counters: tally.freeze(net, batch, spiking), latency: plan.sched.latency, ...(intervals ? { intervals } : {}) };
}
