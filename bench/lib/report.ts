/** Metrics of a run (accuracy, agreement, per-inference counts) and Markdown tables for the bench output. */
import { argmax } from "../../backends/emulator/run.js";
import type { Counters } from "../../backends/emulator/runtime/index.js";

/** Top-1 class of each of n samples. */
export function argmaxes(logits: Float32Array, n: number): Int32Array {
  const k = logits.length / n;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = argmax(logits, i, k);
  return out;
}

/** Fraction of i < n with a[i] === b[i]. */
export function matchRate(a: ArrayLike<number>, b: ArrayLike<number>, n = a.length): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (a[i] === b[i]) k++;
  return n > 0 ? k / n : NaN;
}

/** Per-inference operation counts of a run. */
export interface PerInference {
  readonly synaptic_additions: number;
  readonly memory_reads: number;
  readonly neuron_updates: number;
  readonly spikes: number;
  readonly input_macs: number;
}

export function perInference(c: Counters): PerInference {
  const n = c.batch;
  return { synaptic_additions: c.synaptic_additions / n, memory_reads: c.memory_reads / n, neuron_updates: c.neuron_updates / n, spikes: c.spikes / n, input_macs: c.input_macs / n };
}

/** One measured configuration: accuracy and cost per inference on `n` images. */
export interface Row {
  readonly model: string;
  readonly coding: "tsc" | "rate";
  /** Human-readable variant (e.g. "φ=0.5 p=99.9 avgpool=merge", "current v-init=0.5"). */
  readonly variant: string;
  /** TSC: the per-layer window; rate: the steps of the run (at this checkpoint). */
  readonly T: number;
  /** End-to-end latency in steps (TSC: the run's latency = N_w·T; rate: T). */
  readonly latency: number;
  readonly n: number;
  readonly accuracy: number;
  /** The ANN's accuracy on the same n images. */
  readonly annAccuracy: number;
  /** Top-1 agreement with the ANN. */
  readonly agreement: number;
  readonly ops: PerInference;
  readonly spikesPerNeuronMax: number;
  /** Per node with any work (and every synapse node), per inference, in network order. */
  readonly layers: readonly { name: string; kind: string; synaptic_additions: number; neuron_updates: number; input_macs: number }[];
}

export function makeRow(base: Omit<Row, "accuracy" | "agreement" | "ops" | "spikesPerNeuronMax" | "layers" | "annAccuracy">, logits: Float32Array, counters: Counters, labels: Int32Array, ann: Int32Array): Row {
  const pred = argmaxes(logits, base.n);
  return {
    ...base,
    accuracy: matchRate(pred, labels, base.n),
    annAccuracy: matchRate(ann, labels, base.n),
    agreement: matchRate(pred, ann, base.n),
    ops: perInference(counters),
    spikesPerNeuronMax: counters.spikes_per_neuron_max,
    layers: counters.layers
      .filter((l) => l.kind === "conv" || l.kind === "dense" || l.kind === "scale" || l.synaptic_additions > 0 || l.neuron_updates > 0 || l.input_macs > 0)
      .map((l) => ({ name: l.name, kind: l.kind, synaptic_additions: l.synaptic_additions / counters.batch, neuron_updates: l.neuron_updates / counters.batch, input_macs: l.input_macs / counters.batch })),
  };
}

/** 12,345,678 → "12.35 M"; small integers as is. */
export function count(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1e9) return `${(x / 1e9).toFixed(2)} G`;
  if (a >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (a >= 1e4) return `${(x / 1e3).toFixed(1)} k`;
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

export function pct(x: number, digits = 2): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(digits)}%` : "–";
}

/** Signed difference in percentage points. */
export function pts(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return "–";
  const v = 100 * x;
  return `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(digits)}`;
}

export function ratio(x: number): string {
  if (!Number.isFinite(x)) return "–";
  return x >= 10 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`;
}

/** A GitHub-flavoured Markdown table (default: first column left-aligned, the others right-aligned). */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[], align?: readonly ("l" | "r")[]): string {
  const cells = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(3, ...cells.map((r) => (r[i] ?? "").length)));
  const left = (i: number): boolean => (align?.[i] ?? (i === 0 ? "l" : "r")) === "l";
  const line = (r: readonly string[]): string => `| ${r.map((c, i) => (left(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  const sep = `|${widths.map((w, i) => (left(i) ? ` ${"-".repeat(w)} ` : ` ${"-".repeat(w - 1)}: `)).join("|")}|`;
  return [line(headers), sep, ...rows.map(line)].join("\n") + "\n";
}

/** Output sink of a suite: Markdown to stdout (and collected for the results file). */
export class Out {
  readonly text: string[] = [];
  print(s = ""): void {
    this.text.push(s);
    process.stdout.write(s + "\n");
  }
}
