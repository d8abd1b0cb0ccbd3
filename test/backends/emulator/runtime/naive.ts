/**
 * An independent, deliberately naive implementation of tsc.md §8.4 for the tests: plain nested loops per
 * sample, its own window bookkeeping and its own synapse counting (every conv connection is enumerated
 * from the output side). It shares nothing with the runtime but the Network data structure.
 *
 * Per-layer windows: every population has its own T (node.window ?? net.window); a source of window T_s
 * stands for d/T_s, so
 *   d_0 = clamp(floor|round(x·T₀/scale), 0, T₀);   V = T·(Σb̃ + Σ_sources W̃ d/T_s) + φ;   d = clip(floor(V/θ), 0, T)
 *   max pool = max of intervals; decode = λ·V/T
 * Counts: synaptic additions per synapse node = Σ_i fanout_i · (2 if 0 < d_i < T_s, 1 if d_i = T_s);
 * neuron updates = n·(1 + Σ steps of the distinct source windows) + Σd (tsc), the same without Σd (decode);
 * spikes = 2·#(d > 0).
 */
import type { Network } from "../../../../backends/emulator/runtime/network.js";

interface Charge {
  bias: number[];
  /** Synapse groups feeding it: node, source value and W̃ d of that group alone. */
  terms: { node: number; source: number; v: number[] }[];
}

