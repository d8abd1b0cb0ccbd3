/**
 * The clock-driven engine for spiking networks imported from NIR (the `nir` dialect): every node is
 * evaluated once per time step, in a fixed order, on one sample at a time, with the same operation
 * counters as the event engines (counters.ts). The discrete-time reading of NIR's continuous equations
 * is docs/interop.md's (forward Euler with step dt, the new input used at once; state starts at 0):
 *
 *   i        v += dt·r·x                                  y = v
 *   if       v += dt·r·x; z = v > v_th; v = v_reset if z  y = z
 *   li       v += dt/τ·(v_leak − v + r·x)                 y = v
 *   lif      v as li; z = v > v_th; v = v_reset if z      y = z
 *   cuba_li  I += dt/τ_syn·(−I + w_in·x); v += dt/τ_mem·(v_leak − v + r·I)      y = v
 *   cuba_lif cuba_li; z = v > v_th; v = v_reset if z      y = z
 *   threshold y = x > θ;  delay y(t) = x(t − k) (k steps); affine/linear/conv/pool/scale/flatten as NIR
 *   prev     the value `feed` (same slot) stored at the previous step (0 at step 0)
 *
 * The factors (dt·r, dt/τ, …) and delays in steps are computed when the network is built, so the
 * runtime needs no dt. Counting: a synapse node (affine, linear, conv, pool, scale) delivers each
 * non-zero input to its targets (a convolution: the output channels with a non-zero weight for that input
 * channel, so block-diagonal weights count as the grouped convolution they stand for): ±1 inputs (spikes, switch events) count as synaptic additions and weight
 * reads, other values as multiply-adds (`input_macs`); neurons count one state update per neuron per step
 * (two for the current-based ones); spikes are the ones emitted by if, lif, cuba_lif and threshold nodes.
 *
 * This folder is copied into artifacts: it imports only itself.
 */
import { Tally } from "./counters.js";
import type { Counters } from "./types.js";

export interface ClockValue {
  readonly shape: readonly number[];
  readonly name: string;
}

type F = Float32Array | Float64Array;

export type ClockNode =
  | { readonly kind: "affine"; readonly in: number; readonly out: number; readonly w: F; readonly rows: number; readonly cols: number; readonly b?: F }
  | {
      readonly kind: "conv";
      readonly in: number;
      readonly out: number;
      readonly w: F;
      /** [C_out, C_in/group, k…] with one or two spatial axes. */
      readonly wShape: readonly number[];
      readonly b: F;
      readonly strides: readonly number[];
      /** [begin…, end…] */
      readonly pads: readonly number[];
      readonly dilations: readonly number[];
      readonly group: number;
    }
  | { readonly kind: "pool"; readonly in: number; readonly out: number; readonly kernel: readonly number[]; readonly strides: readonly number[]; readonly pads: readonly number[]; readonly avg: boolean }
  | { readonly kind: "flatten"; readonly in: number; readonly out: number }
  | { readonly kind: "scale"; readonly in: number; readonly out: number; readonly s: F }
  | { readonly kind: "threshold"; readonly in: number; readonly out: number; readonly theta: F }
  | { readonly kind: "delay"; readonly in: number; readonly out: number; readonly steps: Int32Array }
  /** i and if: v += gain·x (gain = dt·r). */
  | { readonly kind: "i" | "if"; readonly in: number; readonly out: number; readonly gain: Float64Array; readonly vth?: F; readonly vreset?: F }
  /** li and lif: v += a·(v_leak − v + r·x), a = dt/τ. */
  | { readonly kind: "li" | "lif"; readonly in: number; readonly out: number; readonly a: Float64Array; readonly r: F; readonly vleak: F; readonly vth?: F; readonly vreset?: F }
  /** cuba_li and cuba_lif. */
  | {
      readonly kind: "cuba_li" | "cuba_lif";
      readonly in: number;
      readonly out: number;
      readonly aSyn: Float64Array;
      readonly win: F;
      readonly aMem: Float64Array;
      readonly r: F;
      readonly vleak: F;
      readonly vth?: F;
      readonly vreset?: F;
    }
  | { readonly kind: "sum"; readonly ins: readonly number[]; readonly out: number }
  | { readonly kind: "prev"; readonly out: number; readonly slot: number }
  | { readonly kind: "feed"; readonly in: number; readonly out: number; readonly slot: number };

