/**
 * One input spike by spike, for the report's raster, spike-time histogram and membrane traces: the event
 * engine of tscc's runtime on the artifact's network (the float TSC network for a Loihi artifact).
 *
 * TSC: spike times of every neuron (recordSpikeTimes); the raster shows every k-th neuron of a layer, the
 * histogram counts all of them; membrane traces (recordTrace) follow the neuron with the largest interval,
 * one with the median non-zero interval and the silent neuron whose V ended closest to θ, per layer, and
 * the three largest outputs. Rate: recordTrace of every k-th neuron (at most TRACE_MAX per layer) gives
 * the raster and histogram of those neurons, and the traces of the most, median and least active.
 */
import { argmax } from "../../backends/emulator/run.js";
import { runEvent } from "../../backends/emulator/runtime/event.js";
import type { Network } from "../../backends/emulator/runtime/network.js";
import { planOf } from "../../backends/emulator/runtime/plan.js";
import type { Trace, TraceRequest } from "../../backends/emulator/runtime/types.js";

/** Raster rows per layer (at most). */
export const RASTER_ROWS = 96;
/** Rate rasters: at most about this many spikes drawn per layer (fewer rows for busy layers). */
export const RASTER_SPIKES = 1500;
/** Rate: neurons traced per layer (raster rows and histogram). */
export const TRACE_MAX = 512;

export interface RasterLayer {
  readonly node: number;
  readonly name: string;
  readonly kind: string;
  readonly neurons: number;
  /** Every `stride`-th neuron is drawn (canonical order), `rows` of them. */
  readonly stride: number;
  readonly rows: number;
  /** Neurons counted in the histogram (TSC: all; rate: the traced ones). */
  readonly counted: number;
  /** The layer's firing window: first step and steps (TSC; per-layer windows may differ), or 1 and T (rate). */
  readonly windowStart: number;
  readonly windowSteps: number;
  readonly events: readonly { readonly row: number; readonly neuron: number; readonly t: number; readonly kind: "ON" | "OFF" | "spike" }[];
  /** TSC: the switch-ON span of each drawn neuron, [on, off). */
  readonly spans: readonly { readonly row: number; readonly on: number; readonly off: number }[];
  /** Spikes per step within the window: k = t − windowStart (TSC) or step (rate). */
  readonly histogram: readonly { readonly k: number; readonly kind: "ON" | "OFF" | "spike"; readonly count: number }[];
}

export interface TraceLine {
  readonly node: number;
  readonly layer: string;
  readonly neuron: number;
  /** Why it was picked, e.g. "largest d = 31". */
  readonly why: string;
  readonly theta: number | null;
  readonly points: readonly { readonly t: number; readonly v: number }[];
  readonly spikes: readonly { readonly t: number; readonly v: number; readonly kind: "ON" | "OFF" | "spike" }[];
}

export interface SampleView {
  readonly index: number;
  readonly label: number | undefined;
  readonly prediction: number;
  readonly coding: "tsc" | "rate";
  readonly T: number;
  readonly latency: number;
  readonly rasters: readonly RasterLayer[];
  readonly traces: readonly TraceLine[];
}

function strideFor(n: number, rows: number): number {
  return Math.max(1, Math.ceil(n / rows));
}

function traceLines(net: Network, traces: readonly Trace[], why: ReadonlyMap<string, string>): TraceLine[] {
  const out: TraceLine[] = [];
  for (const tr of traces) {
    const n = net.nodes[tr.node]!;
    const len = tr.steps + 1;
    tr.neurons.forEach((j, q) => {
      const w = why.get(`${tr.node}:${j}`);
      if (w === undefined) return;
      const points: { t: number; v: number }[] = [];
      const spikes: { t: number; v: number; kind: "ON" | "OFF" | "spike" }[] = [];
      for (let t = 0; t < len; t++) {
        const v = tr.v[q * len + t]!;
        if (Number.isNaN(v)) continue;
        // Drawn as steps (V holds until the next point): a point only where V changes, and the last.
        if (points.length === 0 || v !== points[points.length - 1]!.v || t === len - 1) points.push({ t, v });
        const s = tr.spikes[q * len + t]!;
        if (s) spikes.push({ t, v, kind: net.coding === "rate" ? "spike" : s === 1 ? "ON" : "OFF" });
      }
      out.push({ node: tr.node, layer: net.values[n.out]!.name, neuron: j, why: w, theta: n.kind === "tsc" || n.kind === "if" ? n.theta : null, points, spikes });
    });
  }
  return out;
}

