/**
 * A small NIR simulator for the tests: float64, plain loops, written from docs/interop.md's discrete-time
 * reading of NIR and independent of the emulator (no code shared with runtime/clock.ts or the importer):
 *
 * - subgraphs are inlined; their Input/Output nodes pass values through;
 * - each step t = 0..steps-1 every node runs once; a node's input is the sum of its incoming edges; an
 *   edge whose ends can reach each other (same strongly connected component) and whose destination is
 *   stateful (I, IF, LI, LIF, CubaLI, CubaLIF, Delay) delivers the previous step's value (0 at t = 0);
 * - forward Euler with step dt and the new input: I/IF v += dt·r·x; LI/LIF v += dt/τ·(v_leak − v + r·x);
 *   CubaLI/CubaLIF I += dt/τ_syn·(−I + w_in·x), v += dt/τ_mem·(v_leak − v + r·I); spiking nodes emit
 *   v > v_threshold and set v = v_reset; Threshold emits x > θ; Delay emits x(t − delay/dt).
 */
import type { NirArray, NirGraph, NirNode } from "../../backends/nir/format.js";

interface Flat {
  nodes: Map<string, NirNode>;
  edges: [string, string][];
}

function inline(g: NirGraph, prefix: string, out: Flat): void {
  for (const [k, n] of g.nodes) {
    if (n.type === "NIRGraph") inline(n.graph!, `${prefix}${k}/`, out);
    else out.nodes.set(prefix + k, n);
  }
  const end = (name: string, want: "Input" | "Output"): string => {
    const n = g.nodes.get(name);
    if (n && n.type !== "NIRGraph") return prefix + name;
    if (n) {
      const port = [...n.graph!.nodes].find(([, c]) => c.type === want)![0];
      return `${prefix}${name}/${port}`;
    }
    const i = name.lastIndexOf(".");
    return `${prefix}${name.slice(0, i)}/${name.slice(i + 1)}`;
  };
  for (const [a, b] of g.edges) out.edges.push([end(a, "Output"), end(b, "Input")]);
}

const STATEFUL = new Set(["I", "IF", "LI", "LIF", "CubaLI", "CubaLIF", "Delay"]);

function reach(from: string, edges: [string, string][]): Set<string> {
  const seen = new Set<string>([from]);
  const todo = [from];
  while (todo.length) {
    const v = todo.pop()!;
    for (const [a, b] of edges) if (a === v && !seen.has(b)) (seen.add(b), todo.push(b));
  }
  return seen;
}

const a = (n: NirNode, k: string): NirArray => n.params[k] as NirArray;
const list = (n: NirNode, k: string, count: number): number[] => {
  const v = n.params[k];
  return typeof v === "number" ? new Array<number>(count).fill(v) : [...(v as number[])];
};

/** Dense N-d convolution (1 or 2 spatial axes), skipping zero inputs. */
function conv(x: Float64Array, inShape: number[], n: NirNode): { y: Float64Array; shape: number[] } {
  const w = a(n, "weight");
  const sp = w.shape.length - 2;
  const [M, Cg] = [w.shape[0]!, w.shape[1]!];
  const k = w.shape.slice(2);
  const g = n.params["groups"] as number;
  const st = list(n, "stride", sp);
  const dil = list(n, "dilation", sp);
  const p = n.params["padding"];
  const pads = p === "valid" ? k.map(() => 0) : p === "same" ? k.map((kk, i) => Math.floor((dil[i]! * (kk - 1)) / 2)) : list(n, "padding", sp);
  const padEnd = p === "same" ? k.map((kk, i) => dil[i]! * (kk - 1) - pads[i]!) : pads;
  const H = sp === 2 ? inShape[1]! : 1;
  const W = inShape[sp]!;
  const [kh, kw] = sp === 2 ? [k[0]!, k[1]!] : [1, k[0]!];
  const [sh, sw] = sp === 2 ? [st[0]!, st[1]!] : [1, st[0]!];
  const [dh, dw] = sp === 2 ? [dil[0]!, dil[1]!] : [1, dil[0]!];
  const [ph, pw] = sp === 2 ? [pads[0]!, pads[1]!] : [0, pads[0]!];
  const OH = sp === 2 ? Math.floor((H + pads[0]! + padEnd[0]! - dh * (kh - 1) - 1) / sh) + 1 : 1;
  const OW = Math.floor((W + pads[sp - 1]! + padEnd[sp - 1]! - dw * (kw - 1) - 1) / sw) + 1;
  const y = new Float64Array(M * OH * OW);
  const b = a(n, "bias").data;
  for (let m = 0; m < M; m++) for (let o = 0; o < OH * OW; o++) y[m * OH * OW + o] = b[m]!;
  const Mg = M / g;
  for (let c = 0; c < inShape[0]!; c++) {
    const gi = Math.floor(c / Cg);
    for (let iy = 0; iy < H; iy++)
      for (let ix = 0; ix < W; ix++) {
        const v = x[(c * H + iy) * W + ix]!;
        if (v === 0) continue;
        for (let ky = 0; ky < kh; ky++) {
          const ty = iy + ph - ky * dh;
          if (ty < 0 || ty % sh !== 0 || ty / sh >= OH) continue;
          for (let kx = 0; kx < kw; kx++) {
            const tx = ix + pw - kx * dw;
            if (tx < 0 || tx % sw !== 0 || tx / sw >= OW) continue;
            const o = (ty / sh) * OW + tx / sw;
            for (let mm = 0; mm < Mg; mm++) {
              const m = gi * Mg + mm;
              y[m * OH * OW + o]! += v * w.data[((m * Cg + (c - gi * Cg)) * kh + ky) * kw + kx]!;
            }
          }
        }
      }
  }
  return { y, shape: sp === 2 ? [M, OH, OW] : [M, OW] };
}

