/**
 * Rate-coded baseline (if neurons): firing rate of a constant-input IF neuron, charge conservation of the
 * soft reset, checkpoints = separate shorter runs, the SNN-Toolbox max-pool rule, Poisson encoding and the
 * counting rules. Expected values come from hand arithmetic or small independent loops in this file.
 */
import { describe, expect, it } from "vitest";
import { runClosedForm, runEvent } from "../../../../backends/emulator/runtime/index.js";
import { Rng } from "../../../support/random.js";
import { NetBuilder } from "./net-builder.js";

/** encode (current) [n] → one-to-one synapses (weight 1) → IF → one-to-one → decode: logits = spikes/T. */
function rateProbe(T: number, n: number, o: { vInit?: number; theta?: number; reset?: "subtract" | "zero" } = {}) {
  const nb = new NetBuilder("rate", T);
  const x = nb.encode([n], { mode: "current" });
  const s = nb.ifn(nb.scale(x, 1), { vInit: o.vInit ?? 0, theta: o.theta ?? 1, reset: o.reset ?? "subtract" });
  nb.decode(nb.scale(s, 1));
  return { net: nb.build(), ifNode: nb.nodeOf(s) };
}

describe("IF neuron with constant input", () => {
  it("rate → clip(z, 0, 1) within 1/T", () => {
    const z = [-0.5, 0, 0.1, 0.37, 0.5, 0.99, 1, 1.7];
    for (const T of [10, 64, 100, 1000]) {
      for (const vInit of [0, 0.5]) {
        const { net } = rateProbe(T, z.length, { vInit });
        const r = runEvent(net, Float32Array.from(z), 1);
        z.forEach((zj, j) => {
          const want = Math.min(1, Math.max(0, Math.fround(zj)));
          expect(Math.abs(r.outputs[0]![j]! - want)).toBeLessThanOrEqual(1 / T + 1e-7);
        });
      }
    }
  });

  it("soft reset conserves charge: V_final + θ·spikes = V_init + total input (exact on dyadic values)", () => {
    const T = 77;
    const theta = 0.75;
    const vInit = 0.5;
    const rng = new Rng(9);
    const nb = new NetBuilder("rate", T);
    const x = nb.encode([6], { mode: "current" });
    const w = Array.from({ length: 24 }, () => rng.int(-96, 128) / 256);
    const b = Array.from({ length: 4 }, () => rng.int(-32, 32) / 256);
    const s = nb.ifn(nb.dense(x, w, 4, b), { theta, vInit, reset: "subtract" });
    nb.decode(nb.scale(s, 1));
    const xin = Array.from({ length: 6 }, () => rng.int(0, 256) / 256);
    const r = runEvent(nb.build(), Float32Array.from(xin), 1, { recordMembrane: true });
    const vFinal = r.membrane![nb.nodeOf(s)]!;
    let total = 0;
    for (let j = 0; j < 4; j++) {
      let z = b[j]!;
      for (let k = 0; k < 6; k++) z += w[j * 6 + k]! * xin[k]!;
      const spikes = Math.round(r.outputs[0]![j]! * T); // logits = spikes/T in float32
      expect(Math.abs(r.outputs[0]![j]! * T - spikes)).toBeLessThan(1e-3);
      expect(vFinal[j]! + theta * spikes).toBe(vInit * theta + T * z);
      total += spikes;
    }
    expect(total).toBeGreaterThan(0);
    expect(r.counters.layers[nb.nodeOf(s)]!.spikes).toBe(total);
  });

  it("reset to zero discards the overshoot", () => {
    const T = 9;
    const { net, ifNode } = rateProbe(T, 1, { reset: "zero" });
    // z = 0.75, V0 = 0: V = .75, 1.5→0 (spike), .75, 1.5→0, … → spikes on every second step: 4 in 9 steps.
    const r = runEvent(net, new Float32Array([0.75]), 1, { recordMembrane: true });
    expect(r.counters.layers[ifNode]!.spikes).toBe(4);
    expect(r.membrane![ifNode]![0]).toBe(0.75);
  });
});

/** Poisson input [1, 6, 6] → conv 3×3 → IF → maxpool 2×2 → dense → IF → dense → decode. */
function rateNet(T: number, seed = 5) {
  const rng = new Rng(1);
  const nb = new NetBuilder("rate", T);
  const x = nb.encode([1, 6, 6], { mode: "poisson", seed });
  const c = nb.ifn(nb.conv(x, [...rng.f32(4 * 9, -0.2, 0.6)], [4, 1, 3, 3], { pads: [1, 1, 1, 1] }, [...rng.f32(4, 0, 0.05)]), { vInit: 0.5 });
  const p = nb.maxpool(c, [2, 2], [2, 2]);
  const h = nb.ifn(nb.dense(nb.reshape(p, [36]), [...rng.f32(12 * 36, -0.1, 0.2)], 12), { vInit: 0.5 });
  nb.decode(nb.dense(h, [...rng.f32(36, -0.5, 0.5)], 3, [0.01, 0, -0.01]), 2);
  return nb.build();
}