/** Up to three outputs with the largest logits. */
function topOutputs(logits: Float32Array, k = 3): number[] {
  return [...logits.keys()].sort((a, b) => logits[b]! - logits[a]! || a - b).slice(0, k);
}

function tscSample(net: Network, x: Float32Array, index: number, label: number | undefined): SampleView {
  const plan = planOf(net);
  const T = net.window;
  const r = runEvent(net, x, 1, { recordSpikeTimes: true, recordIntervals: true, recordMembrane: true });
  const rasters: RasterLayer[] = [];
  const requests: TraceRequest[] = [];
  const why = new Map<string, string>();
  net.nodes.forEach((n, i) => {
    if (n.kind !== "encode" && n.kind !== "tsc") return;
    const st = r.spikeTimes![n.out]!;
    const size = plan.sizes[n.out]!;
    const win = plan.sched.spikeWindow[n.out]!;
    const s = win.start;
    const stride = strideFor(size, RASTER_ROWS);
    const events: { row: number; neuron: number; t: number; kind: "ON" | "OFF" }[] = [];
    const spans: { row: number; on: number; off: number }[] = [];
    for (let j = 0, row = 0; j < size; j += stride, row++) {
      if (st.on[j]! < 0) continue;
      events.push({ row, neuron: j, t: st.on[j]!, kind: "ON" }, { row, neuron: j, t: st.off[j]!, kind: "OFF" });
      spans.push({ row, on: st.on[j]!, off: st.off[j]! });
    }
    const on = new Float64Array(win.steps + 1);
    const off = new Float64Array(win.steps + 1);
    for (let j = 0; j < size; j++) {
      if (st.on[j]! < 0) continue;
      on[st.on[j]! - s]!++;
      off[st.off[j]! - s]!++;
    }
    const histogram: RasterLayer["histogram"] = [
      ...[...on].flatMap((c, k) => (c ? [{ k, kind: "ON" as const, count: c }] : [])),
      ...[...off].flatMap((c, k) => (c ? [{ k, kind: "OFF" as const, count: c }] : [])),
    ];
    rasters.push({ node: i, name: net.values[n.out]!.name, kind: n.kind, neurons: size, stride, rows: Math.ceil(size / stride), counted: size, windowStart: s, windowSteps: win.steps, events, spans, histogram });
    if (n.kind !== "tsc") return;
    // Traces: largest interval, median non-zero interval, the silent neuron closest to θ.
    const d = r.intervals![n.out]!;
    const mem = r.membrane![i]!;
    const active = [...d.keys()].filter((j) => d[j]! > 0).sort((a, b) => d[b]! - d[a]! || a - b);
    const picks = new Map<number, string>();
    if (active.length) picks.set(active[0]!, `largest d = ${d[active[0]!]}`);
    if (active.length > 2) {
      const m = active[Math.floor(active.length / 2)]!;
      if (!picks.has(m)) picks.set(m, `median d = ${d[m]}`);
    }
    let silent = -1;
    for (let j = 0; j < size; j++) if (d[j] === 0 && (silent < 0 || mem[j]! > mem[silent]!)) silent = j;
    if (silent >= 0) picks.set(silent, "silent, V closest to θ");
    requests.push({ node: i, neurons: [...picks.keys()].sort((a, b) => a - b) });
    for (const [j, w] of picks) why.set(`${i}:${j}`, w);
  });
  const outNode = plan.outputNodes[0]!;
  const logits = r.outputs[0]!;
  const top = topOutputs(logits);
  requests.push({ node: outNode, neurons: [...top].sort((a, b) => a - b) });
  top.forEach((j, k) => why.set(`${outNode}:${j}`, k === 0 ? "largest output (prediction)" : `${k === 1 ? "2nd" : "3rd"} largest output`));
  const tr = runEvent(net, x, 1, { recordTrace: requests });
  return { index, label, prediction: argmax(logits, 0, logits.length), coding: "tsc", T, latency: r.latency, rasters, traces: traceLines(net, tr.traces!, why) };
}

