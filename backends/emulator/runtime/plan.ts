/**
 * Per-network precomputation shared by the engines, built once and cached per Network object:
 * sliding-window tables, weights transposed for contiguous fan-out, neuron populations and their
 * internal memory layout, and the encoder's border map.
 *
 * Index conventions: a value's *canonical* index is row-major over its per-sample shape (channel-first
 * for [C, H, W]). Neuron state (V, I) of a rank-3 population is stored channel-last ([H·W, C]) so that
 * a conv fan-out, whose inner loop runs over output channels, writes contiguous memory; `Pop.perm` maps
 * canonical → internal index (null when the two coincide).
 */
import { size, type ConcatNode, type ConvNode, type DecodeNode, type DenseNode, type EncodeNode, type IfNode, type MaxPoolNode, type Network, type Node, type ScaleNode, type TscNode } from "./network.js";
import { schedule, type ChargeTerm, type Schedule, type StepWindow } from "./schedule.js";

/** CSR table: entries start[i]..start[i+1]−1 of `pos`/`k` belong to row i. */
export interface TapTable {
  readonly start: Int32Array;
  /** Spatial position (y·W + x) on the other side of the window. */
  readonly pos: Int32Array;
  /** Kernel tap ky·kw + kx. */
  readonly k: Int32Array;
}

export interface Window2d {
  readonly H: number;
  readonly W: number;
  readonly OH: number;
  readonly OW: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly pt: number;
  readonly pl: number;
  readonly dh: number;
  readonly dw: number;
}

/** For each input position, the output positions whose window reads it (and through which tap). */
export function reverseTaps(g: Window2d): TapTable {
  const P = g.H * g.W;
  const start = new Int32Array(P + 1);
  const pos: number[] = [];
  const k: number[] = [];
  for (let y = 0; y < g.H; y++) {
    for (let x = 0; x < g.W; x++) {
      for (let ky = 0; ky < g.kh; ky++) {
        const ny = y + g.pt - ky * g.dh;
        if (ny < 0 || ny % g.sh !== 0) continue;
        const oy = ny / g.sh;
        if (oy >= g.OH) continue;
        for (let kx = 0; kx < g.kw; kx++) {
          const nx = x + g.pl - kx * g.dw;
          if (nx < 0 || nx % g.sw !== 0) continue;
          const ox = nx / g.sw;
          if (ox >= g.OW) continue;
          pos.push(oy * g.OW + ox);
          k.push(ky * g.kw + kx);
        }
      }
      start[y * g.W + x + 1] = pos.length;
    }
  }
  return { start, pos: Int32Array.from(pos), k: Int32Array.from(k) };
}

/** For each output position, the input positions inside its window, in kernel order (ky, then kx). */
export function forwardTaps(g: Window2d): TapTable {
  const OP = g.OH * g.OW;
  const start = new Int32Array(OP + 1);
  const pos: number[] = [];
  const k: number[] = [];
  for (let oy = 0; oy < g.OH; oy++) {
    for (let ox = 0; ox < g.OW; ox++) {
      for (let ky = 0; ky < g.kh; ky++) {
        const y = oy * g.sh - g.pt + ky * g.dh;
        if (y < 0 || y >= g.H) continue;
        for (let kx = 0; kx < g.kw; kx++) {
          const x = ox * g.sw - g.pl + kx * g.dw;
          if (x < 0 || x >= g.W) continue;
          pos.push(y * g.W + x);
          k.push(ky * g.kw + kx);
        }
      }
      start[oy * g.OW + ox + 1] = pos.length;
    }
  }
  return { start, pos: Int32Array.from(pos), k: Int32Array.from(k) };
}

/** A neuron population's internal layout. */
export interface Pop {
  readonly n: number;
  /** Channels and positions of a rank-3 [C, H, W] population (C = n, P = 1 otherwise). */
  readonly C: number;
  readonly P: number;
  /** canonical → internal index; null when identical (rank ≠ 3, C = 1 or P = 1). */
  readonly perm: Int32Array | null;
  /** internal → canonical; null when identical. */
  readonly inv: Int32Array | null;
}