describe("checkpoints", () => {
  it("equal separate shorter runs, outputs and counters", () => {
    const rng = new Rng(4);
    const input = rng.f32(3 * 36, 0, 1);
    const full = runEvent(rateNet(40), input, 3, { checkpoints: [23, 1, 7, 40] });
    expect(full.checkpoints!.map((c) => c.step)).toEqual([1, 7, 23, 40]);
    for (const cp of full.checkpoints!) {
      const short = runEvent(rateNet(cp.step), input, 3);
      expect(cp.outputs).toEqual(short.outputs);
      expect(cp.counters).toEqual(short.counters);
    }
    expect(full.checkpoints![3]!.outputs).toEqual(full.outputs);
    expect(() => runEvent(rateNet(40), input, 3, { checkpoints: [41] })).toThrow(/checkpoint/);
  });
});

describe("rate max pool (SNN Toolbox rule)", () => {
  it("passes the spikes of the input with the highest running count (ties → lowest index)", () => {
    const T = 60;
    const z = [0.3, 0.7, 0.5, 0.1];
    const nb = new NetBuilder("rate", T);
    const x = nb.encode([1, 2, 2], { mode: "current" });
    const s = nb.ifn(nb.scale(x, 1), { vInit: 0.5 });
    const p = nb.maxpool(s, [2, 2], [2, 2]);
    nb.decode(nb.scale(p, 1));
    const r = runEvent(nb.build(), Float32Array.from(z), 1);
    // Independent loop: IF trains, cumulative counts including this step, argmax with lowest-index ties.
    const V = z.map(() => 0.5);
    const cum = z.map(() => 0);
    let pooled = 0;
    for (let t = 0; t < T; t++) {
      const spk = z.map((zj, j) => {
        V[j]! += Math.fround(zj);
        if (V[j]! >= 1) {
          V[j]! -= 1;
          return true;
        }
        return false;
      });
      spk.forEach((sp, j) => sp && cum[j]!++);
      let best = 0;
      for (let j = 1; j < 4; j++) if (cum[j]! > cum[best]!) best = j;
      if (spk[best]) pooled++;
    }
    expect(Math.round(r.outputs[0]![0]! * T)).toBe(pooled);
    expect(r.counters.layers[nb.nodeOf(p)]!.relayed_spikes).toBe(pooled);
    // The pooled rate approaches the max rate 0.7.
    expect(Math.abs(pooled / T - 0.7)).toBeLessThan(0.1);
  });
});

describe("Poisson encoder and counting", () => {
  it("spike rate ≈ x/scale; deterministic per (seed, sample index)", () => {
    const T = 4000;
    const nb = new NetBuilder("rate", T);
    const x = nb.encode([3], { mode: "poisson", seed: 42, scale: 2 });
    nb.decode(nb.scale(x, 1));
    const net = nb.build();
    const input = new Float32Array([0.2, 1.0, 1.6, 0.6, 0, 2.5]);
    const r = runEvent(net, input, 2);
    [0.1, 0.5, 0.8, 0.3, 0, 1].forEach((p, j) => expect(Math.abs(r.outputs[0]![j]! - p)).toBeLessThan(0.03));
    // Sample 1 alone with sampleOffset 1 draws the same spikes.
    const r1 = runEvent(net, input.subarray(3), 1, { sampleOffset: 1 });
    expect(r1.outputs[0]).toEqual(r.outputs[0]!.subarray(3));
    expect(runEvent(net, input, 2).outputs).toEqual(r.outputs);
  });

  it("synaptic additions = spikes × fan-out; neuron updates = neurons × steps; input MACs for current input", () => {
    const T = 30;
    for (const mode of ["poisson", "current"] as const) {
      const rng = new Rng(8);
      const nb = new NetBuilder("rate", T);
      const x = nb.encode([4], { mode });
      const z1 = nb.dense(x, [...rng.f32(12, 0, 0.5)], 3);
      const h = nb.ifn(z1);
      const z2 = nb.dense(h, [...rng.f32(6, -1, 1)], 2);
      nb.decode(z2);
      const r = runEvent(nb.build(), new Float32Array([0.5, 0, 0.9, 0.3]), 1);
      const L = r.counters.layers;
      const hSpikes = L[nb.nodeOf(h)]!.spikes;
      expect(hSpikes).toBeGreaterThan(0);
      expect(L[nb.nodeOf(z2)]!.synaptic_additions).toBe(hSpikes * 2);
      expect(L[nb.nodeOf(h)]!.neuron_updates).toBe(3 * T);
      expect(L[nb.nodes.length - 1]!.neuron_updates).toBe(2 * T);
      if (mode === "poisson") {
        expect(L[nb.nodeOf(z1)]!.synaptic_additions).toBe(L[0]!.spikes * 3);
        expect(r.counters.input_macs).toBe(0);
        expect(r.counters.spiking_neurons).toBe(4 + 3);
      } else {
        expect(L[nb.nodeOf(z1)]!.synaptic_additions).toBe(0);
        expect(L[nb.nodeOf(z1)]!.input_macs).toBe(3 * 3); // 3 non-zero pixels × fan-out 3
        expect(L[0]!.spikes).toBe(0);
        expect(r.counters.spiking_neurons).toBe(3);
      }
      expect(r.counters.memory_reads).toBe(r.counters.synaptic_additions);
      expect(r.counters.spikes_per_neuron_max).toBeLessThanOrEqual(T);
    }
  });

  it("there is no closed form for rate coding", () => {
    expect(() => runClosedForm(rateNet(10), new Float32Array(36), 1)).toThrow(/no closed form/);
  });
});
