/**
 * The TSC network as the mapper sees it: neuron populations (what occupies compartments) and the
 * synapse groups between them, with the Loihi time schedule.
 *
 * Populations
 * - `input`: the encoder's spike sources. They are injected by the host (or an embedded x86 core) into
 *   the first layer's input axons, so they use no compartments.
 * - `tsc`: a hidden TSC layer (snn.tsc), `readout`: the output layer (snn.decode, integrate only),
 *   `or`: a max pool realised as an OR of switches (snn.max_pool).
 * Synapse groups feed a population: `conv`, `dense` and `scale` (one-to-one) synapses into tsc/readout
 * populations, and `pool` (the OR gate's window) into an `or` population.
 *
 * Spikes values that are relabelled (snn.reshape, snn.concat) resolve to their producing populations.
 *
 * Time (end-aligned TSC, docs/loihi.md): a population firing with window end E sends spike 1 (ON) of a
 * neuron with interval d at E − d and spike 2 (OFF) at E; the encoder's E is T_0 (+ the lead below).
 * Every spike arrives one step later (Loihi's built-in synaptic delay), so an integrator holds its final
 * V from step E_src on. A TSC layer of window T compares in its fire window [F, F + T) with
 * F = max E_src + 1 and has E = F + T; an OR gate relays with one step of delay (E = E_src + 1); the
 * output is read at R = max E_src + 1.
 *
 * Per-layer windows (docs/conversion.md): every population has its own T (the encoder's, each snn.tsc's
 * and snn.decode's `window`; an OR gate fires in its source's window). A synapse group integrated by a
 * population of T steps from sources of T_s steps has the gain T/T_s, which loihi:quantize folds into
 * its integer weights. The clock's bias switch and ramp run in [F − T, F) (bias b̃·T, ramp from −T·Θ):
 * where a layer's window is longer than the time since the run began (a first layer with T > T_0 + 1),
 * the whole schedule starts `lead` steps later, so every clock starts at a step ≥ 0. With one window
 * for all layers F ≥ T + 1 and the lead is 0.
 */
import type { Module, Op, Value } from "../../ir/index.js";
import type { Window2d } from "../emulator/runtime/plan.js";

export type PopKind = "input" | "tsc" | "or" | "readout";

export interface Geometry2d extends Window2d {
  /** Input (source value) channels and output channels; H, W and OH, OW are the spatial sizes. */
  readonly C: number;
  readonly M: number;
  readonly group: number;
}

export interface Group {
  readonly id: number;
  readonly kind: "conv" | "dense" | "scale" | "pool";
  /** The synapse op (snn.conv / snn.dense / snn.scale) or the pool op (snn.max_pool). */
  readonly op: Op;
  readonly target: Pop;
  /** The spikes value read (possibly a reshape/concat of populations). */
  readonly source: Value;
  /** Source neurons (per-sample size of `source`). */
  readonly K: number;
  /** Conv, scale and pool: window geometry (scale: 1×1 with group = C). */
  readonly geo?: Geometry2d;
  /** Normalised weights W̃ (conv [M, C/g, kh, kw], dense [N, K]); scale: one factor; pool: none. */
  readonly w?: Float32Array;
  readonly factor?: number;
  readonly bias?: Float32Array;
  /** Extra steps on the way (1 when the group's fan-out goes through relay compartments). */
  readonly delay: number;
  /** T_target / T_source (per-layer windows; 1 when they are equal and for pools): folded into the integer weights. */
  readonly gain: number;
}

export interface Pop {
  readonly id: number;
  readonly kind: PopKind;
  /** Human name: the first ONNX node of the op's location, else the op name and index. */
  readonly name: string;
  /** The neuron op: snn.encode, snn.tsc, snn.max_pool or snn.decode. */
  readonly op: Op;
  /** Per-sample shape of the population ([C, H, W] or [N]). */
  readonly shape: readonly number[];
  readonly size: number;
  readonly groups: Group[];
  /** Spiking populations: the window end E (the common OFF time). −1 for readout. */
  E: number;
  /** TSC: fire window start F; readout: read step R; or/input: −1. */
  F: number;
  /** tsc/readout: the integration windows' ends (distinct E of the sources, ascending). */
  windows: number[];
  /** Steps of the population's own window: encoder, tsc and readout their `window`; an OR gate its source's. */
  T: number;
  /**
   * tsc/readout: steps in which the integrator's current u may be non-zero (a bound for the membrane
   * path): Σ over the integration windows of their sources' T, plus the steps of the bias window
   * [F − T, F) outside them. One window for all layers: windows × T. 0 for input and OR gates.
   */
  span: number;
}

