/**
 * Event engine = closed form = naive §8.4 loops (tsc.md §12.1), bit for bit, on dyadic weights, biases
 * and inputs (multiples of 1/256, so every float64 sum is exact): every layer's intervals, the outputs,
 * and the operation counters (event engine's counts = closed form's analytic counts = naive counts).
 */
import { describe, expect, it } from "vitest";
import type { Network } from "../../../../backends/emulator/runtime/network.js";
import { runClosedForm, runEvent, type RunResult } from "../../../../backends/emulator/runtime/index.js";
import { Rng } from "../../../support/random.js";
import { naiveClosedForm } from "./naive.js";
import { NetBuilder } from "./net-builder.js";

/** n dyadic values k/256 with k uniform in [lo·256, hi·256]. */
function dyadic(rng: Rng, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => rng.int(Math.round(lo * 256), Math.round(hi * 256)) / 256);
}

/** Per-population windows of the §12.1 fixture (per-layer windows); absent: every population has T. */
interface FixtureWindows {
  x?: number;
  h1?: number;
  b?: number;
  r?: number;
  out?: number;
}

/** The §12.1 fixture: 16 → dense 32 → max-pool pairs → dense 16 → residual(shortcut 16→16 from pool, branch 16→16) → dense 10. */
function fixture(T: number, phi: number, seed: number, w: FixtureWindows = {}) {
  const rng = new Rng(seed);
  const nb = new NetBuilder("tsc", T);
  const x = nb.encode([16], { rounding: phi > 0 ? "round" : "floor", window: w.x });
  const h1 = nb.tsc(nb.dense(x, dyadic(rng, 32 * 16, -0.375, 0.5), 32, dyadic(rng, 32, -0.125, 0.25)), { phi, lambda: 2, window: w.h1 });
  const pool = nb.maxpool(nb.reshape(h1, [1, 1, 32]), [1, 2], [1, 2]); // pairs (2k, 2k+1)
  const p = nb.reshape(pool, [16]);
  const b = nb.tsc(nb.dense(p, dyadic(rng, 256, -0.375, 0.5), 16, dyadic(rng, 16, -0.125, 0.25)), { phi, window: w.b });
  const shortcut = nb.dense(p, dyadic(rng, 256, -0.3125, 0.375), 16, dyadic(rng, 16, -0.125, 0.125));
  const branch = nb.dense(b, dyadic(rng, 256, -0.3125, 0.375), 16);
  const r = nb.tsc(nb.add(shortcut, branch), { phi, window: w.r });
  nb.decode(nb.dense(r, dyadic(rng, 160, -0.5, 0.5), 10, dyadic(rng, 10, -0.25, 0.25)), 3, w.out);
  return { net: nb.build(), spikes: { x, h1, pool, b, r } };
}

/** Bit-equality of two numeric arrays, reporting the first mismatch (much faster than a deep toEqual). */
function expectSame(got: ArrayLike<number> | undefined, want: ArrayLike<number>, what: string): void {
  expect(got, what).toBeDefined();
  expect(got!.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got![i], want[i])) expect(`${what}[${i}] = ${got![i]}`).toBe(`${what}[${i}] = ${want[i]}`);
  }
}

function expectAllEqual(net: Network, ev: RunResult, cf: RunResult, input: Float32Array, batch: number): void {
  const nv = naiveClosedForm(net, input, batch);
  // Intervals of every spikes value.
  net.values.forEach((v, id) => {
    if (v.kind !== "spikes") return;
    const want = nv.intervals.get(id)!;
    expectSame(ev.intervals![id]!, want, `event intervals of ${v.name}`);
    expectSame(cf.intervals![id]!, want, `closed-form intervals of ${v.name}`);
  });
  // Outputs, bit for bit.
  nv.outputs.forEach((o, k) => {
    expectSame(ev.outputs[k], o, `event output ${k}`);
    expectSame(cf.outputs[k], o, `closed-form output ${k}`);
  });
  // Counters: event = closed form exactly, and both = the naive counts.
  expect(ev.counters).toEqual(cf.counters);
  ev.counters.layers.forEach((l, i) => {
    expect(l.synaptic_additions, `synaptic additions of node ${i}`).toBe(nv.syn[i]);
    expect(l.memory_reads).toBe(nv.syn[i]);
    expect(l.neuron_updates, `neuron updates of node ${i}`).toBe(nv.neuron[i]);
    expect(l.spikes, `spikes of node ${i}`).toBe(nv.spikes[i]);
    // At most 2 synaptic events per synapse per sample.
    expect(l.synaptic_additions).toBeLessThanOrEqual(2 * nv.synapses[i]! * batch);
  });
  expect(ev.counters.spikes_per_neuron_max).toBeLessThanOrEqual(2);
}