function rateSample(net: Network, x: Float32Array, index: number, label: number | undefined): SampleView {
  const plan = planOf(net);
  const T = net.window;
  const requests: TraceRequest[] = [];
  const strides = new Map<number, number>();
  net.nodes.forEach((n, i) => {
    if (n.kind !== "if") return;
    const size = plan.sizes[n.out]!;
    const stride = strideFor(size, TRACE_MAX);
    strides.set(i, stride);
    requests.push({ node: i, neurons: Array.from({ length: Math.ceil(size / stride) }, (_, k) => k * stride) });
  });
  const outNode = plan.outputNodes[0]!;
  const outSize = plan.sizes[net.nodes[outNode]!.out]!;
  requests.push({ node: outNode, neurons: Array.from({ length: outSize }, (_, j) => j) });
  const r = runEvent(net, x, 1, { recordTrace: requests });
  const logits = r.outputs[0]!;
  const rasters: RasterLayer[] = [];
  const why = new Map<string, string>();
  for (const tr of r.traces!) {
    const n = net.nodes[tr.node]!;
    const len = tr.steps + 1;
    if (n.kind === "if") {
      const size = plan.sizes[n.out]!;
      const traced = tr.neurons.length;
      const bins = new Float64Array(T + 1);
      const counts = tr.neurons.map((_, q) => {
        let c = 0;
        for (let t = 1; t < len; t++) {
          if (!tr.spikes[q * len + t]) continue;
          c++;
          bins[t]!++;
        }
        return c;
      });
      const mean = counts.reduce((a, b) => a + b, 0) / traced;
      const every = strideFor(traced, Math.max(16, Math.min(RASTER_ROWS, Math.floor(RASTER_SPIKES / Math.max(mean, 1e-9)))));
      const events: { row: number; neuron: number; t: number; kind: "spike" }[] = [];
      for (let q = 0; q < traced; q += every) for (let t = 1; t < len; t++) if (tr.spikes[q * len + t]) events.push({ row: q / every, neuron: tr.neurons[q]!, t, kind: "spike" });
      rasters.push({
        node: tr.node,
        name: net.values[n.out]!.name,
        kind: n.kind,
        neurons: size,
        stride: strides.get(tr.node)! * every,
        rows: Math.ceil(traced / every),
        counted: traced,
        windowStart: 1,
        windowSteps: T,
        events,
        spans: [],
        histogram: [...bins].flatMap((c, k) => (c ? [{ k, kind: "spike" as const, count: c }] : [])),
      });
      // Traces: the most active neuron, the median active one, the silent one whose V ended highest.
      const active = [...counts.keys()].filter((q) => counts[q]! > 0).sort((a, b) => counts[b]! - counts[a]! || a - b);
      const pick = (q: number, w: string): void => {
        const key = `${tr.node}:${tr.neurons[q]}`;
        if (!why.has(key)) why.set(key, w);
      };
      if (active.length) pick(active[0]!, `most active, ${counts[active[0]!]} spikes`);
      if (active.length > 2) pick(active[Math.floor(active.length / 2)]!, `median active, ${counts[active[Math.floor(active.length / 2)]!]} spikes`);
      let silent = -1;
      for (let q = 0; q < traced; q++) if (counts[q] === 0 && (silent < 0 || tr.v[q * len + T]! > tr.v[silent * len + T]!)) silent = q;
      if (silent >= 0) pick(silent, "silent, V ended closest to θ");
    } else {
      topOutputs(logits).forEach((j, k) => why.set(`${tr.node}:${j}`, k === 0 ? "largest output (prediction)" : `${k === 1 ? "2nd" : "3rd"} largest output`));
    }
  }
  return { index, label, prediction: argmax(logits, 0, logits.length), coding: "rate", T, latency: r.latency, rasters, traces: traceLines(net, r.traces!, why) };
}

/** Sample `index` of `x` ([N, ...] flattened, `per` values per sample) through `net`. */
export function simulateSample(net: Network, x: Float32Array, per: number, index: number, label: number | undefined): SampleView {
  const xs = x.subarray(index * per, (index + 1) * per);
  return net.coding === "rate" ? rateSample(net, xs, index, label) : tscSample(net, xs, index, label);
}