function pool(x: Float64Array, inShape: number[], n: NirNode, avg: boolean): { y: Float64Array; shape: number[] } {
  const [C, H, W] = inShape as [number, number, number];
  const k = list(n, "kernel_size", 2);
  const s = list(n, "stride", 2);
  const p = list(n, "padding", 2);
  const OH = Math.floor((H + 2 * p[0]! - k[0]!) / s[0]!) + 1;
  const OW = Math.floor((W + 2 * p[1]! - k[1]!) / s[1]!) + 1;
  const y = new Float64Array(C * OH * OW);
  for (let c = 0; c < C; c++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        let acc = 0;
        for (let ky = 0; ky < k[0]!; ky++)
          for (let kx = 0; kx < k[1]!; kx++) {
            const iy = oy * s[0]! - p[0]! + ky;
            const ix = ox * s[1]! - p[1]! + kx;
            if (iy >= 0 && iy < H && ix >= 0 && ix < W) acc += x[(c * H + iy) * W + ix]!;
          }
        y[(c * OH + oy) * OW + ox] = avg ? acc / (k[0]! * k[1]!) : acc;
      }
  return { y, shape: [C, OH, OW] };
}

export interface ReferenceRun {
  /** Output node name → [steps][size] values. */
  readonly outputs: Map<string, Float64Array[]>;
  /** With `record`: every (inlined) node's values, [steps][size], named `sub/inner`. */
  readonly trace?: Map<string, Float64Array[]>;
}

/**
 * Simulate one sample. `input(t)` gives the top Input node's value at step t (per-sample, flat).
 */