describe("§12.1 fixture: event engine = closed form = naive §8.4", () => {
  const N = 200;
  for (const T of [4, 8, 16, 64, 256]) {
    for (const phi of [0, 0.5]) {
      it(`T = ${T}, φ = ${phi}`, () => {
        const { net, spikes } = fixture(T, phi, 1000 + T + (phi > 0 ? 1 : 0));
        const rng = new Rng(T * 7 + (phi > 0 ? 3 : 0));
        const input = Float32Array.from(dyadic(rng, N * 16, 0, 1));
        const ev = runEvent(net, input, N, { recordIntervals: true });
        const cf = runClosedForm(net, input, N, { recordIntervals: true, chunk: 37 });
        expectAllEqual(net, ev, cf, input, N);
        // The fixture exercises silence, partial intervals and saturation in every hidden layer.
        for (const v of [spikes.h1, spikes.b, spikes.r]) {
          const d = ev.intervals![v]!;
          expect(d.some((x) => x === 0)).toBe(true);
          expect(d.some((x) => x > 0 && x < T)).toBe(true);
          expect(d.some((x) => x === T)).toBe(true);
        }
      });
    }
  }
});

describe("per-layer windows: event engine = closed form = naive, with each population's own T", () => {
  const N = 200;
  // Power-of-two windows keep every gain T/T_s dyadic, so the float64 sums stay exact.
  const cases: [string, number, FixtureWindows][] = [
    ["encoder 8, h1 4, b 16, r 2, read-out 8", 32, { x: 8, h1: 4, b: 16, r: 2, out: 8 }],
    ["encoder 64, hidden 4, read-out default", 16, { x: 64, h1: 4, b: 4, r: 4 }],
    ["shortcut source 32, branch 2", 8, { x: 4, h1: 32, b: 2, r: 16, out: 2 }],
  ];
  for (const [name, T, w] of cases) {
    for (const phi of [0, 0.5]) {
      it(`${name}, φ = ${phi}`, () => {
        const { net, spikes } = fixture(T, phi, 4000 + T + (phi > 0 ? 1 : 0), w);
        const rng = new Rng(T * 13 + (phi > 0 ? 5 : 0));
        const input = Float32Array.from(dyadic(rng, N * 16, 0, 1));
        const ev = runEvent(net, input, N, { recordIntervals: true, recordSpikeTimes: true });
        const cf = runClosedForm(net, input, N, { recordIntervals: true, chunk: 41 });
        expectAllEqual(net, ev, cf, input, N);
        // Each population fires within its own window: intervals up to its T, saturation reached.
        const own = { x: w.x ?? T, h1: w.h1 ?? T, b: w.b ?? T, r: w.r ?? T };
        for (const [k, v] of [["x", spikes.x], ["h1", spikes.h1], ["b", spikes.b], ["r", spikes.r]] as const) {
          const d = ev.intervals![v]!;
          expect(Math.max(...d), `${k}: largest interval`).toBe(own[k]);
        }
        // The schedule: windows follow each other; latency = Σ of the windows on the longest path.
        expect(ev.latency).toBe(own.x + own.h1 + own.b + own.r);
        const on = ev.spikeTimes![spikes.b]!.on.filter((t) => t >= 0);
        expect(Math.min(...on)).toBe(own.x + own.h1);
      });
    }
  }

  it("arbitrary (non-power-of-two) windows: outputs agree to float rounding, intervals differ only at ties", () => {
    const { net, spikes } = fixture(12, 0.5, 4242, { x: 5, h1: 7, b: 3, r: 12, out: 6 });
    const rng = new Rng(77);
    const input = Float32Array.from(dyadic(rng, 100 * 16, 0, 1));
    const ev = runEvent(net, input, 100, { recordIntervals: true });
    const cf = runClosedForm(net, input, 100, { recordIntervals: true });
    for (const v of [spikes.h1, spikes.b, spikes.r]) {
      let diff = 0;
      ev.intervals![v]!.forEach((d, j) => (diff += Math.abs(d - cf.intervals![v]![j]!)));
      expect(diff).toBeLessThanOrEqual(cf.ties![v]!);
    }
    ev.outputs[0]!.forEach((o, j) => expect(o).toBeCloseTo(cf.outputs[0]![j]!, 9));
  });
});