function makePop(shape: readonly number[]): Pop {
  const n = shape.reduce((a, b) => a * b, 1);
  if (shape.length !== 3 || shape[0]! <= 1 || shape[1]! * shape[2]! <= 1) return { n, C: n, P: 1, perm: null, inv: null };
  const C = shape[0]!;
  const P = shape[1]! * shape[2]!;
  const perm = new Int32Array(n);
  const inv = new Int32Array(n);
  for (let c = 0; c < C; c++) {
    for (let p = 0; p < P; p++) {
      perm[c * P + p] = p * C + c;
      inv[p * C + c] = c * P + p;
    }
  }
  return { n, C, P, perm, inv };
}

export interface EncodePlan {
  readonly kind: "encode";
  readonly node: EncodeNode;
  /** Index of the network input (argument) it encodes. */
  readonly input: number;
  /** Encoded neurons per sample (with border). */
  readonly n: number;
  /** Input elements per sample (without border). */
  readonly inSize: number;
  /** Per encoded neuron: index into the sample's input, or −1 − c for a border pixel of channel c. */
  readonly src: Int32Array | null;
  /** Per channel border value (0 when padValues is empty). */
  readonly padValue: Float64Array;
}

export interface ConvPlan {
  readonly kind: "conv";
  readonly node: ConvNode;
  readonly C: number;
  readonly M: number;
  readonly group: number;
  readonly Cg: number;
  readonly Mg: number;
  /** kh·kw */
  readonly kk: number;
  /** Cg·kh·kw: GEMM depth per group. */
  readonly K: number;
  readonly win: Window2d;
  /** W̃ transposed for the event engine's fan-out: [C][kh·kw][Mg], contiguous over output channels. */
  readonly wt: Float32Array;
  readonly rev: TapTable;
  readonly fwd: TapTable;
  readonly bias: Float32Array | null;
}

export interface DensePlan {
  readonly kind: "dense";
  readonly node: DenseNode;
  readonly K: number;
  readonly N: number;
  /** W̃ transposed for the event engine's fan-out: [K, N]. */
  readonly wt: Float32Array;
  readonly bias: Float32Array | null;
}

export interface ScalePlan {
  readonly kind: "scale";
  readonly node: ScaleNode;
  readonly n: number;
}

export interface MaxPoolPlan {
  readonly kind: "maxpool";
  readonly node: MaxPoolNode;
  readonly C: number;
  readonly win: Window2d;
  readonly rev: TapTable;
  readonly fwd: TapTable;
}

export interface ConcatPlan {
  readonly kind: "concat";
  readonly node: ConcatNode;
  /** Per input: canonical input index → canonical output index. */
  readonly maps: readonly Int32Array[];
}

/** tsc, if and decode: a population integrating one charge value. */
export interface NeuronPlan {
  readonly kind: "tsc" | "if" | "decode";
  readonly node: TscNode | IfNode | DecodeNode;
  readonly pop: Pop;
  readonly terms: readonly ChargeTerm[];
  /** Integration windows (distinct source windows), by start. */
  readonly windows: readonly StepWindow[];
  /** T of the population's own window (TSC: bias b̃·T, fire phase, read-out; rate: the run). */
  readonly steps: number;
  /** Steps of integration: Σ over the windows of their steps (one `V += I` per neuron each). */
  readonly integrationSteps: number;
  /** Σ of the terms' biases b̃ per neuron, internal layout; null when no term has a bias. */
  readonly bias: Float64Array | null;
}

export interface OtherPlan {
  readonly kind: "add" | "reshape";
}

export type NodePlan = EncodePlan | ConvPlan | DensePlan | ScalePlan | MaxPoolPlan | ConcatPlan | NeuronPlan | OtherPlan;

export type SynapsePlan = ConvPlan | DensePlan | ScalePlan;

export interface Plan {
  readonly net: Network;
  readonly sched: Schedule;
  readonly nodes: readonly NodePlan[];
  /** Encode node indices in network-input order. */
  readonly encoders: readonly number[];
  /** Per network output: the decode node producing it. */
  readonly outputNodes: readonly number[];
  /** Per value: per-sample size. */
  readonly sizes: readonly number[];
}

function fail(msg: string): never {
  throw new Error(`emulator network: ${msg}`);
}

function pads4(p: readonly number[], where: string): [number, number, number, number] {
  if (p.length === 0) return [0, 0, 0, 0];
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0)) fail(`${where}: pads must be 4 non-negative integers [top, left, bottom, right]`);
  return [p[0]!, p[1]!, p[2]!, p[3]!];
}