export interface NaiveResult {
  /** Per spikes value id: intervals [batch × size]. */
  intervals: Map<number, number[]>;
  outputs: Float32Array[];
  syn: number[];
  neuron: number[];
  spikes: number[];
  /** Per synapse node: number of synapses (connections). */
  synapses: number[];
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export function naiveClosedForm(net: Network, x: Float32Array, batch: number): NaiveResult {
  const windowOf = (n: Network["nodes"][number]): number => ("window" in n && n.window !== undefined ? n.window : net.window);
  const nn = net.nodes.length;
  const syn = new Array<number>(nn).fill(0);
  const neuron = new Array<number>(nn).fill(0);
  const spikes = new Array<number>(nn).fill(0);
  const synapses = new Array<number>(nn).fill(0);
  const intervals = new Map<number, number[]>();
  const outputs = net.outputs.map((o) => new Float32Array(batch * prod(net.values[o.value]!.shape)));
  // Windows [start, start + T) of spikes values, computed independently of schedule.ts.
  const win = new Map<number, { start: number; T: number }>();
  const fan = new Map<number, number[]>(); // synapse node → fan-out per source neuron
  for (let b = 0; b < batch; b++) {
    const S = new Map<number, number[]>(); // spikes value → intervals
    const Q = new Map<number, Charge>();
    net.nodes.forEach((n, ni) => {
      switch (n.kind) {
        case "encode": {
          const T = windowOf(n);
          const shape = net.values[n.out]!.shape;
          const [pt, pl, pb, pr] = n.pads.length ? n.pads : [0, 0, 0, 0];
          const out: number[] = [];
          if (shape.length === 3) {
            const [C, Hp, Wp] = shape as [number, number, number];
            const H = Hp - pt! - pb!;
            const W = Wp - pl! - pr!;
            for (let c = 0; c < C; c++) {
              for (let y = 0; y < Hp; y++) {
                for (let xx = 0; xx < Wp; xx++) {
                  const yi = y - pt!;
                  const xi = xx - pl!;
                  const inside = yi >= 0 && yi < H && xi >= 0 && xi < W;
                  const v = inside ? x[b * C * H * W + (c * H + yi) * W + xi]! : (n.padValues[c] ?? 0);
                  out.push(enc(v, T, n.scale, n.rounding));
                }
              }
            }
          } else {
            const size = prod(shape);
            for (let j = 0; j < size; j++) out.push(enc(x[b * size + j]!, T, n.scale, n.rounding));
          }
          S.set(n.out, out);
          win.set(n.out, { start: 0, T });
          spikes[ni]! += 2 * out.filter((d) => d > 0).length;
          break;
        }
        case "dense": {
          const d = S.get(n.in)!;
          const K = d.length;
          const N = n.w.length / K;
          const v = new Array<number>(N).fill(0);
          for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) v[j]! += n.w[j * K + k]! * d[k]!;
          Q.set(n.out, { bias: n.b ? [...n.b] : new Array<number>(N).fill(0), terms: [{ node: ni, source: n.in, v }] });
          if (!fan.has(ni)) fan.set(ni, new Array<number>(K).fill(N));
          synapses[ni] = K * N;
          break;
        }
        case "scale": {
          const d = S.get(n.in)!;
          Q.set(n.out, { bias: d.map(() => 0), terms: [{ node: ni, source: n.in, v: d.map((di) => n.factor * di) }] });
          if (!fan.has(ni)) fan.set(ni, d.map(() => 1));
          synapses[ni] = d.length;
          break;
        }
        case "conv": {
          const d = S.get(n.in)!;
          const [C, H, W] = net.values[n.in]!.shape as [number, number, number];
          const [M, OH, OW] = net.values[n.out]!.shape as [number, number, number];
          const [, Cg, kh, kw] = n.wShape;
          const Mg = M / n.group;
          const v = new Array<number>(M * OH * OW).fill(0);
          const f = new Array<number>(C * H * W).fill(0);
          for (let m = 0; m < M; m++) {
            const g = Math.floor(m / Mg);
            for (let oy = 0; oy < OH; oy++) {
              for (let ox = 0; ox < OW; ox++) {
                let acc = 0;
                for (let cg = 0; cg < Cg; cg++) {
                  const c = g * Cg + cg;
                  for (let ky = 0; ky < kh; ky++) {
                    for (let kx = 0; kx < kw; kx++) {
                      const y = oy * n.strides[0] - n.pads[0] + ky * n.dilations[0];
                      const xx = ox * n.strides[1] - n.pads[1] + kx * n.dilations[1];
                      if (y < 0 || y >= H || xx < 0 || xx >= W) continue;
                      acc += n.w[((m * Cg + cg) * kh + ky) * kw + kx]! * d[(c * H + y) * W + xx]!;
                      f[(c * H + y) * W + xx]!++;
                    }
                  }
                }
                v[(m * OH + oy) * OW + ox] = acc;
              }
            }
          }
          const bias = new Array<number>(M * OH * OW).fill(0);
          if (n.b) for (let m = 0; m < M; m++) for (let p = 0; p < OH * OW; p++) bias[m * OH * OW + p] = n.b[m]!;
          Q.set(n.out, { bias, terms: [{ node: ni, source: n.in, v }] });
          if (!fan.has(ni)) fan.set(ni, f);
          synapses[ni] = f.reduce((a, c) => a + c, 0);
          break;
        }
        case "add": {
          const a = Q.get(n.a)!;
          const c = Q.get(n.b)!;
          Q.set(n.out, { bias: a.bias.map((x1, j) => x1 + c.bias[j]!), terms: [...a.terms, ...c.terms] });
          break;
        }
        case "tsc":
        case "decode": {
          const q = Q.get(n.in)!;
          const T = windowOf(n);
          const windows = new Map(q.terms.map((t) => [`${win.get(t.source)!.start}:${win.get(t.source)!.T}`, win.get(t.source)!]));
          for (const t of q.terms) {
            const d = S.get(t.source)!;
            const f = fan.get(t.node)!;
            const Ts = win.get(t.source)!.T;
            for (let i = 0; i < d.length; i++) if (d[i]! > 0) syn[t.node]! += f[i]! * (d[i]! < Ts ? 2 : 1);
          }
          const n1 = q.bias.length;
          // Σ over the groups of (T/T_s)·W̃ d: the population's own units.
          const c = new Array<number>(n1).fill(0);
          for (const t of q.terms) for (let j = 0; j < n1; j++) c[j]! += (T / win.get(t.source)!.T) * t.v[j]!;
          neuron[ni]! += n1 * (1 + [...windows.values()].reduce((a, w) => a + w.T, 0));
          if (n.kind === "tsc") {
            const out = c.map((cj, j) => {
              const V = q.bias[j]! * T + n.phi + cj;
              return Math.min(T, Math.max(0, Math.floor(V / n.theta)));
            });
            S.set(n.out, out);
            win.set(n.out, { start: Math.max(...[...windows.values()].map((w) => w.start + w.T)), T });
            neuron[ni]! += out.reduce((a, d) => a + d, 0);
            spikes[ni]! += 2 * out.filter((d) => d > 0).length;
          } else {
            const k = net.outputs.findIndex((o) => o.value === n.out);
            for (let j = 0; j < n1; j++) outputs[k]![b * n1 + j] = (n.lambda * (c[j]! + q.bias[j]! * T)) / T;
          }
          break;
        }
        case "maxpool": {
          const d = S.get(n.in)!;
          const [C, H, W] = net.values[n.in]!.shape as [number, number, number];
          const [, OH, OW] = net.values[n.out]!.shape as [number, number, number];
          const out: number[] = [];
          for (let c = 0; c < C; c++) {
            for (let oy = 0; oy < OH; oy++) {
              for (let ox = 0; ox < OW; ox++) {
                let m = 0;
                for (let ky = 0; ky < n.kernel[0]; ky++) {
                  for (let kx = 0; kx < n.kernel[1]; kx++) {
                    const y = oy * n.strides[0] - n.pads[0] + ky;
                    const xx = ox * n.strides[1] - n.pads[1] + kx;
                    if (y >= 0 && y < H && xx >= 0 && xx < W) m = Math.max(m, d[(c * H + y) * W + xx]!);
                  }
                }
                out.push(m);
              }
            }
          }
          S.set(n.out, out);
          win.set(n.out, win.get(n.in)!);
          break;
        }
        case "reshape":
          S.set(n.out, S.get(n.in)!);
          win.set(n.out, win.get(n.in)!);
          break;
        case "concat": {
          const shape = net.values[n.out]!.shape;
          const outer = prod(shape.slice(0, n.axis));
          const inner = prod(shape.slice(n.axis + 1));
          const out: number[] = [];
          for (let o = 0; o < outer; o++) {
            for (const v of n.ins) {
              const a = net.values[v]!.shape[n.axis]!;
              const d = S.get(v)!;
              for (let i = 0; i < a * inner; i++) out.push(d[o * a * inner + i]!);
            }
          }
          S.set(n.out, out);
          win.set(n.out, win.get(n.ins[0]!)!);
          break;
        }
        default:
          throw new Error(`naive: ${n.kind} not supported`);
      }
    });
    for (const [v, d] of S) {
      let a = intervals.get(v);
      if (!a) intervals.set(v, (a = []));
      a.push(...d);
    }
  }
  return { intervals, outputs, syn, neuron, spikes, synapses };
}

function enc(x: number, T: number, scale: number, rounding: "round" | "floor"): number {
  const u = (x * T) / scale;
  const r = rounding === "floor" ? Math.floor(u) : Math.round(u);
  return Math.min(T, Math.max(0, r));
}
