/**
 * Validation and time schedule of an emulator {@link Network} (tsc.md §4).
 *
 * TSC (layer-synchronous scheme): every spikes value fires in one window of T = `net.window` steps.
 * - `encode` fires in window 0, i.e. steps [0, T).
 * - A neuron (`tsc`) fires in window 1 + (the latest window among the spikes values feeding its charge
 *   through synapse ops and `add`). Its integration windows are the distinct windows of those sources
 *   (a residual neuron has two, Lemma 2).
 * - `maxpool`, `reshape` and `concat` cost no window: they inherit their input's window (concat inputs
 *   must share one).
 * - `decode` reads the output layer at the end of its last integration window: latency
 *   (max source window + 1)·T steps. The network latency is the maximum over its outputs.
 *
 * Rate coding: every layer runs concurrently during the whole run of `window` steps; all windows are 0
 * and the latency is `window`.
 */
import { nodeInputs, size, type Coding, type Network, type Node } from "./network.js";

/** One synapse group delivering into a charge: synapse node `node` reads spikes value `source`, which fires in `window`. */
export interface ChargeTerm {
  /** Index of the synapse node (conv, dense or scale) in `net.nodes`. */
  readonly node: number;
  /** The spikes value the synapses read. */
  readonly source: number;
  /** The firing window of `source` (TSC), in which the receiver integrates these synapses. 0 for rate. */
  readonly window: number;
}

/** Everything that flows into a charge value. */
export interface ChargeSchedule {
  /** Synapse groups in a fixed order (depth-first through `add`, operand a before b). */
  readonly terms: readonly ChargeTerm[];
  /** Distinct integration windows of the terms, ascending. */
  readonly windows: readonly number[];
}

export interface Schedule {
  readonly coding: Coding;
  /** TSC: steps per window. Rate: steps of the run. */
  readonly T: number;
  /** Per value: its firing window (spikes values); −1 for charge values and decode outputs. */
  readonly spikeWindow: readonly number[];
  /** Per value: the synapse terms integrated into it (charge values); null otherwise. */
  readonly charge: readonly (ChargeSchedule | null)[];
  /** Per value: index of the node producing it. */
  readonly producer: readonly number[];
  /** Per network output: the step at which it is read. */
  readonly outputLatency: readonly number[];
  /** End-to-end latency in steps (max of `outputLatency`; rate: `window`). */
  readonly latency: number;
}

const SYNAPSE = new Set(["conv", "dense", "scale"]);

function fail(msg: string): never {
  throw new Error(`emulator network: ${msg}`);
}

/**
 * Check the structural invariants the engines rely on: values exist, each is produced once, nodes are in
 * topological order, operand kinds (spikes/charge) and sizes agree, neuron kinds match the coding.
 */
export function validateNetwork(net: Network): void {
  if (net.coding !== "tsc" && net.coding !== "rate") fail(`unknown coding ${String(net.coding)}`);
  if (!Number.isInteger(net.window) || net.window < 1) fail(`window must be an integer ≥ 1, got ${net.window}`);
  if (net.coding === "tsc" && net.window > 65535) fail(`TSC window ${net.window} exceeds 65535 (intervals are recorded as Uint16)`);
  const nv = net.values.length;
  const produced = new Int32Array(nv).fill(-1);
  const check = (v: number, where: string): void => {
    if (!Number.isInteger(v) || v < 0 || v >= nv) fail(`${where}: value ${v} does not exist`);
  };
  const kindOf = (v: number) => net.values[v]!.kind;
  net.nodes.forEach((n, i) => {
    const where = `node ${i} (${n.kind})`;
    for (const v of nodeInputs(n)) {
      check(v, where);
      if (produced[v]! < 0) fail(`${where} reads value ${v} (${net.values[v]!.name}) before it is produced (nodes must be in topological order)`);
    }
    check(n.out, where);
    if (produced[n.out]! >= 0) fail(`${where}: value ${n.out} is produced twice (also by node ${produced[n.out]})`);
    produced[n.out] = i;
    const needKind = (v: number, k: "spikes" | "charge", role: string) => {
      if (kindOf(v) !== k) fail(`${where}: ${role} value ${v} (${net.values[v]!.name}) must be ${k}, is ${kindOf(v)}`);
    };
    const sameSize = (a: number, b: number) => {
      if (size(net, a) !== size(net, b)) fail(`${where}: values ${a} and ${b} differ in size (${size(net, a)} vs ${size(net, b)})`);
    };
    switch (n.kind) {
      case "encode":
        needKind(n.out, "spikes", "output");
        if (!(n.scale > 0)) fail(`${where}: scale must be > 0`);
        break;
      case "conv":
      case "dense":
      case "scale":
        needKind(n.in, "spikes", "input");
        needKind(n.out, "charge", "output");
        if (n.kind === "scale") sameSize(n.in, n.out);
        break;
      case "add":
        needKind(n.a, "charge", "operand a");
        needKind(n.b, "charge", "operand b");
        needKind(n.out, "charge", "output");
        sameSize(n.a, n.out);
        sameSize(n.b, n.out);
        break;
      case "tsc":
      case "if":
        if (n.kind !== (net.coding === "tsc" ? "tsc" : "if")) fail(`${where}: a ${n.kind} neuron in a ${net.coding}-coded network`);
        needKind(n.in, "charge", "input");
        needKind(n.out, "spikes", "output");
        sameSize(n.in, n.out);
        if (!(n.theta > 0)) fail(`${where}: theta must be > 0`);
        break;
      case "maxpool":
      case "reshape":
        needKind(n.in, "spikes", "input");
        needKind(n.out, "spikes", "output");
        if (n.kind === "reshape") sameSize(n.in, n.out);
        break;
      case "concat": {
        if (n.ins.length < 1) fail(`${where}: no inputs`);
        for (const v of n.ins) needKind(v, "spikes", "input");
        needKind(n.out, "spikes", "output");
        const total = n.ins.reduce((s, v) => s + size(net, v), 0);
        if (total !== size(net, n.out)) fail(`${where}: inputs hold ${total} neurons, output ${size(net, n.out)}`);
        break;
      }
      case "decode":
        needKind(n.in, "charge", "input");
        sameSize(n.in, n.out);
        break;
      default:
        fail(`node ${i}: unknown kind ${(n as Node).kind}`);
    }
  });
  for (const io of net.inputs) check(io.value, `input ${io.name}`);
  for (const io of net.outputs) {
    check(io.value, `output ${io.name}`);
    const p = produced[io.value]!;
    if (p < 0 || net.nodes[p]!.kind !== "decode") fail(`output ${io.name} (value ${io.value}) must be produced by a decode node`);
  }
  if (net.outputs.length === 0) fail("the network has no outputs");
}

