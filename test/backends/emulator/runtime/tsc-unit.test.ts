/**
 * TSC unit tests (tsc.md §12.2): the worked example of §9, silence, saturation and the §3.4 receiver rule
 * on a residual neuron, max pool as OR, residual integration across two windows, spike and synaptic-event
 * bounds, and the schedule. Expected numbers are hand arithmetic, never the engine's own output.
 */
import { describe, expect, it } from "vitest";
import { runClosedForm, runEvent, schedule } from "../../../../backends/emulator/runtime/index.js";
import { NetBuilder } from "./net-builder.js";

/** §9: encode [2] → dense 2→1 (w, b) → tsc → dense 1→1 (identity) → decode. */
function workedExample(w: [number, number], phi: number) {
  const nb = new NetBuilder("tsc", 8);
  const x = nb.encode([2], { rounding: "floor" });
  const z = nb.dense(x, w, 1, [0.1]);
  const h = nb.tsc(z, { phi });
  const y = nb.dense(h, [1], 1);
  nb.decode(y);
  return { net: nb.build(), x, z, h, denseNode: nb.nodeOf(z), tscNode: nb.nodeOf(h), outDense: nb.nodeOf(y), decodeNode: nb.nodes.length - 1 };
}

const f32 = Math.fround;

describe("§9 worked example (T = 8, x = (0.75, 0.5), w = (0.6, −0.4), b = 0.1)", () => {
  it("φ = 0: V = 2.8, spikes at 8 and 10, d = 2; cost 4 + 4 and 1 + 8 + 2", () => {
    const ex = workedExample([0.6, -0.4], 0);
    const r = runEvent(ex.net, new Float32Array([0.75, 0.5]), 1, { recordIntervals: true, recordSpikeTimes: true, recordMembrane: true });
    // Encoding: d1 = floor(6) = 6, d2 = floor(4) = 4; spikes at (0, 6) and (0, 4).
    expect([...r.spikeTimes![ex.x]!.on]).toEqual([0, 0]);
    expect([...r.spikeTimes![ex.x]!.off]).toEqual([6, 4]);
    // V = b·T + w1·d1 + w2·d2 with the float32 weights = 0.8 + 3.6 − 1.6 = 2.8.
    const V = f32(0.1) * 8 + f32(0.6) * 6 + f32(-0.4) * 4;
    expect(r.membrane![ex.tscNode]![0]).toBeCloseTo(2.8, 6);
    expect(r.membrane![ex.tscNode]![0]).toBe(V);
    expect([...r.spikeTimes![ex.h]!.on]).toEqual([8]);
    expect([...r.spikeTimes![ex.h]!.off]).toEqual([10]);
    expect([...r.intervals![ex.h]!]).toEqual([2]);
    // Decoded output: identity dense 1→1 integrates d = 2 → λ·V/T = 2/8 = 0.25.
    expect(r.outputs[0]![0]).toBe(0.25);
    const L = r.counters.layers;
    expect(L[ex.denseNode]!.synaptic_additions).toBe(4);
    expect(L[ex.denseNode]!.memory_reads).toBe(4);
    expect(L[ex.tscNode]!.neuron_updates).toBe(1 + 8 + 2);
    expect(L[ex.tscNode]!.spikes).toBe(2);
    expect(L[ex.outDense]!.synaptic_additions).toBe(2);
    expect(L[ex.decodeNode]!.neuron_updates).toBe(1 + 8);
    expect(r.counters.spikes).toBe(4 + 2);
    expect(r.counters.spikes_per_neuron_max).toBe(2);
    expect(r.counters.spikes_per_neuron_mean).toBe(6 / 3);
    expect(r.latency).toBe(16); // decode integrates window 1 → read at 2T
  });

  it("the V trace of the table (decode the hidden charge directly)", () => {
    // encode → dense → decode with λ = T reads V itself: V/T·T. Per step: 1.0, 1.2, …, 2.8 after step 7.
    const nb = new NetBuilder("tsc", 8);
    const x = nb.encode([2]);
    nb.decode(nb.dense(x, [0.6, -0.4], 1, [0.1]), 8);
    const r = runEvent(nb.build(), new Float32Array([0.75, 0.5]), 1);
    expect(r.outputs[0]![0]).toBeCloseTo(2.8, 5);
  });

  it("φ = ½: V = 3.3, d = 3", () => {
    const ex = workedExample([0.6, -0.4], 0.5);
    const r = runEvent(ex.net, new Float32Array([0.75, 0.5]), 1, { recordIntervals: true, recordSpikeTimes: true, recordMembrane: true });
    expect(r.membrane![ex.tscNode]![0]).toBeCloseTo(3.3, 6);
    expect([...r.intervals![ex.h]!]).toEqual([3]);
    expect([...r.spikeTimes![ex.h]!.off]).toEqual([11]);
    expect(r.counters.layers[ex.tscNode]!.neuron_updates).toBe(1 + 8 + 3);
    expect(r.outputs[0]![0]).toBe(0.375);
  });

  it("negative case w2 = −1.2: V = −0.4, silence, no downstream events", () => {
    const ex = workedExample([0.6, -1.2], 0);
    const r = runEvent(ex.net, new Float32Array([0.75, 0.5]), 1, { recordIntervals: true, recordSpikeTimes: true, recordMembrane: true });
    expect(r.membrane![ex.tscNode]![0]).toBeCloseTo(-0.4, 6);
    expect([...r.spikeTimes![ex.h]!.on]).toEqual([-1]);
    expect([...r.intervals![ex.h]!]).toEqual([0]);
    expect(r.counters.layers[ex.tscNode]!.spikes).toBe(0);
    expect(r.counters.layers[ex.tscNode]!.neuron_updates).toBe(1 + 8);
    expect(r.counters.layers[ex.outDense]!.synaptic_additions).toBe(0);
    expect(r.outputs[0]![0]).toBe(0);
  });

  it("closed form agrees on all three variants, counters included", () => {
    for (const [w, phi] of [[[0.6, -0.4], 0], [[0.6, -0.4], 0.5], [[0.6, -1.2], 0]] as const) {
      const ex = workedExample([w[0], w[1]], phi);
      const x = new Float32Array([0.75, 0.5]);
      const ev = runEvent(ex.net, x, 1, { recordIntervals: true });
      const cf = runClosedForm(ex.net, x, 1, { recordIntervals: true });
      expect(cf.intervals).toEqual(ev.intervals);
      expect(cf.outputs).toEqual(ev.outputs);
      expect(cf.counters).toEqual(ev.counters);
    }
  });
});