export function simulateNir(g: NirGraph, dt: number, steps: number, input: (t: number) => ArrayLike<number>, record = false): ReferenceRun {
  const f: Flat = { nodes: new Map(), edges: [] };
  inline(g, "", f);
  const reachable = new Map([...f.nodes.keys()].map((k) => [k, reach(k, f.edges)]));
  const late = f.edges.map(([u, v]) => STATEFUL.has(f.nodes.get(v)!.type) && reachable.get(v)!.has(u));
  // Evaluation order: a topological order of the same-step edges.
  const order: string[] = [];
  const done = new Set<string>();
  const visit = (v: string, stack: Set<string>): void => {
    if (done.has(v)) return;
    if (stack.has(v)) throw new Error(`algebraic loop at ${v}`);
    stack.add(v);
    f.edges.forEach(([u, w], i) => {
      if (w === v && !late[i]) visit(u, stack);
    });
    stack.delete(v);
    done.add(v);
    order.push(v);
  };
  for (const k of [...f.nodes.keys()].sort()) visit(k, new Set());
  const topInput = [...g.nodes].find(([, n]) => n.type === "Input")![0];
  const cur = new Map<string, Float64Array>();
  let prev = new Map<string, Float64Array>();
  const shape = new Map<string, number[]>();
  const state = new Map<string, Float64Array[]>();
  const outputs = new Map<string, Float64Array[]>([...g.nodes].filter(([, n]) => n.type === "Output").map(([k]) => [k, []]));
  const trace = record ? new Map<string, Float64Array[]>() : undefined;
  for (let t = 0; t < steps; t++) {
    cur.clear();
    for (const k of order) {
      const n = f.nodes.get(k)!;
      let x: Float64Array | undefined;
      let xs: number[] | undefined;
      f.edges.forEach(([u, w], i) => {
        if (w !== k) return;
        const src = late[i] ? prev.get(u) : cur.get(u);
        // Before the first step a late edge carries zeros shaped like the stateful node it enters.
        const s = shape.get(u) ?? [...Object.values(n.params).find((p): p is NirArray => typeof p === "object" && p !== null && "data" in p)!.shape];
        const v = src ?? new Float64Array(s.reduce((p, q) => p * q, 1));
        if (!x) {
          x = Float64Array.from(v);
          xs = s;
        } else for (let j = 0; j < x.length; j++) x[j]! += v[j]!;
      });
      let y: Float64Array;
      let ys: number[];
      if (k === topInput) {
        ys = [...(n.params["shape"] as number[])];
        y = Float64Array.from(input(t));
      } else {
        if (!x) throw new Error(`node ${k} has no input`);
        ys = xs!;
        y = new Float64Array(x.length);
        const st = (count: number): Float64Array[] => {
          let s = state.get(k);
          if (!s) state.set(k, (s = Array.from({ length: count }, () => new Float64Array(x!.length))));
          return s;
        };
        switch (n.type) {
          case "Input":
          case "Output":
          case "Flatten":
            y = x;
            if (n.type === "Flatten") {
              const r = ys.length;
              const s0 = (n.params["start_dim"] as number) < 0 ? (n.params["start_dim"] as number) + r : (n.params["start_dim"] as number);
              const e0 = (n.params["end_dim"] as number) < 0 ? (n.params["end_dim"] as number) + r : (n.params["end_dim"] as number);
              ys = [...ys.slice(0, s0), ys.slice(s0, e0 + 1).reduce((p, q) => p * q, 1), ...ys.slice(e0 + 1)];
            }
            break;
          case "Affine":
          case "Linear": {
            const w = a(n, "weight");
            const [R, C] = [w.shape[0]!, w.shape[1]!];
            y = new Float64Array(R);
            if (n.type === "Affine") for (let r = 0; r < R; r++) y[r] = a(n, "bias").data[r]!;
            for (let c = 0; c < C; c++) {
              const v = x[c]!;
              if (v !== 0) for (let r = 0; r < R; r++) y[r]! += v * w.data[r * C + c]!;
            }
            ys = [R];
            break;
          }
          case "Conv1d":
          case "Conv2d":
            ({ y, shape: ys } = conv(x, xs!, n));
            break;
          case "SumPool2d":
          case "AvgPool2d":
            ({ y, shape: ys } = pool(x, xs!, n, n.type === "AvgPool2d"));
            break;
          case "Scale":
            for (let j = 0; j < y.length; j++) y[j] = a(n, "scale").data[j]! * x[j]!;
            break;
          case "Threshold":
            for (let j = 0; j < y.length; j++) y[j] = x[j]! > a(n, "threshold").data[j]! ? 1 : 0;
            break;
          case "Delay": {
            const hist = state.get(k) ?? [];
            state.set(k, hist);
            hist.push(x);
            for (let j = 0; j < y.length; j++) {
              const d = Math.round(a(n, "delay").data[j]! / dt);
              y[j] = t - d >= 0 ? hist[t - d]![j]! : 0;
            }
            break;
          }
          case "I":
          case "IF": {
            const [v] = st(1);
            for (let j = 0; j < y.length; j++) {
              v![j] = v![j]! + dt * a(n, "r").data[j]! * x[j]!;
              if (n.type === "I") y[j] = v![j]!;
              else if (v![j]! > a(n, "v_threshold").data[j]!) {
                y[j] = 1;
                v![j] = a(n, "v_reset").data[j]!;
              }
            }
            break;
          }
          case "LI":
          case "LIF": {
            const [v] = st(1);
            for (let j = 0; j < y.length; j++) {
              v![j] = v![j]! + (dt / a(n, "tau").data[j]!) * (a(n, "v_leak").data[j]! - v![j]! + a(n, "r").data[j]! * x[j]!);
              if (n.type === "LI") y[j] = v![j]!;
              else if (v![j]! > a(n, "v_threshold").data[j]!) {
                y[j] = 1;
                v![j] = a(n, "v_reset").data[j]!;
              }
            }
            break;
          }
          case "CubaLI":
          case "CubaLIF": {
            const [i, v] = st(2);
            for (let j = 0; j < y.length; j++) {
              i![j] = i![j]! + (dt / a(n, "tau_syn").data[j]!) * (-i![j]! + a(n, "w_in").data[j]! * x[j]!);
              v![j] = v![j]! + (dt / a(n, "tau_mem").data[j]!) * (a(n, "v_leak").data[j]! - v![j]! + a(n, "r").data[j]! * i![j]!);
              if (n.type === "CubaLI") y[j] = v![j]!;
              else if (v![j]! > a(n, "v_threshold").data[j]!) {
                y[j] = 1;
                v![j] = a(n, "v_reset").data[j]!;
              }
            }
            break;
          }
          default:
            throw new Error(`reference: ${n.type} is not simulated`);
        }
      }
      cur.set(k, y);
      shape.set(k, ys);
    }
    for (const [k, list] of outputs) list.push(cur.get(k)!);
    if (trace) for (const [k, v] of cur) (trace.get(k) ?? trace.set(k, []).get(k)!).push(v);
    prev = new Map(cur);
  }
  return { outputs, ...(trace ? { trace } : {}) };
}