/** conv (stride 2, pad 1, group 2) → 2×2 max pool → conv (dilation 2, pad 2) → dense → decode. */
function convNetA(T: number, phi: number, seed: number) {
  const rng = new Rng(seed);
  const nb = new NetBuilder("tsc", T);
  const x = nb.encode([2, 12, 12], { rounding: phi > 0 ? "round" : "floor" });
  const c1 = nb.tsc(nb.conv(x, dyadic(rng, 4 * 1 * 9, -0.25, 0.375), [4, 1, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1], group: 2 }, dyadic(rng, 4, -0.125, 0.125)), { phi });
  const p = nb.maxpool(c1, [2, 2], [2, 2]); // [4, 3, 3]
  const c2 = nb.tsc(nb.conv(p, dyadic(rng, 6 * 4 * 9, -0.25, 0.375), [6, 4, 3, 3], { pads: [2, 2, 2, 2], dilations: [2, 2] }, dyadic(rng, 6, -0.125, 0.125)), { phi });
  nb.decode(nb.dense(nb.reshape(c2, [54]), dyadic(rng, 540, -0.25, 0.25), 10, dyadic(rng, 10, -0.125, 0.125)));
  return nb.build();
}

/**
 * A bordered encoder (mean padding), an asymmetric strided conv, an overlapping padded 3×3/2 pool, a
 * channel concat of two parallel convs (same window), and a block whose output integrates a 1×1 conv of
 * the concat (window 2) and an identity (scale) shortcut from the pool (window 1).
 */
function convNetB(T: number, phi: number, seed: number) {
  const rng = new Rng(seed);
  const nb = new NetBuilder("tsc", T);
  const x = nb.encode([3, 10, 12], { rounding: "round", pads: [1, 2, 0, 1], padValues: [0.25, 0.5, 0.75] }); // raw [3, 9, 9]
  const c1 = nb.tsc(nb.conv(x, dyadic(rng, 8 * 3 * 9, -0.25, 0.375), [8, 3, 3, 3], { strides: [2, 1], pads: [0, 1, 1, 0] }, dyadic(rng, 8, -0.125, 0.125)), { phi });
  const p = nb.maxpool(c1, [3, 3], [2, 2], [1, 1, 1, 1]); // [8, 3, 6]
  const a = nb.tsc(nb.conv(p, dyadic(rng, 4 * 8 * 9, -0.25, 0.25), [4, 8, 3, 3], { pads: [1, 1, 1, 1] }, dyadic(rng, 4, -0.125, 0.125)), { phi });
  const b = nb.tsc(nb.conv(p, dyadic(rng, 4 * 8, -0.25, 0.375), [4, 8, 1, 1]), { phi });
  const cat = nb.concat([a, b], 0); // [8, 3, 6]
  const res = nb.tsc(nb.add(nb.conv(cat, dyadic(rng, 8 * 8, -0.25, 0.375), [8, 8, 1, 1]), nb.scale(p, 0.5)), { phi });
  const n = nb.shape(res).reduce((u, v) => u * v, 1);
  nb.decode(nb.dense(nb.reshape(res, [n]), dyadic(rng, 10 * n, -0.125, 0.125), 10));
  return nb.build();
}