export interface ClockNetwork {
  readonly format: "clock";
  /** The step (NIR time unit), for reports. */
  readonly dt: number;
  readonly values: readonly ClockValue[];
  /** Evaluation order. */
  readonly nodes: readonly ClockNode[];
  readonly inputs: readonly { readonly name: string; readonly value: number }[];
  readonly outputs: readonly { readonly name: string; readonly value: number }[];
}

export interface ClockRunOptions {
  /** Steps to run (default: the input's leading time axis; required for a static input). */
  readonly steps?: number;
  /** The input holds one frame per sample, presented at every step (default false: [steps, batch, …]). */
  readonly staticInput?: boolean;
}

export interface ClockResult {
  /** Per network output: [steps, batch, size], float64. */
  readonly outputs: Float64Array[];
  readonly steps: number;
  readonly counters: Counters;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Targets of a sliding window (conv or pool) per input position: output position and kernel offset. */
export interface Taps {
  readonly start: Int32Array;
  readonly out: Int32Array;
  readonly k: Int32Array;
}

export function windowTaps(inSp: readonly number[], outSp: readonly number[], kernel: readonly number[], strides: readonly number[], pads: readonly number[], dil: readonly number[]): Taps {
  const nd = inSp.length;
  const H = nd === 2 ? inSp[0]! : 1;
  const W = inSp[nd - 1]!;
  const OH = nd === 2 ? outSp[0]! : 1;
  const OW = outSp[nd - 1]!;
  const kh = nd === 2 ? kernel[0]! : 1;
  const kw = kernel[nd - 1]!;
  const sh = nd === 2 ? strides[0]! : 1;
  const sw = strides[nd - 1]!;
  const ph = nd === 2 ? pads[0]! : 0;
  const pw = pads[nd - 1]!;
  const dh = nd === 2 ? dil[0]! : 1;
  const dw = dil[nd - 1]!;
  const per: number[][] = Array.from({ length: H * W }, () => []);
  for (let oy = 0; oy < OH; oy++)
    for (let ox = 0; ox < OW; ox++)
      for (let ky = 0; ky < kh; ky++)
        for (let kx = 0; kx < kw; kx++) {
          const y = oy * sh - ph + ky * dh;
          const x = ox * sw - pw + kx * dw;
          if (y < 0 || y >= H || x < 0 || x >= W) continue;
          per[y * W + x]!.push(oy * OW + ox, ky * kw + kx);
        }
  const start = new Int32Array(H * W + 1);
  for (let p = 0; p < H * W; p++) start[p + 1] = start[p]! + per[p]!.length / 2;
  const out = new Int32Array(start[H * W]!);
  const k = new Int32Array(start[H * W]!);
  for (let p = 0; p < H * W; p++) per[p]!.forEach((v, j) => ((j & 1 ? k : out)[start[p]! + (j >> 1)] = v));
  return { start, out, k };
}

interface Prepared {
  readonly node: ClockNode;
  /** Conv: weights transposed to [C_in][k][C_out/group]; affine: [cols][rows]. */
  readonly wt?: Float64Array;
  /**
   * Conv: per input channel, the output channels (within its group) with any non-zero weight, so that a
   * block-diagonal weight (a grouped convolution written with groups = 1) costs what the grouped one does.
   */
  readonly targets?: Int32Array[];
  readonly taps?: Taps;
  readonly inSize: number;
  readonly outSize: number;
}

/** The node with its parameter arrays as float64 (one array type in the loops keeps them monomorphic). */
function widened(n: ClockNode): ClockNode {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(n)) o[k] = v instanceof Float32Array && k !== "w" ? Float64Array.from(v) : v;
  return o as unknown as ClockNode;
}

