/**
 * The bit-accurate engine of leaky CUBA compartments against independent computations: a tiny network
 * worked out by hand (decay truncation towards zero, the built-in one-step delay, depths, the read-out
 * in units of Θ), register overflow and wrapping, and a float64 re-implementation of the documented
 * integer update (direct matrix products and convolution loops, no CSR) on random networks with conv,
 * dense and one-to-one groups and programmed delays.
 */
import { describe, expect, it } from "vitest";
import { decayInt, runLeaky, type LeakyGroupDef, type LeakyNet, type LeakyPopDef } from "../../../backends/loihi/leaky-engine.js";
import { mulberry32 } from "../../support/random.js";

function net(pops: LeakyPopDef[], outputs: { name: string; pop: number }[], regs = { qBits: 21, uBits: 24, vBits: 24 }): LeakyNet {
  return { format: "leaky", pops, outputs, regs, events: { q_overflows: 0, u_wraps: 0, v_saturations: 0 } };
}

const input = (size: number): LeakyPopDef => ({ name: "input", kind: "input", size, depth: 0, theta: 1, groups: [] });
const f = (a: number[]): Float32Array => Float32Array.from(a);

describe("leaky CUBA engine", () => {
  it("decays towards zero by ⌊|x|·(4096 − δ)/4096⌋", () => {
    expect(decayInt(65, 1024)).toBe(48);
    expect(decayInt(-25, 1024)).toBe(-18);
    expect(decayInt(40, 2048)).toBe(20);
    expect(decayInt(-1, 1)).toBe(0);
    expect(decayInt(7, 4096)).toBe(0);
    expect(decayInt(-7, 0)).toBe(-7);
  });

  it("a hand-computed LIF → CubaLI chain", () => {
    // LIF: δu = 4096, δv = 1024, Θ = 100, bias 5, W = [60, −30]; read-out: δu = 2048, δv = 0, Θ = 10, W = 40.
    const lif: LeakyPopDef = { name: "lif", kind: "lif", size: 1, depth: 1, theta: 100, du: f([4096]), dv: f([1024]), bias: f([5]), groups: [{ source: 0, delay: 0, kind: "dense", w: f([60, -30]) }] };
    const li: LeakyPopDef = { name: "li", kind: "li", size: 1, depth: 2, theta: 10, du: f([2048]), dv: f([0]), bias: f([0]), current: true, groups: [{ source: 1, delay: 0, kind: "scale", factor: 40 }] };
    const n = net([input(2), lif, li], [{ name: "s", pop: 1 }, { name: "v", pop: 2 }]);
    const x = f([1, 0, 1, 0, 0, 1, 1, 1, 0, 0]);
    const r = runLeaky(n, x, 1);
    // Chip steps 1–5: v = 65; ⌊65·¾⌋ + 60 + 5 = 113 > 100 → spike, v = 0; −30 + 5 = −25; −18 + 30 + 5 = 17; 12 + 5 = 17.
    expect(Array.from(r.outputs[0]!)).toEqual([0, 1, 0, 0, 0]);
    // The spike of graph step 1 reaches the read-out one step later: u = 40, 20, 10, 5 → v = 40, 60, 70, 75.
    expect(Array.from(r.outputs[1]!)).toEqual([0, 4, 6, 7, 7.5]);
    expect(r.counters.synaptic_additions).toBe(6);
    expect(r.counters.spikes).toBe(1);
    // Updates in each population's 5 graph steps: one register for the LIF, two for the current-based read-out.
    expect(r.counters.neuron_updates).toBe(5 + 10);
  });

  it("q overflows and u wraps are counted and wrap like the registers", () => {
    const p: LeakyPopDef = { name: "p", kind: "li", size: 1, depth: 1, theta: 1, du: f([4096]), dv: f([4096]), bias: f([0]), groups: [{ source: 0, delay: 0, kind: "dense", w: f([60, 30]) }] };
    const n = net([input(2), p], [{ name: "v", pop: 1 }], { qBits: 6, uBits: 8, vBits: 8 });
    const r = runLeaky(n, f([1, 1]), 1);
    // q = 90 > 2^6 − 1: wraps in 7 bits to 90 − 128 = −38.
    expect(n.events.q_overflows).toBe(1);
    expect(Array.from(r.outputs[0]!)).toEqual([-38]);
    const u: LeakyPopDef = { ...p, du: f([2048]), groups: [{ source: 0, delay: 0, kind: "dense", w: f([50, 0]) }] };
    const n2 = net([input(2), u], [{ name: "v", pop: 1 }], { qBits: 21, uBits: 8, vBits: 24 });
    // u: 50, 25 + 50 = 75, 37 + 50 = 87, 43 + 50 = 93, 46 + 50 = 96, 48 + 50 = 98 … ≥ 128 never; with W = 100: 100, 150 → wraps to −106.
    n2.pops[1]!.groups[0]!.w!.set([100, 0]);
    const r2 = runLeaky(n2, f([1, 0, 1, 0]), 1);
    expect(n2.events.u_wraps).toBe(1);
    expect(Array.from(r2.outputs[0]!)).toEqual([100, 150 - 256]);
  });

  it("equals a float64 re-implementation of the integer update on random networks", () => {
    const rnd = mulberry32(7);
    const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
    const geo = { C: 2, H: 5, W: 5, M: 3, OH: 5, OW: 5, kh: 3, kw: 3, sh: 1, sw: 1, pt: 1, pl: 1, dh: 1, dw: 1, group: 1 };
    for (let trial = 0; trial < 4; trial++) {
      const conv: LeakyGroupDef = { source: 0, delay: 0, kind: "conv", geo, w: Float32Array.from({ length: 3 * 2 * 9 }, () => int(-40, 60) * 8) };
      const a: LeakyPopDef = { name: "a", kind: "lif", size: 75, depth: 1, theta: 512, du: Float32Array.from({ length: 75 }, () => int(1, 4096)), dv: Float32Array.from({ length: 75 }, () => int(0, 4095)), bias: Float32Array.from({ length: 75 }, () => int(-20, 40)), current: true, groups: [conv] };
      const dense: LeakyGroupDef = { source: 1, delay: 0, kind: "dense", w: Float32Array.from({ length: 4 * 75 }, () => int(-127, 127) * 4) };
      // A skip from the input, one programmed step later (the input is shallower by one population).
      const skip: LeakyGroupDef = { source: 0, delay: 1, kind: "dense", w: Float32Array.from({ length: 4 * 50 }, () => int(-60, 60)) };
      const b: LeakyPopDef = { name: "b", kind: "li", size: 4, depth: 2, theta: 256, du: Float32Array.from({ length: 4 }, () => int(1, 4096)), dv: Float32Array.from({ length: 4 }, () => int(1, 4095)), bias: Float32Array.from({ length: 4 }, () => int(-5, 5)), groups: [dense, skip] };
      const n = net([input(50), a, b], [{ name: "spikes", pop: 1 }, { name: "v", pop: 2 }]);
      const steps = 12;
      const batch = 2;
      const x = Float32Array.from({ length: steps * batch * 50 }, () => (rnd() < 0.3 ? 1 : 0));
      const r = runLeaky(n, x, batch);
      // Independent: per sample, chip steps 0 … steps + 1, direct products.
      const tr = (v: number, d: number): number => Math.sign(v) * Math.floor((Math.abs(v) * (4096 - d)) / 4096) + 0;
      for (let s0 = 0; s0 < batch; s0++) {
        const spikesA: number[][] = [];
        const inp = (t: number): number[] => (t >= 0 && t < steps ? Array.from(x.subarray((t * batch + s0) * 50, (t * batch + s0 + 1) * 50)) : new Array<number>(50).fill(0));
        const uA = new Array<number>(75).fill(0);
        const vA = new Array<number>(75).fill(0);
        const uB = new Array<number>(4).fill(0);
        const vB = new Array<number>(4).fill(0);
        for (let s = 0; s < steps + 2; s++) {
          const out: number[] = new Array<number>(75).fill(0);
          if (s >= 1) {
            const xin = inp(s - 1);
            for (let m = 0; m < 3; m++)
              for (let oy = 0; oy < 5; oy++)
                for (let ox = 0; ox < 5; ox++) {
                  let q = 0;
                  for (let c = 0; c < 2; c++)
                    for (let ky = 0; ky < 3; ky++)
                      for (let kx = 0; kx < 3; kx++) {
                        const y = oy + ky - 1;
                        const xx = ox + kx - 1;
                        if (y >= 0 && y < 5 && xx >= 0 && xx < 5) q += conv.w![((m * 2 + c) * 3 + ky) * 3 + kx]! * xin[c * 25 + y * 5 + xx]!;
                      }
                  const j = m * 25 + oy * 5 + ox;
                  uA[j] = tr(uA[j]!, a.du![j]!) + q;
                  vA[j] = tr(vA[j]!, a.dv![j]!) + uA[j]! + a.bias![j]!;
                  if (vA[j]! > 512) {
                    vA[j] = 0;
                    out[j] = 1;
                  }
                }
          }
          spikesA.push(out);
          if (s >= 2) {
            const prev = spikesA[s - 1]!;
            const xs = inp(s - 2);
            for (let i = 0; i < 4; i++) {
              let q = 0;
              for (let k = 0; k < 75; k++) q += dense.w![i * 75 + k]! * prev[k]!;
              for (let k = 0; k < 50; k++) q += skip.w![i * 50 + k]! * xs[k]!;
              uB[i] = tr(uB[i]!, b.du![i]!) + q;
              vB[i] = tr(vB[i]!, b.dv![i]!) + uB[i]! + b.bias![i]!;
              expect(r.outputs[1]![((s - 2) * batch + s0) * 4 + i], `trial ${trial} sample ${s0} step ${s - 2}`).toBe(vB[i]! / 256);
            }
          }
          if (s >= 1 && s - 1 < steps) for (let j = 0; j < 75; j++) expect(r.outputs[0]![((s - 1) * batch + s0) * 75 + j]).toBe(out[j]);
        }
      }
      expect(n.events).toEqual({ q_overflows: 0, u_wraps: 0, v_saturations: 0 });
      expect(r.counters.spikes).toBeGreaterThan(0);
    }
  });
});