function outSize(n: number, k: number, s: number, p0: number, p1: number, d: number, ceil: boolean): number {
  const span = n + p0 + p1 - d * (k - 1) - 1;
  return (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
}

function window2d(inShape: readonly number[], outShape: readonly number[], k: readonly number[], st: readonly number[], pads: readonly number[], dil: readonly number[], ceilOk: boolean, where: string): Window2d {
  if (inShape.length !== 3 || outShape.length !== 3) fail(`${where}: needs [C, H, W] input and output, got [${inShape}] → [${outShape}]`);
  const [pt, pl, pb, pr] = pads4(pads, where);
  const g: Window2d = { H: inShape[1]!, W: inShape[2]!, OH: outShape[1]!, OW: outShape[2]!, kh: k[0]!, kw: k[1]!, sh: st[0]!, sw: st[1]!, pt, pl, dh: dil[0]!, dw: dil[1]! };
  for (const v of [g.kh, g.kw, g.sh, g.sw, g.dh, g.dw]) if (!Number.isInteger(v) || v < 1) fail(`${where}: kernel, strides and dilations must be integers ≥ 1`);
  const okH = [outSize(g.H, g.kh, g.sh, pt, pb, g.dh, false), ...(ceilOk ? [outSize(g.H, g.kh, g.sh, pt, pb, g.dh, true)] : [])];
  const okW = [outSize(g.W, g.kw, g.sw, pl, pr, g.dw, false), ...(ceilOk ? [outSize(g.W, g.kw, g.sw, pl, pr, g.dw, true)] : [])];
  if (!okH.includes(g.OH) || !okW.includes(g.OW)) fail(`${where}: output ${g.OH}×${g.OW} does not match the window geometry (expected ${okH[0]}×${okW[0]})`);
  return g;
}

const cache = new WeakMap<Network, Plan>();

/** Build (or fetch from the cache) the plan of `net`. The network must not be mutated afterwards. */
export function planOf(net: Network): Plan {
  const hit = cache.get(net);
  if (hit) return hit;
  const sched = schedule(net);
  const sizes = net.values.map((_, v) => size(net, v));
  const shapeOf = (v: number) => net.values[v]!.shape;
  const encodeNodes = net.nodes.map((n, i) => (n.kind === "encode" ? i : -1)).filter((i) => i >= 0);
  // Map network inputs to encoders: by value, else by order.
  const encoders: number[] = net.inputs.map((io, k) => {
    const byValue = encodeNodes.find((i) => net.nodes[i]!.out === io.value);
    return byValue ?? encodeNodes[k] ?? fail(`input ${io.name} has no encode node`);
  });
  if (new Set(encoders).size !== encoders.length || encoders.length !== encodeNodes.length) {
    fail(`${net.inputs.length} network inputs for ${encodeNodes.length} encode nodes`);
  }

  const plans: NodePlan[] = net.nodes.map((n: Node, i): NodePlan => {
    const where = `node ${i} (${n.kind} ${net.values[n.out]!.name})`;
    switch (n.kind) {
      case "encode": {
        const shape = shapeOf(n.out);
        const [pt, pl, pb, pr] = pads4(n.pads, where);
        const padded = pt + pl + pb + pr > 0;
        const C = shape.length === 3 ? shape[0]! : 1;
        const padValue = new Float64Array(C);
        if (n.padValues.length > 0) {
          if (n.padValues.length !== C) fail(`${where}: ${n.padValues.length} padValues for ${C} channels`);
          n.padValues.forEach((v, c) => (padValue[c] = v));
        }
        if (!padded) return { kind: "encode", node: n, input: encoders.indexOf(i), n: sizes[n.out]!, inSize: sizes[n.out]!, src: null, padValue };
        if (shape.length !== 3) fail(`${where}: a padded encoder needs a [C, H, W] output, got [${shape}]`);
        const [, Hp, Wp] = shape as [number, number, number];
        const H = Hp - pt - pb;
        const W = Wp - pl - pr;
        if (H < 1 || W < 1) fail(`${where}: pads larger than the output`);
        const src = new Int32Array(C * Hp * Wp);
        for (let c = 0; c < C; c++) {
          for (let y = 0; y < Hp; y++) {
            for (let x = 0; x < Wp; x++) {
              const yi = y - pt;
              const xi = x - pl;
              src[(c * Hp + y) * Wp + x] = yi >= 0 && yi < H && xi >= 0 && xi < W ? (c * H + yi) * W + xi : -1 - c;
            }
          }
        }
        return { kind: "encode", node: n, input: encoders.indexOf(i), n: C * Hp * Wp, inSize: C * H * W, src, padValue };
      }
      case "conv": {
        const [M, Cg, kh, kw] = n.wShape;
        const inShape = shapeOf(n.in);
        const outShape = shapeOf(n.out);
        const win = window2d(inShape, outShape, [kh, kw], n.strides, n.pads, n.dilations, false, where);
        const C = inShape[0]!;
        const group = n.group;
        if (!Number.isInteger(group) || group < 1 || Cg * group !== C || M % group !== 0 || outShape[0] !== M) {
          fail(`${where}: weights [${n.wShape}] with group ${group} do not fit input [${inShape}] → output [${outShape}]`);
        }
        const kk = kh * kw;
        if (n.w.length !== M * Cg * kk) fail(`${where}: ${n.w.length} weights for shape [${n.wShape}]`);
        if (n.b && n.b.length !== M) fail(`${where}: ${n.b.length} biases for ${M} channels`);
        const Mg = M / group;
        const K = Cg * kk;
        const wt = new Float32Array(C * kk * Mg);
        for (let g = 0; g < group; g++) {
          for (let ml = 0; ml < Mg; ml++) {
            const m = g * Mg + ml;
            for (let r = 0; r < K; r++) wt[(g * K + r) * Mg + ml] = n.w[m * K + r]!;
          }
        }
        return { kind: "conv", node: n, C, M, group, Cg, Mg, kk, K, win, wt, rev: reverseTaps(win), fwd: forwardTaps(win), bias: n.b ?? null };
      }
      case "dense": {
        const K = sizes[n.in]!;
        const N = sizes[n.out]!;
        if (n.w.length !== N * K) fail(`${where}: ${n.w.length} weights for ${N}×${K}`);
        if (n.b && n.b.length !== N) fail(`${where}: ${n.b.length} biases for ${N} outputs`);
        const wt = new Float32Array(K * N);
        for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) wt[k * N + j] = n.w[j * K + k]!;
        return { kind: "dense", node: n, K, N, wt, bias: n.b ?? null };
      }
      case "scale":
        return { kind: "scale", node: n, n: sizes[n.in]! };
      case "maxpool": {
        const inShape = shapeOf(n.in);
        const outShape = shapeOf(n.out);
        const win = window2d(inShape, outShape, n.kernel, n.strides, n.pads, n.dilations, true, where);
        if (outShape[0] !== inShape[0]) fail(`${where}: channels change from ${inShape[0]} to ${outShape[0]}`);
        return { kind: "maxpool", node: n, C: inShape[0]!, win, rev: reverseTaps(win), fwd: forwardTaps(win) };
      }
      case "concat": {
        const out = shapeOf(n.out);
        const r = out.length;
        if (!Number.isInteger(n.axis) || n.axis < 0 || n.axis >= r) fail(`${where}: axis ${n.axis} out of range for rank ${r}`);
        const outer = out.slice(0, n.axis).reduce((a, b) => a * b, 1);
        const inner = out.slice(n.axis + 1).reduce((a, b) => a * b, 1);
        const A = out[n.axis]!;
        let off = 0;
        const maps = n.ins.map((v) => {
          const s = shapeOf(v);
          if (s.length !== r || s.some((d, j) => j !== n.axis && d !== out[j])) fail(`${where}: input [${s}] does not fit output [${out}] off axis ${n.axis}`);
          const a = s[n.axis]!;
          const map = new Int32Array(outer * a * inner);
          for (let o = 0; o < outer; o++) for (let ai = 0; ai < a; ai++) for (let q = 0; q < inner; q++) map[(o * a + ai) * inner + q] = (o * A + off + ai) * inner + q;
          off += a;
          return map;
        });
        if (off !== A) fail(`${where}: inputs sum to ${off} along axis ${n.axis}, output has ${A}`);
        return { kind: "concat", node: n, maps };
      }
      case "tsc":
      case "if":
      case "decode": {
        const { terms, windows } = sched.charge[n.in]!;
        const integrationSteps = windows.reduce((a, w) => a + w.steps, 0);
        return { kind: n.kind, node: n, pop: makePop(shapeOf(n.in)), terms, windows, steps: sched.steps[i]!, integrationSteps, bias: null };
      }
      default:
        return { kind: n.kind };
    }
  });

  // Neuron biases: Σ over the synapse terms, in the population's internal layout.
  for (const p of plans) {
    if (p.kind !== "tsc" && p.kind !== "if" && p.kind !== "decode") continue;
    let bias: Float64Array | null = null;
    for (const t of p.terms) {
      const sp = plans[t.node] as SynapsePlan;
      if (sp.kind === "scale" || !sp.bias) continue;
      bias ??= new Float64Array(p.pop.n);
      if (sp.kind === "dense") {
        for (let j = 0; j < sp.N; j++) bias[p.pop.perm ? p.pop.perm[j]! : j]! += sp.bias[j]!;
      } else {
        // conv: internal index position·M + m (= canonical when the layout is the identity, see Pop).
        const OP = sp.win.OH * sp.win.OW;
        for (let q = 0; q < OP; q++) for (let m = 0; m < sp.M; m++) bias[q * sp.M + m]! += sp.bias[m]!;
      }
    }
    (p as { bias: Float64Array | null }).bias = bias;
  }

  const outputNodes = net.outputs.map((o) => sched.producer[o.value]!);
  const plan: Plan = { net, sched, nodes: plans, encoders, outputNodes, sizes };
  cache.set(net, plan);
  return plan;
}