function prepare(net: ClockNetwork): Prepared[] {
  return net.nodes.map((n0) => {
    const n = widened(n0);
    const outSize = size(net.values[n.out]!.shape);
    const inSize = "in" in n ? size(net.values[n.in]!.shape) : 0;
    if (n.kind === "affine") {
      const wt = new Float64Array(n.rows * n.cols);
      for (let r = 0; r < n.rows; r++) for (let c = 0; c < n.cols; c++) wt[c * n.rows + r] = n.w[r * n.cols + c]!;
      return { node: n, wt, inSize, outSize };
    }
    if (n.kind === "conv") {
      const inShape = net.values[n.in]!.shape;
      const outShape = net.values[n.out]!.shape;
      const [M, Cg] = [n.wShape[0]!, n.wShape[1]!];
      const kk = size(n.wShape.slice(2));
      const Mg = M / n.group;
      const C = inShape[0]!;
      const wt = new Float64Array(C * kk * Mg);
      for (let c = 0; c < C; c++) {
        const g = Math.floor(c / Cg);
        const cl = c - g * Cg;
        for (let k = 0; k < kk; k++) for (let m = 0; m < Mg; m++) wt[(c * kk + k) * Mg + m] = n.w[((g * Mg + m) * Cg + cl) * kk + k]!;
      }
      const targets: Int32Array[] = [];
      for (let c = 0; c < C; c++) {
        const ms: number[] = [];
        for (let m = 0; m < Mg; m++) {
          let any = false;
          for (let k = 0; k < kk && !any; k++) any = wt[(c * kk + k) * Mg + m] !== 0;
          if (any) ms.push(m);
        }
        targets.push(Int32Array.from(ms));
      }
      const nd = inShape.length - 1;
      const taps = windowTaps(inShape.slice(1), outShape.slice(1), n.wShape.slice(2), n.strides, n.pads.slice(0, nd), n.dilations);
      return { node: n, wt, taps, targets, inSize, outSize };
    }
    if (n.kind === "pool") {
      const inShape = net.values[n.in]!.shape;
      const outShape = net.values[n.out]!.shape;
      return { node: n, taps: windowTaps(inShape.slice(1), outShape.slice(1), n.kernel, n.strides, n.pads.slice(0, 2), [1, 1]), inSize, outSize };
    }
    return { node: n, inSize, outSize };
  });
}

/**
 * A neuron's output from its updated membrane v: spikes z = [v > v_th] with v = v_reset where z (spiking
 * neurons, counted in `cnt`; returns how many), or v itself (integrators, returns 0).
 */
function emit(y: Float64Array, v: Float64Array, vth: F | undefined, vreset: F | undefined, cnt: Int32Array | null): number {
  if (!vth) {
    y.set(v);
    return 0;
  }
  let s = 0;
  for (let j = 0; j < y.length; j++) {
    if (v[j]! > vth[j]!) {
      v[j] = vreset![j]!;
      y[j] = 1;
      s++;
      cnt![j]!++;
    } else y[j] = 0;
  }
  return s;
}

function isPm1(v: number): boolean {
  return v === 1 || v === -1;
}