/** Validate `net` and compute its time schedule. */
export function schedule(net: Network): Schedule {
  validateNetwork(net);
  const nv = net.values.length;
  const T = net.window;
  const rate = net.coding === "rate";
  const spikeWindow: number[] = new Array<number>(nv).fill(-1);
  const charge: (ChargeSchedule | null)[] = new Array<ChargeSchedule | null>(nv).fill(null);
  const producer: number[] = new Array<number>(nv).fill(-1);
  const termsOf: (ChargeTerm[] | null)[] = new Array<ChargeTerm[] | null>(nv).fill(null);

  const windowsOf = (terms: readonly ChargeTerm[]): number[] => [...new Set(terms.map((t) => t.window))].sort((a, b) => a - b);

  net.nodes.forEach((n, i) => {
    producer[n.out] = i;
    switch (n.kind) {
      case "encode":
        spikeWindow[n.out] = 0;
        break;
      case "conv":
      case "dense":
      case "scale":
        termsOf[n.out] = [{ node: i, source: n.in, window: spikeWindow[n.in]! }];
        break;
      case "add":
        termsOf[n.out] = [...termsOf[n.a]!, ...termsOf[n.b]!];
        break;
      case "tsc":
      case "if": {
        const w = windowsOf(termsOf[n.in]!);
        spikeWindow[n.out] = rate ? 0 : w[w.length - 1]! + 1;
        break;
      }
      case "maxpool":
      case "reshape":
        spikeWindow[n.out] = spikeWindow[n.in]!;
        break;
      case "concat": {
        const ws = new Set(n.ins.map((v) => spikeWindow[v]!));
        if (ws.size !== 1) {
          fail(`node ${i} (concat ${net.values[n.out]!.name}): inputs fire in different windows (${n.ins.map((v) => `${net.values[v]!.name}@${spikeWindow[v]}`).join(", ")})`);
        }
        spikeWindow[n.out] = spikeWindow[n.ins[0]!]!;
        break;
      }
      case "decode":
        break;
    }
  });
  for (let v = 0; v < nv; v++) {
    const terms = termsOf[v];
    if (terms) charge[v] = { terms, windows: windowsOf(terms) };
  }
  for (const n of net.nodes) {
    if (!SYNAPSE.has(n.kind)) continue;
    if (spikeWindow[nodeInputs(n)[0]!]! < 0) fail(`synapse ${n.kind} reads a value without a firing window`);
  }
  const outputLatency = net.outputs.map((o) => {
    if (rate) return T;
    const d = net.nodes[producer[o.value]!] as Extract<Node, { kind: "decode" }>;
    const w = charge[d.in]!.windows;
    return (w[w.length - 1]! + 1) * T;
  });
  const latency = rate ? T : Math.max(...outputLatency);
  return { coding: net.coding, T, spikeWindow, charge, producer, outputLatency, latency };
}