/** Fan-out per canonical source neuron of a synapse plan (same for every input channel of a conv). */
export function fanout(sp: SynapsePlan, i: number): number {
  switch (sp.kind) {
    case "dense":
      return sp.N;
    case "scale":
      return 1;
    case "conv": {
      const P = sp.win.H * sp.win.W;
      const p = i % P;
      return (sp.rev.start[p + 1]! - sp.rev.start[p]!) * sp.Mg;
    }
  }
}

/** TSC encoder interval: clamp(round or floor(x·T/scale), 0, T); NaN → 0. Shared by both engines. */
export function tscInterval(x: number, T: number, scale: number, rounding: "round" | "floor"): number {
  const u = (x * T) / scale;
  const r = rounding === "floor" ? Math.floor(u) : Math.round(u);
  return r > 0 ? (r < T ? r : T) : 0;
}

/** Output layer read-out λ·V/steps, shared by all engines so that equal V gives bit-equal logits. */
export function decodeValue(lambda: number, v: number, steps: number): number {
  return (lambda * v) / steps;
}

/** Normalise the engine input argument to one array per network input and check sizes. */
export function splitInputs(plan: Plan, input: Float32Array | readonly Float32Array[], batch: number): Float32Array[] {
  if (!Number.isInteger(batch) || batch < 0) throw new Error(`batch must be a non-negative integer, got ${batch}`);
  const arr = input instanceof Float32Array ? [input] : [...input];
  if (arr.length !== plan.encoders.length) throw new Error(`expected ${plan.encoders.length} input array(s), got ${arr.length}`);
  arr.forEach((a, k) => {
    const ep = plan.nodes[plan.encoders[k]!] as EncodePlan;
    if (a.length !== batch * ep.inSize) throw new Error(`input ${k} (${plan.net.inputs[k]?.name ?? "?"}) holds ${a.length} values, expected batch ${batch} × ${ep.inSize}`);
  });
  return arr;
}

/** Encoder input value of neuron j of sample b. */
export function encodedValue(ep: EncodePlan, x: Float32Array, b: number, j: number): number {
  if (!ep.src) return x[b * ep.inSize + j]!;
  const s = ep.src[j]!;
  return s >= 0 ? x[b * ep.inSize + s]! : ep.padValue[-1 - s]!;
}

/** Rate coding: the input rate x/scale of encoded neuron j (quantised to the encoder's levels, if any). */
export function inputRate(ep: EncodePlan, x: Float32Array, b: number, j: number): number {
  const r = encodedValue(ep, x, b, j) / ep.node.scale;
  const L = ep.node.levels;
  return L ? Math.min(L, Math.max(0, Math.floor(r * L + 0.5))) / L : r;
}