describe("silence and saturation", () => {
  it("negative pre-activations give silent neurons that cost nothing downstream", () => {
    const nb = new NetBuilder("tsc", 16);
    const x = nb.encode([4]);
    const h = nb.tsc(nb.dense(x, new Array(12).fill(-0.25), 3, [0.5, 0, -1]));
    const y = nb.dense(h, new Array(6).fill(1), 2);
    nb.decode(y);
    const net = nb.build();
    const r = runEvent(net, new Float32Array([1, 0.5, 0.25, 0.75]), 1, { recordIntervals: true });
    // charges: 0.5·16 − 0.25·(16+8+4+12) = −2, −10, −26 → all silent.
    expect([...r.intervals![h]!]).toEqual([0, 0, 0]);
    expect(r.counters.layers[nb.nodeOf(y)]!.synaptic_additions).toBe(0);
    expect(r.counters.layers[nb.nodeOf(h)]!.spikes).toBe(0);
    expect(r.outputs[0]).toEqual(new Float32Array([0, 0]));
  });

  it("d = T: spike 2 at s + T, two spikes, but the receiver gets (and pays for) the ON event only", () => {
    const T = 8;
    const nb = new NetBuilder("tsc", T);
    const x = nb.encode([1]);
    const h = nb.tsc(nb.dense(x, [3], 1)); // x = 1 → d0 = T (saturated input too); V = 3T ≥ T → d = T
    const y = nb.dense(h, [1, -1], 2);
    nb.decode(y);
    const r = runEvent(nb.build(), new Float32Array([1]), 1, { recordIntervals: true, recordSpikeTimes: true });
    expect([...r.spikeTimes![x]!.off]).toEqual([T]);
    expect([...r.spikeTimes![h]!.on]).toEqual([T]);
    expect([...r.spikeTimes![h]!.off]).toEqual([2 * T]);
    expect([...r.intervals![h]!]).toEqual([T]);
    expect(r.counters.layers[nb.nodeOf(h)]!.spikes).toBe(2);
    expect(r.counters.layers[nb.nodeOf(h)]!.neuron_updates).toBe(1 + T + T);
    // Encoder's saturated spike 2 at T is dropped by the first layer: 1 event × 1 target.
    expect(r.counters.layers[nb.nodeOf(h) - 1]!.synaptic_additions).toBe(1);
    // Hidden saturated: 1 event × 2 targets.
    expect(r.counters.layers[nb.nodeOf(y)]!.synaptic_additions).toBe(2);
    // Output: ±1·T/T.
    expect([...r.outputs[0]!]).toEqual([1, -1]);
  });

  it("receiver rule on a residual neuron: a saturated shortcut's spike 2 at the branch window start leaves no −W in I", () => {
    // encode (window 0) → A (fires in window 1) → B (fires in window 2);
    // R = tsc(ws·A [window 1] + wb·B [window 2] + b): A saturates, so its spike 2 lands at 2T, exactly the
    // start of R's second integration window.
    const T = 16;
    const nb = new NetBuilder("tsc", T);
    const x = nb.encode([2]);
    const a = nb.tsc(nb.dense(x, [1, 1, 0.5, 0], 2)); // A0: V = d0+d1 (saturates), A1: 0.5·d0
    const bv = nb.tsc(nb.dense(a, [0, 0.5], 1)); // B: 0.5·A1
    const sc = nb.dense(a, [0.75, 0, -0.25, 0], 2); // shortcut: R0 += 0.75·A0, R1 += −0.25·A0
    const br = nb.dense(bv, [0.5, 1], 2); // branch: R0 += 0.5·B, R1 += B
    const sum = nb.add(sc, br);
    const rr = nb.tsc(sum, { phi: 0.5 });
    nb.decode(nb.dense(rr, [1, 0, 0, 1], 2));
    const net = nb.build();
    const s = schedule(net);
    expect([s.spikeDepth[a], s.spikeDepth[bv], s.spikeDepth[rr]]).toEqual([1, 2, 3]);
    expect([s.spikeWindow[a], s.spikeWindow[bv], s.spikeWindow[rr]]).toEqual([
      { start: T, steps: T },
      { start: 2 * T, steps: T },
      { start: 3 * T, steps: T },
    ]);
    expect(s.charge[sum]!.windows).toEqual([
      { start: T, steps: T },
      { start: 2 * T, steps: T },
    ]);
    const input = new Float32Array([0.75, 0.5]); // d0 = 12, d1 = 8
    const r = runEvent(net, input, 1, { recordIntervals: true, recordSpikeTimes: true, recordMembrane: true });
    // A0: V = 20 → d = T = 16 (spike 2 at 2T = 32); A1: 6. B: floor(3) = 3 (fires [32, 48)).
    expect([...r.intervals![a]!]).toEqual([16, 6]);
    expect([...r.spikeTimes![a]!.off]).toEqual([32, 22]);
    expect([...r.intervals![bv]!]).toEqual([3]);
    // R0: 0.5 + 0.75·16 + 0.5·3 = 14; R1: 0.5 − 0.25·16 + 3 = −0.5. Had the OFF event at 32 been delivered
    // after the window-2 reset, R0 would lose 0.75·16 = 12 and R1 gain 4.
    expect([...r.membrane![nb.nodeOf(rr)]!]).toEqual([14, -0.5]);
    expect([...r.intervals![rr]!]).toEqual([14, 0]);
    // The shortcut delivers A0's ON only (spike 2 dropped) and A1's two events: 2·1 + ... per target.
    expect(r.counters.layers[nb.nodeOf(sc)]!.synaptic_additions).toBe(1 * 2 + 2 * 2);
    // R: 1 + 2 windows·T + 14 discharges, and 1 + 2T for the silent neuron.
    expect(r.counters.layers[nb.nodeOf(rr)]!.neuron_updates).toBe(1 + 2 * T + 14 + 1 + 2 * T);
    const cf = runClosedForm(net, input, 1, { recordIntervals: true });
    expect(cf.intervals).toEqual(r.intervals);
    expect(cf.counters).toEqual(r.counters);
  });
});

