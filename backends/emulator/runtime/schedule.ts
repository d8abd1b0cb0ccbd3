/**
 * Validation and time schedule of an emulator {@link Network} (tsc.md §4).
 *
 * TSC (layer-synchronous scheme): every spikes value fires in one window, [start, start + steps), with
 * steps = the producing population's T (`nodeWindow`: per-layer windows, or `net.window` for all).
 * - `encode` fires in [0, T_0).
 * - A neuron (`tsc`) fires from the end of the latest window among the spikes values feeding its charge
 *   through synapse ops and `add`, for its own T steps. Its integration windows are the distinct windows
 *   of those sources (a residual neuron has two, Lemma 2); they must not overlap partially.
 * - A synapse group read by a population of T steps from a source of T_s steps has gain T/T_s (1 when the
 *   windows are equal): the charge it delivers is gain·W̃·d, so V = T·(Σ W̃·d/T_s + b̃) + φ.
 * - `maxpool`, `reshape` and `concat` cost no window: they inherit their input's window (concat inputs
 *   must share one).
 * - `decode` reads the output layer at the end of its last integration window; the network latency is
 *   the maximum over its outputs.
 *
 * Rate coding: every layer runs concurrently during the whole run of `window` steps; all windows are
 * [0, window), every gain is 1 and the latency is `window`.
 */
import { nodeInputs, nodeWindow, size, type Coding, type Network, type Node } from "./network.js";

/** A window of steps [start, start + steps). */
export interface StepWindow {
  readonly start: number;
  readonly steps: number;
}

/** One synapse group delivering into a charge: synapse node `node` reads spikes value `source`. */
export interface ChargeTerm {
  /** Index of the synapse node (conv, dense or scale) in `net.nodes`. */
  readonly node: number;
  /** The spikes value the synapses read. */
  readonly source: number;
  /** The firing window of `source` (TSC), in which the receiver integrates these synapses. */
  readonly window: StepWindow;
}

/** Everything that flows into a charge value. */
export interface ChargeSchedule {
  /** Synapse groups in a fixed order (depth-first through `add`, operand a before b). */
  readonly terms: readonly ChargeTerm[];
  /** Distinct integration windows of the terms, by start (disjoint). */
  readonly windows: readonly StepWindow[];
}

export interface Schedule {
  readonly coding: Coding;
  /** Rate: steps of the run. TSC: `net.window` (the window of nodes without their own). */
  readonly T: number;
  /** Per value: the window its spikes fire in (spikes values), else null. */
  readonly spikeWindow: readonly (StepWindow | null)[];
  /** Per value: weight layers on the longest path up to its spikes (the encoder's are 0; TSC), else −1. */
  readonly spikeDepth: readonly number[];
  /** Per value: the synapse terms integrated into it (charge values); null otherwise. */
  readonly charge: readonly (ChargeSchedule | null)[];
  /** Per value: index of the node producing it. */
  readonly producer: readonly number[];
  /** Per node: T of its own window (encode, tsc, decode: `nodeWindow`; rate: the run), else 0. */
  readonly steps: readonly number[];
  /** Per synapse node: gain T_receiver/T_source of its charge (1 for rate and equal windows); 0 for other nodes. */
  readonly gain: readonly number[];
  /** Per network output: the step at which it is read. */
  readonly outputLatency: readonly number[];
  /** Per network output: weight layers on its longest path (the output layer included). */
  readonly outputDepth: readonly number[];
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
    const own = n.kind === "encode" || n.kind === "tsc" || n.kind === "decode" ? n.window : undefined;
    if (own !== undefined) {
      if (!Number.isInteger(own) || own < 1 || own > 65535) fail(`${where}: window must be an integer in [1, 65535], got ${own}`);
      if (net.coding === "rate" && own !== net.window) fail(`${where}: a rate-coded network runs every layer for the whole run (window ${own} ≠ ${net.window})`);
    }
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
  const rate = net.coding === "rate";
  const run: StepWindow = { start: 0, steps: net.window };
  const spikeWindow: (StepWindow | null)[] = new Array<StepWindow | null>(nv).fill(null);
  const spikeDepth: number[] = new Array<number>(nv).fill(-1);
  const charge: (ChargeSchedule | null)[] = new Array<ChargeSchedule | null>(nv).fill(null);
  const producer: number[] = new Array<number>(nv).fill(-1);
  const termsOf: (ChargeTerm[] | null)[] = new Array<ChargeTerm[] | null>(nv).fill(null);
  const steps: number[] = net.nodes.map((n) => (n.kind === "encode" || n.kind === "tsc" || n.kind === "if" || n.kind === "decode" ? nodeWindow(net, n) : 0));
  const gain: number[] = new Array<number>(net.nodes.length).fill(0);
  const name = (v: number): string => net.values[v]!.name;