/** Run `batch` samples. `input`: one array per network input, [steps, batch, size] or (static) [batch, size]. */
export function runClock(net: ClockNetwork, input: F | readonly F[], batch: number, opts: ClockRunOptions = {}): ClockResult {
  const inputs = ArrayBuffer.isView(input) ? [input as F] : [...(input as readonly F[])];
  if (inputs.length !== net.inputs.length) throw new Error(`clock engine: ${inputs.length} inputs for a network with ${net.inputs.length}`);
  const inSizes = net.inputs.map((i) => size(net.values[i.value]!.shape));
  let steps = opts.steps ?? 0;
  if (!opts.staticInput) {
    const s0 = inputs[0]!.length / (batch * inSizes[0]!);
    if (!Number.isInteger(s0)) throw new Error(`clock engine: input of ${inputs[0]!.length} values is not [steps, ${batch}, ${inSizes[0]}]`);
    if (opts.steps !== undefined && opts.steps !== s0) throw new Error(`clock engine: ${opts.steps} steps asked, the input holds ${s0}`);
    steps = s0;
  }
  if (!Number.isInteger(steps) || steps < 1) throw new Error("clock engine: the number of steps must be ≥ 1");
  inputs.forEach((x, k) => {
    const want = (opts.staticInput ? 1 : steps) * batch * inSizes[k]!;
    if (x.length !== want) throw new Error(`clock engine: input '${net.inputs[k]!.name}' holds ${x.length} values, expected ${want}`);
  });
  const prep = prepare(net);
  const buf: Float64Array[] = net.values.map((v) => new Float64Array(size(v.shape)));
  const slots = new Map<number, Float64Array>();
  for (const n of net.nodes) if (n.kind === "feed") slots.set(n.slot, new Float64Array(size(net.values[n.in]!.shape)));
  const state: (Float64Array[] | null)[] = net.nodes.map(() => null);
  const delayMax = net.nodes.map((n) => (n.kind === "delay" ? Math.max(0, ...n.steps) : 0));
  const total = new Tally(net.nodes.length);
  const sample = new Tally(net.nodes.length);
  const spiking = net.nodes.map((n) => (n.kind === "if" || n.kind === "lif" || n.kind === "cuba_lif" || n.kind === "threshold" ? size(net.values[n.out]!.shape) : 0));
  const outputs = net.outputs.map((o) => new Float64Array(steps * batch * size(net.values[o.value]!.shape)));
  const inputOf = new Map(net.inputs.map((i, k) => [i.value, k]));
  for (let b = 0; b < batch; b++) {
    sample.clear();
    net.nodes.forEach((n, i) => {
      const sz = size(net.values[n.out]!.shape);
      if (n.kind === "i" || n.kind === "if" || n.kind === "li" || n.kind === "lif") state[i] = [new Float64Array(sz)];
      else if (n.kind === "cuba_li" || n.kind === "cuba_lif") state[i] = [new Float64Array(sz), new Float64Array(sz)];
      else if (n.kind === "delay") state[i] = [new Float64Array((delayMax[i]! + 1) * sz)];
    });
    for (const s of slots.values()) s.fill(0);
    const counts = spiking.map((n) => (n > 0 ? new Int32Array(n) : null));
    for (let t = 0; t < steps; t++) {
      for (const [v, k] of inputOf) {
        const sz = inSizes[k]!;
        const off = opts.staticInput ? b * sz : (t * batch + b) * sz;
        const x = inputs[k]!;
        const dst = buf[v]!;
        for (let j = 0; j < sz; j++) dst[j] = x[off + j]!;
      }
      for (let i = 0; i < prep.length; i++) {
        const p = prep[i]!;
        const n = p.node;
        const y = buf[n.out]!;
        switch (n.kind) {
          case "affine": {
            const x = buf[n.in]!;
            if (n.b) for (let r = 0; r < n.rows; r++) y[r] = n.b[r]!;
            else y.fill(0);
            const wt = p.wt!;
            const R = n.rows;
            let adds = 0;
            let macs = 0;
            for (let c = 0; c < n.cols; c++) {
              const v = x[c]!;
              if (v === 0) continue;
              const base = c * R;
              for (let r = 0; r < R; r++) y[r]! += v * wt[base + r]!;
              if (isPm1(v)) adds += R;
              else macs += R;
            }
            sample.syn[i]! += adds;
            sample.macs[i]! += macs;
            break;
          }
          case "conv": {
            const x = buf[n.in]!;
            const M = n.wShape[0]!;
            const Mg = M / n.group;
            const Cg = n.wShape[1]!;
            const kk = size(n.wShape.slice(2));
            const OP = p.outSize / M;
            const IP = p.inSize / (Cg * n.group);
            for (let m = 0; m < M; m++) y.fill(n.b[m]!, m * OP, (m + 1) * OP);
            const { start, out, k } = p.taps!;
            const wt = p.wt!;
            let adds = 0;
            let macs = 0;
            for (let j = 0; j < p.inSize; j++) {
              const v = x[j]!;
              if (v === 0) continue;
              const c = (j / IP) | 0;
              const pos = j - c * IP;
              const ob = Math.floor(c / Cg) * Mg;
              const t0 = start[pos]!;
              const t1 = start[pos + 1]!;
              const ms = p.targets![c]!;
              for (let tp = t0; tp < t1; tp++) {
                const w0 = (c * kk + k[tp]!) * Mg;
                const o = out[tp]!;
                for (let q = 0; q < ms.length; q++) {
                  const m = ms[q]!;
                  y[(ob + m) * OP + o]! += v * wt[w0 + m]!;
                }
              }
              // Weights delivered: the stored ones of the targets reached (all of a full group).
              if (isPm1(v)) adds += (t1 - t0) * ms.length;
              else macs += (t1 - t0) * ms.length;
            }
            sample.syn[i]! += adds;
            sample.macs[i]! += macs;
            break;
          }
          case "pool": {
            const x = buf[n.in]!;
            y.fill(0);
            const C = net.values[n.in]!.shape[0]!;
            const IP = p.inSize / C;
            const OP = p.outSize / C;
            const { start, out } = p.taps!;
            let adds = 0;
            let macs = 0;
            for (let j = 0; j < p.inSize; j++) {
              const v = x[j]!;
              if (v === 0) continue;
              const c = (j / IP) | 0;
              const pos = j - c * IP;
              for (let tp = start[pos]!; tp < start[pos + 1]!; tp++) y[c * OP + out[tp]!]! += v;
              const f = start[pos + 1]! - start[pos]!;
              if (isPm1(v)) adds += f;
              else macs += f;
            }
            if (n.avg) {
              const kk = n.kernel[0]! * n.kernel[1]!;
              for (let o = 0; o < p.outSize; o++) y[o] = y[o]! / kk;
            }
            sample.syn[i]! += adds;
            sample.macs[i]! += macs;
            break;
          }
          case "flatten":
            y.set(buf[n.in]!);
            break;
          case "scale": {
            const x = buf[n.in]!;
            let adds = 0;
            let macs = 0;
            for (let j = 0; j < y.length; j++) {
              const v = x[j]!;
              y[j] = n.s[j]! * v;
              if (v === 0) continue;
              if (isPm1(v)) adds++;
              else macs++;
            }
            sample.syn[i]! += adds;
            sample.macs[i]! += macs;
            break;
          }
          case "threshold": {
            const x = buf[n.in]!;
            const cnt = counts[i]!;
            let s = 0;
            for (let j = 0; j < y.length; j++) {
              const z = x[j]! > n.theta[j]! ? 1 : 0;
              y[j] = z;
              if (z) {
                s++;
                cnt[j]!++;
              }
            }
            sample.spikes[i]! += s;
            break;
          }
          case "delay": {
            const x = buf[n.in]!;
            const ring = state[i]![0]!;
            const L = delayMax[i]! + 1;
            const sz = y.length;
            const slot = t % L;
            ring.set(x, slot * sz);
            for (let j = 0; j < sz; j++) {
              const d = n.steps[j]!;
              y[j] = t - d >= 0 ? ring[((t - d) % L) * sz + j]! : 0;
            }
            break;
          }
          case "i":
          case "if": {
            const x = buf[n.in]!;
            const v = state[i]![0]!;
            for (let j = 0; j < y.length; j++) v[j] = v[j]! + n.gain[j]! * x[j]!;
            sample.spikes[i]! += emit(y, v, n.vth, n.vreset, counts[i]!);
            sample.neuron[i]! += y.length;
            break;
          }
          case "li":
          case "lif": {
            const x = buf[n.in]!;
            const v = state[i]![0]!;
            for (let j = 0; j < y.length; j++) v[j] = v[j]! + n.a[j]! * (n.vleak[j]! - v[j]! + n.r[j]! * x[j]!);
            sample.spikes[i]! += emit(y, v, n.vth, n.vreset, counts[i]!);
            sample.neuron[i]! += y.length;
            break;
          }
          case "cuba_li":
          case "cuba_lif": {
            const x = buf[n.in]!;
            const [I, v] = state[i]! as [Float64Array, Float64Array];
            for (let j = 0; j < y.length; j++) {
              I[j] = I[j]! + n.aSyn[j]! * (-I[j]! + n.win[j]! * x[j]!);
              v[j] = v[j]! + n.aMem[j]! * (n.vleak[j]! - v[j]! + n.r[j]! * I[j]!);
            }
            sample.spikes[i]! += emit(y, v, n.vth, n.vreset, counts[i]!);
            sample.neuron[i]! += 2 * y.length;
            break;
          }
          case "sum": {
            y.set(buf[n.ins[0]!]!);
            for (let k = 1; k < n.ins.length; k++) {
              const x = buf[n.ins[k]!]!;
              for (let j = 0; j < y.length; j++) y[j] = y[j]! + x[j]!;
            }
            break;
          }
          case "prev":
            y.set(slots.get(n.slot) ?? new Float64Array(y.length));
            break;
          case "feed":
            y.set(buf[n.in]!);
            break;
        }
      }
      // Feeds take effect for the next step.
      for (const n of net.nodes) if (n.kind === "feed") slots.get(n.slot)!.set(buf[n.in]!);
      net.outputs.forEach((o, k) => {
        const src = buf[o.value]!;
        outputs[k]!.set(src, (t * batch + b) * src.length);
      });
    }
    let mx = 0;
    for (const c of counts) if (c) for (let j = 0; j < c.length; j++) if (c[j]! > mx) mx = c[j]!;
    sample.maxPerNeuron = mx;
    total.addFrom(sample);
  }
  return { outputs, steps, counters: total.freeze(net, batch, spiking) };
}