describe("max pool as OR of switches", () => {
  it("spike 1 at the first input spike 1, spike 2 at the last spike 2 = maximum interval", () => {
    const T = 8;
    const nb = new NetBuilder("tsc", T);
    const x = nb.encode([2, 2, 4]);
    const p = nb.maxpool(x, [2, 2], [2, 2]);
    nb.decode(nb.dense(nb.reshape(p, [4]), [1, 1, 1, 1], 1));
    // channel 0: d = 3, 0, 5, 1 → max 5; channel 1: 8 (saturated), 2, 0, 0 → 8
    //   window 0 = columns 0,1 of rows 0,1; window 1 = columns 2,3.
    const d = [
      [3, 0, 2, 2],
      [5, 1, 8, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 7],
    ];
    const input = new Float32Array(16);
    for (let c = 0; c < 2; c++) for (let y = 0; y < 2; y++) for (let xx = 0; xx < 4; xx++) input[c * 8 + y * 4 + xx] = d[c * 2 + y]![xx]! / T;
    const r = runEvent(nb.build(), input, 1, { recordIntervals: true, recordSpikeTimes: true });
    // outputs [c][ow]: c0: max(3,0,5,1)=5, max(2,2,8,0)=8; c1: 0, max(0,0,0,7)=7
    expect([...r.intervals![p]!]).toEqual([5, 8, 0, 7]);
    expect([...r.spikeTimes![p]!.on]).toEqual([0, 0, -1, 0]);
    expect([...r.spikeTimes![p]!.off]).toEqual([5, 8, -1, 7]);
    expect(r.counters.layers[nb.nodeOf(p)]!.relayed_spikes).toBe(6);
    expect(r.counters.layers[nb.nodeOf(p)]!.spikes).toBe(0);
  });

  it("overlapping padded windows (3×3, stride 2, pad 1) agree with a hand max", () => {
    const T = 16;
    const nb = new NetBuilder("tsc", T);
    const x = nb.encode([1, 4, 4]);
    const p = nb.maxpool(x, [3, 3], [2, 2], [1, 1, 1, 1]);
    nb.decode(nb.dense(nb.reshape(p, [4]), [1, 1, 1, 1], 1));
    const d = [1, 9, 0, 4, 3, 2, 12, 0, 0, 5, 16, 7, 6, 0, 1, 2];
    const r = runEvent(nb.build(), Float32Array.from(d, (v) => v / T), 1, { recordIntervals: true });
    const want: number[] = [];
    for (let oy = 0; oy < 2; oy++) {
      for (let ox = 0; ox < 2; ox++) {
        let m = 0;
        for (let y = oy * 2 - 1; y <= oy * 2 + 1; y++) for (let xx = ox * 2 - 1; xx <= ox * 2 + 1; xx++) if (y >= 0 && y < 4 && xx >= 0 && xx < 4) m = Math.max(m, d[y * 4 + xx]!);
        want.push(m);
      }
    }
    expect([...r.intervals![p]!]).toEqual(want);
  });
});