  /** The distinct windows of `terms`, by start; partial overlaps cannot be integrated by one membrane. */
  const windowsOf = (terms: readonly ChargeTerm[], where: string): StepWindow[] => {
    const ws: StepWindow[] = [];
    for (const t of terms) if (!ws.some((w) => w.start === t.window.start && w.steps === t.window.steps)) ws.push(t.window);
    ws.sort((a, b) => a.start - b.start || a.steps - b.steps);
    for (let k = 1; k < ws.length; k++) {
      const a = ws[k - 1]!;
      const b = ws[k]!;
      if (a.start + a.steps > b.start) fail(`${where}: integration windows [${a.start}, ${a.start + a.steps}) and [${b.start}, ${b.start + b.steps}) overlap (give the layers feeding it windows that end before the next starts)`);
    }
    return ws;
  };
  const end = (ws: readonly StepWindow[]): number => Math.max(...ws.map((w) => w.start + w.steps));
  /** A population of T steps integrates `terms`: each synapse group's gain is T/T_source. */
  const setGains = (terms: readonly ChargeTerm[], T: number, where: string): void => {
    for (const t of terms) {
      const g = T / t.window.steps;
      if (gain[t.node] !== 0 && gain[t.node] !== g) fail(`${where}: synapse node ${t.node} feeds populations with different windows`);
      gain[t.node] = g;
    }
  };

  net.nodes.forEach((n, i) => {
    producer[n.out] = i;
    const where = `node ${i} (${n.kind} ${name(n.out)})`;
    switch (n.kind) {
      case "encode":
        spikeWindow[n.out] = rate ? run : { start: 0, steps: steps[i]! };
        spikeDepth[n.out] = 0;
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
        const terms = termsOf[n.in]!;
        const ws = windowsOf(terms, where);
        setGains(terms, steps[i]!, where);
        spikeWindow[n.out] = rate ? run : { start: end(ws), steps: steps[i]! };
        spikeDepth[n.out] = 1 + Math.max(...terms.map((t) => spikeDepth[t.source]!));
        break;
      }
      case "maxpool":
      case "reshape":
        spikeWindow[n.out] = spikeWindow[n.in]!;
        spikeDepth[n.out] = spikeDepth[n.in]!;
        break;
      case "concat": {
        const w0 = spikeWindow[n.ins[0]!]!;
        if (n.ins.some((v) => spikeWindow[v]!.start !== w0.start || spikeWindow[v]!.steps !== w0.steps)) {
          fail(`node ${i} (concat ${name(n.out)}): inputs fire in different windows (${n.ins.map((v) => `${name(v)}@[${spikeWindow[v]!.start}, ${spikeWindow[v]!.start + spikeWindow[v]!.steps})`).join(", ")})`);
        }
        spikeWindow[n.out] = w0;
        spikeDepth[n.out] = Math.max(...n.ins.map((v) => spikeDepth[v]!));
        break;
      }
      case "decode":
        setGains(termsOf[n.in]!, steps[i]!, where);
        break;
    }
  });
  for (let v = 0; v < nv; v++) {
    const terms = termsOf[v];
    if (terms) charge[v] = { terms, windows: windowsOf(terms, `charge ${v} (${name(v)})`) };
  }
  for (const n of net.nodes) {
    if (!SYNAPSE.has(n.kind)) continue;
    if (!spikeWindow[nodeInputs(n)[0]!]) fail(`synapse ${n.kind} reads a value without a firing window`);
  }
  const decodes = net.outputs.map((o) => net.nodes[producer[o.value]!] as Extract<Node, { kind: "decode" }>);
  const outputLatency = decodes.map((d) => (rate ? net.window : end(charge[d.in]!.windows)));
  const outputDepth = decodes.map((d) => Math.max(...charge[d.in]!.terms.map((t) => spikeDepth[t.source]!)) + 1);
  const latency = rate ? net.window : Math.max(...outputLatency);
  return { coding: net.coding, T: net.window, spikeWindow, spikeDepth, charge, producer, steps, gain, outputLatency, outputDepth, latency };
}
