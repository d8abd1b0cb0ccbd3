/**
 * recordTrace: the membrane potential of chosen neurons at every step, checked against the closed-form
 * TSC equations (tsc.md §3.3–§3.4: V after k integration steps = b̃T + φ + Σ W̃·min(k, d), then one θ
 * per discharge step until spike 2) and the IF equations of rate coding, computed here independently of
 * the engine. Tracing must not change outputs or counts.
 */
import { describe, expect, it } from "vitest";
import { runEvent } from "../../../../backends/emulator/runtime/index.js";
import { Rng } from "../../../support/random.js";
import { NetBuilder } from "./net-builder.js";

const T = 16;
const PHI = 0.5;

/** encode [1,5,5] → conv 3×1×3×3 (pad 1, bias) → tsc → reshape → dense 75→4 (bias) → decode. */
function convNet(seed: number) {
  const rng = new Rng(seed);
  const nb = new NetBuilder("tsc", T);
  const x = nb.encode([1, 5, 5], { rounding: "floor" });
  const w1 = Array.from({ length: 3 * 9 }, () => rng.uniform(-0.3, 0.5));
  const b1 = [0.05, -0.02, 0.01];
  const z = nb.conv(x, w1, [3, 1, 3, 3], { pads: [1, 1, 1, 1] }, b1);
  const h = nb.tsc(z, { phi: PHI });
  const f = nb.reshape(h, [75]);
  const w2 = Array.from({ length: 4 * 75 }, () => rng.uniform(-0.2, 0.2));
  const b2 = [0.1, 0, -0.1, 0.2];
  nb.decode(nb.dense(f, w2, 4, b2));
  // Inputs well inside their interval: x = (d + 0.25)/T encodes to d = floor(x·T).
  const d0 = Array.from({ length: 25 }, () => rng.int(0, T));
  const input = Float32Array.from(d0, (d) => Math.min(1, (d + 0.25) / T));
  const dIn = d0.map((d, i) => Math.floor(input[i]! * T));
  return { net: nb.build(), input, dIn, w1: Float32Array.from(w1), b1: Float32Array.from(b1), w2: Float32Array.from(w2), b2: Float32Array.from(b2), tscNode: nb.nodeOf(h), decodeNode: nb.nodes.length - 1 };
}

/** Σ over the 3×3 window (pad 1) of W̃·min(k, d) for output (m, oy, ox). */
function convCharge(w: Float32Array, d: number[], m: number, oy: number, ox: number, k: number): number {
  let s = 0;
  for (let ky = 0; ky < 3; ky++) {
    for (let kx = 0; kx < 3; kx++) {
      const y = oy - 1 + ky;
      const x = ox - 1 + kx;
      if (y < 0 || y >= 5 || x < 0 || x >= 5) continue;
      s += w[m * 9 + ky * 3 + kx]! * Math.min(k, d[y * 5 + x]!);
    }
  }
  return s;
}

describe("recordTrace on the TSC event engine", () => {
  const ex = convNet(7);
  const traced = [0, 7, 31, 40, 74];
  const r = runEvent(ex.net, ex.input, 1, { recordTrace: [{ node: ex.tscNode, neurons: traced }, { node: ex.decodeNode, neurons: [0, 3] }], recordIntervals: true });
  const tr = r.traces![0]!;
  const steps = r.latency;

  it("covers t = 0..latency for each traced neuron", () => {
    expect(steps).toBe(2 * T);
    expect(tr.steps).toBe(steps);
    expect(tr.v.length).toBe(traced.length * (steps + 1));
  });

  it("integration: V(k) = b̃T + φ + Σ W̃·min(k, d) for k = 0..T; fire: one θ per step, spikes at T and T + d", () => {
    let firing = 0;
    traced.forEach((j, q) => {
      const m = Math.floor(j / 25);
      const oy = Math.floor((j % 25) / 5);
      const ox = j % 5;
      const row = tr.v.subarray(q * (steps + 1), (q + 1) * (steps + 1));
      for (let k = 0; k <= T; k++) expect(row[k]).toBeCloseTo(ex.b1[m]! * T + PHI + convCharge(ex.w1, ex.dIn, m, oy, ox, k), 9);
      const vEnd = row[T]!;
      const d = Math.min(T, Math.max(0, Math.floor(vEnd)));
      expect(r.intervals![ex.net.nodes[ex.tscNode]!.out]![j]).toBe(d);
      for (let k = 1; k <= T; k++) expect(row[T + k]).toBeCloseTo(vEnd - Math.min(k, d), 9);
      const sp = tr.spikes.subarray(q * (steps + 1), (q + 1) * (steps + 1));
      const events = [...sp].flatMap((s, t) => (s ? [[t, s]] : []));
      expect(events).toEqual(d > 0 ? [[T, 1], [T + d, 2]] : []);
      if (d > 0) firing++;
    });
    expect(firing).toBeGreaterThan(0); // the case is not vacuous
    expect(firing).toBeLessThan(traced.length + 1);
  });

  it("decode: NaN before its window, then b̃T + Σ W̃·min(k, d_hidden), held to the read-out", () => {
    const out = r.traces![1]!;
    const dh = Array.from(r.intervals![ex.net.nodes[ex.tscNode]!.out]!);
    [0, 3].forEach((n, q) => {
      const row = out.v.subarray(q * (steps + 1), (q + 1) * (steps + 1));
      for (let t = 0; t < T; t++) expect(row[t]).toBeNaN();
      for (let k = 0; k <= T; k++) {
        let s = ex.b2[n]! * T;
        for (let i = 0; i < 75; i++) s += ex.w2[n * 75 + i]! * Math.min(k, dh[i]!);
        expect(row[T + k]).toBeCloseTo(s, 9);
      }
      expect(r.outputs[0]![n]).toBeCloseTo(row[steps]! / T, 5);
    });
  });

  it("does not change outputs or counters", () => {
    const plain = runEvent(ex.net, ex.input, 1);
    expect(Array.from(r.outputs[0]!)).toEqual(Array.from(plain.outputs[0]!));
    expect(r.counters).toEqual(plain.counters);
  });

  it("rejects a node without a membrane and neurons out of range", () => {
    expect(() => runEvent(ex.net, ex.input, 1, { recordTrace: [{ node: 1, neurons: [0] }] })).toThrow(/node 1 is a conv node/);
    expect(() => runEvent(ex.net, ex.input, 1, { recordTrace: [{ node: ex.tscNode, neurons: [75] }] })).toThrow(/outside \[0, 75\)/);
  });
});