describe("node order", () => {
  it("synapse groups sharing a source, both emitted before either consumer (closed form keeps the source alive)", () => {
    const T = 16;
    const rng = new Rng(21);
    const nb = new NetBuilder("tsc", T);
    const x = nb.encode([8], { rounding: "round" });
    const h = nb.tsc(nb.dense(x, dyadic(rng, 64, -0.25, 0.5), 8), { phi: 0.5 });
    const z2 = nb.dense(h, dyadic(rng, 64, -0.25, 0.5), 8); // branch synapses
    const sc = nb.dense(h, dyadic(rng, 64, -0.25, 0.375), 8); // shortcut synapses, same source, before b
    const b = nb.tsc(z2, { phi: 0.5 });
    const r = nb.tsc(nb.add(sc, nb.dense(b, dyadic(rng, 64, -0.25, 0.375), 8)), { phi: 0.5 });
    nb.decode(nb.dense(r, dyadic(rng, 24, -0.5, 0.5), 3));
    const net = nb.build();
    const input = Float32Array.from(dyadic(rng, 20 * 8, 0, 1));
    const ev = runEvent(net, input, 20, { recordIntervals: true });
    const cf = runClosedForm(net, input, 20, { recordIntervals: true, chunk: 7 });
    expectAllEqual(net, ev, cf, input, 20);
  });
});

describe("conv networks: event engine = closed form = naive §8.4", () => {
  const N = 24;
  for (const T of [8, 32]) {
    it(`net A (stride/pad/group/dilation, 2×2 pool), T = ${T}`, () => {
      const net = convNetA(T, T === 8 ? 0.5 : 0, 77 + T);
      const rng = new Rng(5 + T);
      const input = Float32Array.from(dyadic(rng, N * 2 * 144, 0, 1));
      const ev = runEvent(net, input, N, { recordIntervals: true });
      const cf = runClosedForm(net, input, N, { recordIntervals: true, chunk: 10 });
      expectAllEqual(net, ev, cf, input, N);
    });
    it(`net B (bordered encoder, overlapping pool, scale shortcut, concat), T = ${T}`, () => {
      const net = convNetB(T, T === 8 ? 0 : 0.5, 99 + T);
      const rng = new Rng(11 + T);
      const input = Float32Array.from(dyadic(rng, N * 3 * 81, 0, 1));
      const ev = runEvent(net, input, N, { recordIntervals: true });
      const cf = runClosedForm(net, input, N, { recordIntervals: true });
      expectAllEqual(net, ev, cf, input, N);
    });
  }
});

describe("closed form: ties and non-dyadic data", () => {
  it("counts neurons whose V/θ sits on an integer in [1, T]", () => {
    const nb = new NetBuilder("tsc", 8);
    const x = nb.encode([2]);
    // V = 0.5·d0 + 0.25·d1 with d = (4, 8): 4 (tie), (d0 + 0.1·d1) = 4.8 (no tie), −d0 = −4 (clipped: no tie)
    const h = nb.tsc(nb.dense(x, [0.5, 0.25, 1, 0.1, -1, 0], 3));
    nb.decode(nb.dense(h, [1, 1, 1], 1));
    const r = runClosedForm(nb.build(), new Float32Array([0.5, 1]), 1);
    expect(r.ties![h]).toBe(1);
    expect(r.ties![x]).toBe(0);
  });

  it("non-dyadic float weights: outputs agree to float rounding, intervals differ only at ties", () => {
    const rng = new Rng(3);
    const T = 16;
    const nb = new NetBuilder("tsc", T);
    const x = nb.encode([16], { rounding: "round" });
    const h = nb.tsc(nb.dense(x, [...rng.f32(32 * 16, -0.3, 0.4)], 32, [...rng.f32(32, -0.1, 0.1)]), { phi: 0.5 });
    nb.decode(nb.dense(h, [...rng.f32(320, -0.5, 0.5)], 10));
    const net = nb.build();
    const input = rng.f32(50 * 16, 0, 1);
    const ev = runEvent(net, input, 50, { recordIntervals: true });
    const cf = runClosedForm(net, input, 50, { recordIntervals: true });
    let diff = 0;
    ev.intervals![h]!.forEach((d, j) => {
      const e = Math.abs(d - cf.intervals![h]![j]!);
      expect(e).toBeLessThanOrEqual(1);
      diff += e;
    });
    expect(diff).toBeLessThanOrEqual(cf.ties![h]!);
    if (diff === 0) ev.outputs[0]!.forEach((v, j) => expect(v).toBeCloseTo(cf.outputs[0]![j]!, 5));
  });
});