describe("residual integration across two windows", () => {
  it("V sums a window-0 shortcut and a window-1 branch (Lemma 2)", () => {
    const T = 32;
    const nb = new NetBuilder("tsc", T);
    const x = nb.encode([3], { rounding: "round" });
    const h = nb.tsc(nb.dense(x, [0.5, 0.25, -0.125, 0.25, 0.5, 0.5], 2, [0.0625, 0]));
    const r = nb.tsc(nb.add(nb.dense(x, [0.375, -0.25, 0.5], 1), nb.dense(h, [0.75, -0.5], 1, [-0.125])), { phi: 0.5 });
    nb.decode(nb.dense(r, [1], 1));
    const net = nb.build();
    const input = new Float32Array([0.8, 0.3, 0.55]);
    const d0 = [...input].map((v) => Math.round(v * T)); // 26, 10, 18 (round: 25.6→26, 9.6→10, 17.6→18)
    const clipFloor = (u: number) => Math.min(T, Math.max(0, Math.floor(u)));
    const h0 = clipFloor(0.0625 * T + 0.5 * d0[0]! + 0.25 * d0[1]! - 0.125 * d0[2]!);
    const h1 = clipFloor(0.25 * d0[0]! + 0.5 * d0[1]! + 0.5 * d0[2]!);
    const vr = -0.125 * T + 0.5 + 0.375 * d0[0]! - 0.25 * d0[1]! + 0.5 * d0[2]! + 0.75 * h0 - 0.5 * h1;
    const ev = runEvent(net, input, 1, { recordIntervals: true, recordMembrane: true });
    expect([...ev.intervals![h]!]).toEqual([h0, h1]);
    expect(ev.membrane![nb.nodeOf(r)]![0]).toBe(vr);
    expect([...ev.intervals![r]!]).toEqual([clipFloor(vr)]);
    expect(ev.counters.layers[nb.nodeOf(r)]!.neuron_updates).toBe(1 + 2 * T + clipFloor(vr));
    const s = schedule(net);
    expect(s.spikeDepth[r]).toBe(2);
    expect(s.spikeWindow[r]).toEqual({ start: 2 * T, steps: T });
    expect(s.latency).toBe(3 * T); // decode integrates r's window 2
  });
});