describe("recordTrace with per-layer windows", () => {
  it("a T = 16 layer reading a T_s = 8 encoder: V(k) = b̃T + φ + (T/T_s)·Σ W̃·min(k, d) over the source's 8 steps, then 16 discharge steps at most", () => {
    const nb = new NetBuilder("tsc", 16);
    const x = nb.encode([3], { window: 8 });
    const w = [0.5, 0.25, -0.125];
    const h = nb.tsc(nb.dense(x, w, 1, [0.05]), { phi: 0.5, window: 16 });
    nb.decode(nb.dense(h, [1], 1));
    const d = [6, 3, 8];
    const input = Float32Array.from(d, (v) => (v + 0.25) / 8 > 1 ? 1 : (v + 0.25) / 8);
    const node = nb.nodeOf(h);
    const r = runEvent(nb.build(), input, 1, { recordTrace: [{ node, neurons: [0] }] });
    const v = r.traces![0]!.v;
    for (let k = 0; k <= 8; k++) expect(v[k]).toBeCloseTo(Math.fround(0.05) * 16 + 0.5 + 2 * w.reduce((a, wi, i) => a + wi * Math.min(k, d[i]!), 0), 12);
    const vEnd = v[8]!;
    const out = Math.min(16, Math.floor(vEnd));
    expect(out).toBeGreaterThan(0);
    for (let k = 1; k <= 16; k++) expect(v[8 + k]).toBeCloseTo(vEnd - Math.min(k, out), 12);
    const sp = [...r.traces![0]!.spikes].flatMap((s, t) => (s ? [[t, s]] : []));
    expect(sp).toEqual([[8, 1], [8 + out, 2]]);
  });
});

describe("recordTrace on the rate engine", () => {
  it("IF with constant current: V(t) = v0 + t·I − θ·n(t), a spike whenever v0 + t·I crosses a multiple of θ", () => {
    const W = 40;
    const nb = new NetBuilder("rate", W);
    const x = nb.encode([2], { mode: "current" });
    const wts = [0.3, 0.2, 0.13, 0.05]; // I = 0.335 and 0.1225: 0.5 + t·I stays away from integers for t ≤ 40
    const h = nb.ifn(nb.dense(x, wts, 2, [0.01, 0.0]), { vInit: 0.5 });
    nb.decode(nb.dense(h, [1, 1], 1));
    const net = nb.build();
    const input = new Float32Array([0.75, 0.5]);
    const r = runEvent(net, input, 1, { recordTrace: [{ node: nb.nodeOf(h), neurons: [0, 1] }] });
    const tr = r.traces![0]!;
    for (const j of [0, 1]) {
      const I = Math.fround(wts[2 * j]!) * 0.75 + Math.fround(wts[2 * j + 1]!) * 0.5 + (j === 0 ? Math.fround(0.01) : 0);
      let spikes = 0;
      for (let t = 0; t <= W; t++) {
        const drive = 0.5 + t * I;
        const n = Math.max(0, Math.floor(drive + 1e-12)); // subtractive reset, θ = 1, I ≥ 0 here
        expect(tr.v[j * (W + 1) + t]).toBeCloseTo(drive - n, 9);
        expect(tr.spikes[j * (W + 1) + t]).toBe(n > spikes ? 1 : 0);
        spikes = n;
      }
      expect(spikes).toBeGreaterThan(3);
    }
    expect(r.outputs).toEqual(runEvent(net, input, 1).outputs);
  });
});
