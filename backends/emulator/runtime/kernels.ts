/**
 * Synapse fan-out kernels shared by the event engines. Each adds (ON) or subtracts (OFF) the outgoing
 * weights of a list of presynaptic neurons (canonical indices) into the charge register I of the target
 * population (internal layout, see plan.ts) and returns the number of weights delivered, i.e. synaptic
 * additions = weight reads. A conv source at the border reaches fewer targets and is counted exactly.
 */
import type { ConvPlan, SynapsePlan } from "./plan.js";

function denseOn(wt: Float32Array, N: number, list: Int32Array, a: number, b: number, I: Float64Array): number {
  for (let e = a; e < b; e++) {
    const base = list[e]! * N;
    for (let j = 0; j < N; j++) I[j]! += wt[base + j]!;
  }
  return (b - a) * N;
}

function denseOff(wt: Float32Array, N: number, list: Int32Array, a: number, b: number, I: Float64Array): number {
  for (let e = a; e < b; e++) {
    const base = list[e]! * N;
    for (let j = 0; j < N; j++) I[j]! -= wt[base + j]!;
  }
  return (b - a) * N;
}

function densePerm(wt: Float32Array, N: number, list: Int32Array, a: number, b: number, I: Float64Array, perm: Int32Array, sign: number): number {
  for (let e = a; e < b; e++) {
    const base = list[e]! * N;
    for (let j = 0; j < N; j++) I[perm[j]!]! += sign * wt[base + j]!;
  }
  return (b - a) * N;
}

function convOn(cp: ConvPlan, list: Int32Array, a: number, b: number, I: Float64Array): number {
  const wt = cp.wt;
  const Mg = cp.Mg;
  const M = cp.M;
  const kk = cp.kk;
  const Cg = cp.Cg;
  const P = cp.win.H * cp.win.W;
  const rs = cp.rev.start;
  const rp = cp.rev.pos;
  const rk = cp.rev.k;
  let count = 0;
  for (let e = a; e < b; e++) {
    const i = list[e]!;
    const c = (i / P) | 0;
    const p = i - c * P;
    const wb = c * kk * Mg;
    const ob = ((c / Cg) | 0) * Mg;
    const t0 = rs[p]!;
    const t1 = rs[p + 1]!;
    for (let t = t0; t < t1; t++) {
      const w0 = wb + rk[t]! * Mg;
      const i0 = rp[t]! * M + ob;
      for (let m = 0; m < Mg; m++) I[i0 + m]! += wt[w0 + m]!;
    }
    count += (t1 - t0) * Mg;
  }
  return count;
}

function convOff(cp: ConvPlan, list: Int32Array, a: number, b: number, I: Float64Array): number {
  const wt = cp.wt;
  const Mg = cp.Mg;
  const M = cp.M;
  const kk = cp.kk;
  const Cg = cp.Cg;
  const P = cp.win.H * cp.win.W;
  const rs = cp.rev.start;
  const rp = cp.rev.pos;
  const rk = cp.rev.k;
  let count = 0;
  for (let e = a; e < b; e++) {
    const i = list[e]!;
    const c = (i / P) | 0;
    const p = i - c * P;
    const wb = c * kk * Mg;
    const ob = ((c / Cg) | 0) * Mg;
    const t0 = rs[p]!;
    const t1 = rs[p + 1]!;
    for (let t = t0; t < t1; t++) {
      const w0 = wb + rk[t]! * Mg;
      const i0 = rp[t]! * M + ob;
      for (let m = 0; m < Mg; m++) I[i0 + m]! -= wt[w0 + m]!;
    }
    count += (t1 - t0) * Mg;
  }
  return count;
}

function scaleDeliver(factor: number, list: Int32Array, a: number, b: number, I: Float64Array, perm: Int32Array | null, sign: number): number {
  const w = sign * factor;
  if (perm) for (let e = a; e < b; e++) I[perm[list[e]!]!]! += w;
  else for (let e = a; e < b; e++) I[list[e]!]! += w;
  return b - a;
}

/** Deliver list[a..b) through `sp`, sign +1 (spike 1 / rate spike) or −1 (spike 2). */
export function deliverList(sp: SynapsePlan, list: Int32Array, a: number, b: number, I: Float64Array, perm: Int32Array | null, sign: 1 | -1): number {
  if (a >= b) return 0;
  switch (sp.kind) {
    case "dense":
      if (perm) return densePerm(sp.wt, sp.N, list, a, b, I, perm, sign);
      return sign > 0 ? denseOn(sp.wt, sp.N, list, a, b, I) : denseOff(sp.wt, sp.N, list, a, b, I);
    case "conv":
      return sign > 0 ? convOn(sp, list, a, b, I) : convOff(sp, list, a, b, I);
    case "scale":
      return scaleDeliver(sp.node.factor, list, a, b, I, perm, sign);
  }
}

/** I += coef · (outgoing weights of source neuron i). Returns the multiply-adds done (its fan-out). */
export function addColumn(sp: SynapsePlan, i: number, coef: number, I: Float64Array, perm: Int32Array | null): number {
  switch (sp.kind) {
    case "dense": {
      const N = sp.N;
      const wt = sp.wt;
      const base = i * N;
      if (perm) for (let j = 0; j < N; j++) I[perm[j]!]! += coef * wt[base + j]!;
      else for (let j = 0; j < N; j++) I[j]! += coef * wt[base + j]!;
      return N;
    }
    case "scale":
      I[perm ? perm[i]! : i]! += coef * sp.node.factor;
      return 1;
    case "conv": {
      const { wt, Mg, M, kk, Cg } = sp;
      const P = sp.win.H * sp.win.W;
      const c = (i / P) | 0;
      const p = i - c * P;
      const wb = c * kk * Mg;
      const ob = ((c / Cg) | 0) * Mg;
      const t0 = sp.rev.start[p]!;
      const t1 = sp.rev.start[p + 1]!;
      for (let t = t0; t < t1; t++) {
        const w0 = wb + sp.rev.k[t]! * Mg;
        const i0 = sp.rev.pos[t]! * M + ob;
        for (let m = 0; m < Mg; m++) I[i0 + m]! += coef * wt[w0 + m]!;
      }
      return (t1 - t0) * Mg;
    }
  }
}