describe("schedule", () => {
  it("maxpool/reshape/concat inherit windows; concat of different windows throws", () => {
    const nb = new NetBuilder("tsc", 4);
    const x = nb.encode([1, 2, 2]);
    const h = nb.tsc(nb.conv(x, [1], [1, 1, 1, 1]));
    const p = nb.maxpool(h, [2, 2], [2, 2]);
    const r = nb.reshape(p, [1]);
    nb.decode(nb.dense(r, [1], 1));
    const s = schedule(nb.build());
    expect([s.spikeDepth[x], s.spikeDepth[h], s.spikeDepth[p], s.spikeDepth[r]]).toEqual([0, 1, 1, 1]);
    expect([s.spikeWindow[x], s.spikeWindow[h], s.spikeWindow[p], s.spikeWindow[r]].map((w) => w!.start)).toEqual([0, 4, 4, 4]);
    expect(s.latency).toBe(8);

    const bad = new NetBuilder("tsc", 4);
    const bx = bad.encode([2]);
    const bh = bad.tsc(bad.dense(bx, [1, 0, 0, 1], 2));
    const c = bad.concat([bx, bh], 0);
    bad.decode(bad.dense(c, [1, 1, 1, 1], 1));
    expect(() => schedule(bad.build())).toThrow(/different windows/);
  });

  it("rate coding runs everything concurrently", () => {
    const nb = new NetBuilder("rate", 50);
    const x = nb.encode([2]);
    const h = nb.ifn(nb.dense(x, [1, 0, 0, 1], 2));
    nb.decode(nb.dense(nb.ifn(nb.dense(h, [1, 0, 0, 1], 2)), [1, 1], 1));
    const s = schedule(nb.build());
    expect(s.latency).toBe(50);
    expect(s.spikeWindow.filter((w) => w && (w.start !== 0 || w.steps !== 50))).toEqual([]);
  });
});