export interface SourceRef {
  readonly pop: Pop;
  /** Index map from the spikes value's canonical index to the population's (null = identity). */
  readonly index: Int32Array | null;
}

export interface Network {
  /** The module's window (of every population without its own). */
  readonly T: number;
  /** Steps the schedule starts late so that every clock starts at a step ≥ 0 (0 with one window for all layers). */
  readonly lead: number;
  readonly pops: Pop[];
  readonly groups: Group[];
  /** Populations that occupy compartments (all but the input), in topological order. */
  readonly placed: Pop[];
  readonly input: Pop;
  readonly readouts: Pop[];
  /** Latency: the last read-out step + 1. */
  readonly latency: number;
  /** Resolve a spikes value to (population, index) for each canonical index. */
  resolve(v: Value): { pop: Pop; offset: number; count: number; map: Int32Array | null }[];
  /** Population of a spikes value's canonical index i. */
  sourceOf(v: Value, i: number): { pop: Pop; j: number };
}

export function opName(op: Op, index: number): string {
  const l = op.loc;
  if (l.kind === "onnx") return l.node;
  if (l.kind === "fused") {
    const names = l.locs.map((x) => (x.kind === "onnx" ? x.node : "")).filter(Boolean);
    if (names.length) return names[names.length - 1]!;
  }
  return `${op.name}#${index}`;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function f32(v: Value | undefined): Float32Array | undefined {
  return v?.constant ? (v.constant.data as Float32Array) : undefined;
}

/** Build the population graph of a TSC snn module. Throws on structures the mapper does not support. */
export function buildNetwork(m: Module): Network {
  const T = m.attrs["window"] as number;
  const pops: Pop[] = [];
  const groups: Group[] = [];
  const popOf = new Map<Value, Pop>();
  /** Spikes value → pieces (pop, offset in the value, count, map into the pop). */
  const pieces = new Map<Value, { pop: Pop; offset: number; count: number; map: Int32Array | null }[]>();
  /** Charge value → synapse ops feeding it. */
  const chargeTerms = new Map<Value, Op[]>();
  const names = new Map<string, number>();
  const uniqueName = (n: string): string => {
    const k = names.get(n) ?? 0;
    names.set(n, k + 1);
    return k === 0 ? n : `${n}#${k}`;
  };
  const newPop = (kind: PopKind, op: Op, index: number, shape: readonly number[]): Pop => {
    const own = op.attrs["window"];
    const p: Pop = { id: pops.length, kind, name: uniqueName(kind === "input" ? "input" : opName(op, index)), op, shape, size: size(shape), groups: [], E: -1, F: -1, windows: [], T: typeof own === "number" ? own : T, span: 0 };
    pops.push(p);
    return p;
  };
  const spikeSource = (v: Value): { pop: Pop; offset: number; count: number; map: Int32Array | null }[] => {
    const p = pieces.get(v);
    if (!p) throw new Error(`loihi: spikes value is not produced by a population`);
    return p;
  };
  const geometry = (op: Op, src: Value, k: number[], st: number[], pads: number[], dil: number[], M: number, group: number): Geometry2d => {
    const ins = src.type.shape.slice(1);
    const outs = op.result.type.shape.slice(1);
    if (ins.length !== 3 || outs.length !== 3) throw new Error(`loihi: ${op.name} needs [C, H, W] input and output`);
    return { C: ins[0]!, H: ins[1]!, W: ins[2]!, M, OH: outs[1]!, OW: outs[2]!, kh: k[0]!, kw: k[1]!, sh: st[0]!, sw: st[1]!, pt: pads[0]!, pl: pads[1]!, dh: dil[0]!, dw: dil[1]!, group };
  };
  const groupOf = (op: Op, target: Pop): Group => {
    const source = op.operands[0]!;
    const K = size(source.type.shape.slice(1));
    const id = groups.length;
    const delay = op.attrs["loihi.relays"] ? 1 : 0;
    let g: Group;
    const gain = 1;
    switch (op.name) {
      case "snn.conv": {
        const ws = op.operands[1]!.type.shape;
        g = { id, kind: "conv", op, target, source, K, delay, gain, geo: geometry(op, source, op.ints("kernel_shape"), op.ints("strides"), op.ints("pads"), op.ints("dilations"), ws[0]!, op.num("group")), w: f32(op.operands[1]), bias: f32(op.operands[2]) };
        break;
      }
      case "snn.dense":
        g = { id, kind: "dense", op, target, source, K, delay, gain, w: f32(op.operands[1]), bias: f32(op.operands[2]) };
        break;
      case "snn.scale": {
        const shape = source.type.shape.slice(1);
        const geo: Geometry2d | undefined =
          shape.length === 3 ? { C: shape[0]!, H: shape[1]!, W: shape[2]!, M: shape[0]!, OH: shape[1]!, OW: shape[2]!, kh: 1, kw: 1, sh: 1, sw: 1, pt: 0, pl: 0, dh: 1, dw: 1, group: shape[0]! } : undefined;
        g = { id, kind: "scale", op, target, source, K, delay, gain, ...(geo ? { geo } : {}), factor: op.num("factor") };
        break;
      }
      default:
        throw new Error(`loihi: ${op.name} is not a synapse op`);
    }
    groups.push(g);
    target.groups.push(g);
    return g;
  };
  const termsOf = (v: Value): Op[] => {
    const t = chargeTerms.get(v);
    if (!t) throw new Error("loihi: a neuron reads a charge that no synapse op produces");
    return t;
  };
  m.ops.forEach((op, index) => {
    const shape = op.result.type.shape.slice(1);
    switch (op.name) {
      case "snn.encode": {
        const p = newPop("input", op, index, shape);
        pieces.set(op.result, [{ pop: p, offset: 0, count: p.size, map: null }]);
        popOf.set(op.result, p);
        break;
      }
      case "snn.conv":
      case "snn.dense":
      case "snn.scale":
        chargeTerms.set(op.result, [op]);
        break;
      case "snn.add":
        chargeTerms.set(op.result, [...termsOf(op.operands[0]!), ...termsOf(op.operands[1]!)]);
        break;
      case "snn.tsc":
      case "snn.decode": {
        const p = newPop(op.name === "snn.tsc" ? "tsc" : "readout", op, index, shape);
        for (const s of termsOf(op.operands[0]!)) groupOf(s, p);
        if (op.name === "snn.tsc") pieces.set(op.result, [{ pop: p, offset: 0, count: p.size, map: null }]);
        popOf.set(op.result, p);
        break;
      }
      case "snn.max_pool": {
        const p = newPop("or", op, index, shape);
        const source = op.operands[0]!;
        const k = op.ints("kernel_shape");
        const geo = geometry(op, source, k, op.ints("strides"), op.ints("pads"), op.ints("dilations"), shape[0]!, shape[0]!);
        const g: Group = { id: groups.length, kind: "pool", op, target: p, source, K: size(source.type.shape.slice(1)), geo, delay: op.attrs["loihi.relays"] ? 1 : 0, gain: 1 };
        groups.push(g);
        p.groups.push(g);
        pieces.set(op.result, [{ pop: p, offset: 0, count: p.size, map: null }]);
        popOf.set(op.result, p);
        break;
      }
      case "snn.reshape":
        pieces.set(op.result, spikeSource(op.operands[0]!));
        break;
      case "snn.concat": {
        const out = op.result.type.shape.slice(1);
        const r = out.length;
        const axis0 = op.num("axis");
        const axis = (axis0 < 0 ? axis0 + r + 1 : axis0) - 1;
        const outer = out.slice(0, axis).reduce((a, b) => a * b, 1);
        const inner = out.slice(axis + 1).reduce((a, b) => a * b, 1);
        const A = out[axis]!;
        let off = 0;
        const list: { pop: Pop; offset: number; count: number; map: Int32Array | null }[] = [];
        for (const v of op.operands) {
          const a = v.type.shape[axis + 1]!;
          for (const piece of spikeSource(v)) {
            // Output index of each element of this piece: build an explicit map (output → piece element).
            const n = piece.count;
            const map = new Int32Array(n);
            for (let e = 0; e < n; e++) {
              const i = piece.offset + e; // index inside v
              const o = Math.floor(i / (a * inner));
              const rem = i - o * a * inner;
              const ai = Math.floor(rem / inner);
              const q = rem - ai * inner;
              map[e] = (o * A + off + ai) * inner + q;
            }
            list.push({ pop: piece.pop, offset: -1, count: n, map: invertPieceMap(map, piece.map) });
          }
          off += a;
          void outer;
        }
        pieces.set(op.result, list);
        break;
      }
      default:
        throw new Error(`loihi: no mapping for ${op.name}`);
    }
  });
  const input = pops.find((p) => p.kind === "input");
  if (!input) throw new Error("loihi: the network has no encoder");
  // Windows: an OR gate fires in its source's window; a synapse group's gain is T_target / T_source.
  const srcT = (g: Group): number => Math.max(...spikeSource(g.source).map((x) => x.pop.T));
  for (const p of pops) {
    if (p.kind === "or") p.T = srcT(p.groups[0]!);
    else if (p.kind !== "input") for (const g of p.groups) (g as { gain: number }).gain = p.T / srcT(g);
  }
  const hasBias = (p: Pop): boolean => p.groups.some((g) => g.bias !== undefined);
  // Schedule, started `lead` steps late when a clock would otherwise start before step 0.
  const Esrc = (g: Group): number => Math.max(...spikeSource(g.source).map((s) => s.pop.E)) + g.delay;
  const scheduleFrom = (lead: number): number => {
    let late = 0;
    for (const p of pops) {
      if (p.kind === "input") p.E = lead + p.T;
      else if (p.kind === "or") p.E = Esrc(p.groups[0]!) + 1;
      else {
        const ends = [...new Set(p.groups.map(Esrc))].sort((a, b) => a - b);
        p.windows = ends;
        p.F = ends[ends.length - 1]! + 1;
        if (p.kind === "tsc") p.E = p.F + p.T;
        // The clock's bias and ramp phase [F − T, F) (a read-out has a clock only for its bias).
        if (p.kind === "tsc" || hasBias(p)) late = Math.max(late, p.T - p.F);
      }
    }
    return late;
  };
  const lead = scheduleFrom(0);
  if (lead > 0) scheduleFrom(lead);
  for (const p of pops) if (p.kind === "tsc" || p.kind === "readout") p.span = integrationSpan(p.groups.map((g) => ({ end: Esrc(g), steps: srcT(g) })), p.F, p.T);
  const readouts = pops.filter((p) => p.kind === "readout");
  const latency = Math.max(...readouts.map((p) => p.F)) + 1;
  const resolveCache = new Map<Value, { pop: Pop; offset: number; count: number; map: Int32Array | null }[]>();
  const net: Network = {
    T,
    lead,
    pops,
    groups,
    placed: pops.filter((p) => p.kind !== "input"),
    input,
    readouts,
    latency,
    resolve(v) {
      let r = resolveCache.get(v);
      if (!r) resolveCache.set(v, (r = spikeSource(v)));
      return r;
    },
    sourceOf(v, i) {
      for (const piece of net.resolve(v)) {
        if (piece.offset >= 0) {
          if (i >= piece.offset && i < piece.offset + piece.count) return { pop: piece.pop, j: piece.map ? piece.map[i - piece.offset]! : i - piece.offset };
        } else if (piece.map) {
          // Concat piece: map holds (value index → pop index) as pairs in a sparse form; see invertPieceMap.
          const j = lookupSparse(piece.map, i);
          if (j >= 0) return { pop: piece.pop, j };
        }
      }
      throw new Error(`loihi: index ${i} of a spikes value has no source`);
    },
  };
  return net;
}

/**
 * Steps in which an integrator's current may be non-zero: the distinct integration windows (each its
 * sources' T steps ending at `end`) plus the steps of the bias window [F − T, F) outside them.
 */
export function integrationSpan(windows: readonly { end: number; steps: number }[], F: number, T: number): number {
  const distinct = [...new Map(windows.map((w) => [`${w.end}:${w.steps}`, w])).values()];
  let n = distinct.reduce((a, w) => a + w.steps, 0);
  for (let t = F - T; t < F; t++) if (!distinct.some((w) => t > w.end - w.steps && t <= w.end)) n++;
  return n;
}

/**
 * A concat piece's map as sorted (value index, pop index) pairs packed into one Int32Array, so that
 * `lookupSparse` finds a value index by binary search.
 */
function invertPieceMap(outIdx: Int32Array, popMap: Int32Array | null): Int32Array {
  const n = outIdx.length;
  const order = Array.from({ length: n }, (_, e) => e).sort((a, b) => outIdx[a]! - outIdx[b]!);
  const packed = new Int32Array(2 * n);
  order.forEach((e, k) => {
    packed[2 * k] = outIdx[e]!;
    packed[2 * k + 1] = popMap ? popMap[e]! : e;
  });
  return packed;
}

function lookupSparse(packed: Int32Array, i: number): number {
  let lo = 0;
  let hi = packed.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = packed[2 * mid]!;
    if (v === i) return packed[2 * mid + 1]!;
    if (v < i) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** The windows of the populations that have one (encoder, tsc, read-out) by name, or null when every layer has the module's. */
export function layerWindows(net: Network): Record<string, number> | null {
  const pops = net.pops.filter((p) => p.kind !== "or");
  if (pops.every((p) => p.T === net.T)) return null;
  return Object.fromEntries(pops.map((p) => [p.name, p.T]));
}

/** Whether a population is laid out as [C, H, W] (conv-style tiles) or flat ranges. */
export function isSpatial(p: Pop): boolean {
  return p.shape.length === 3;
}
