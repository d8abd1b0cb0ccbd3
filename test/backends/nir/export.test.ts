/**
 * The NIR export is exact: the exported graph, run by the test-side NIR simulator (test/support/
 * nir-reference.ts, independent of the emulator), gives bit for bit the closed form's intervals and
 * logits (TSC) and the event engine's logits (rate) on dyadic networks, where every float64 sum is
 * exact; and the emulator's own clock engine on the imported graph agrees too.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { Builder, builtinOps, Module, tensorType, BATCH, type Value, isTsccError } from "../../../ir/index.js";
import { buildNetwork } from "../../../backends/emulator/build-network.js";
import { runClosedForm, runEvent } from "../../../backends/emulator/runtime/index.js";
import { runClock } from "../../../backends/emulator/runtime/clock.js";
import { buildClockNetwork } from "../../../backends/emulator/clock-network.js";
import { exportSnnToNir } from "../../../backends/nir/export.js";
import { checkGraph, type NirGraph } from "../../../backends/nir/format.js";
import { hdf5Ready } from "../../../backends/nir/hdf5.js";
import { nirGraphToModule } from "../../../src/frontend/nir/graph-to-ir.js";
import { Rng } from "../../support/random.js";
import { simulateNir } from "../../support/nir-reference.js";

beforeAll(async () => {
  await hdf5Ready();
});

const ORIGIN = { toolVersion: "test", source: "test.onnx", sourceSha256: "0" };

function dyadic(rng: Rng, n: number, lo: number, hi: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.int(Math.round(lo * 256), Math.round(hi * 256)) / 256);
}

/**
 * A small converted network on dyadic data: encode [1, 6, 6] → conv 3×3 (4 ch) → neuron → max pool 2×2 →
 * flatten → dense 36 → neuron, plus a residual: dense 36 from the pool output added to a dense from the
 * neuron layer → neuron → dense 5 → decode. `coding` picks TSC (snn.tsc) or rate (snn.if) neurons.
 */
function dyadicModule(coding: "tsc" | "rate", T: number, phi: number, seed: number, w: { enc?: number; h1?: number; h2?: number; r?: number; out?: number } = {}): Module {
  const rng = new Rng(seed);
  const m = new Module("dyadic", { coding, window: T });
  const b = new Builder(m, builtinOps());
  const c = (name: string, shape: number[], data: Float32Array): Value => m.addConst(name, tensorType(shape), data).value;
  const neuron = (v: Value, window = T, lambda = 1): Value =>
    coding === "tsc" ? b.value("snn.tsc", [v], { window, theta: 1, phi, lambda }) : b.value("snn.if", [v], { window: T, theta: 1, reset: "subtract", v_init: phi, lambda });
  const x = m.addInput("x", tensorType([BATCH, 1, 6, 6]));
  const enc = b.value("snn.encode", [x], { coding, window: w.enc ?? T, scale: 1, rounding: phi > 0 ? "round" : "floor" });
  const conv = b.value("snn.conv", [enc, c("c.w", [4, 1, 3, 3], dyadic(rng, 36, -0.375, 0.5)), c("c.b", [4], dyadic(rng, 4, -0.125, 0.25))], {
    kernel_shape: [3, 3],
    strides: [1, 1],
    pads: [1, 1, 1, 1],
    dilations: [1, 1],
    group: 1,
  });
  const h1 = neuron(conv, w.h1 ?? T, 2);
  const pool = b.value("snn.max_pool", [h1], { kernel_shape: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] });
  const flat = b.value("snn.reshape", [pool], { shape: [0, 36] });
  const h2 = neuron(b.value("snn.dense", [flat, c("d1.w", [36, 36], dyadic(rng, 36 * 36, -0.1875, 0.25)), c("d1.b", [36], dyadic(rng, 36, -0.125, 0.25))], {}), w.h2 ?? T);
  const shortcut = b.value("snn.dense", [flat, c("s.w", [36, 36], dyadic(rng, 36 * 36, -0.125, 0.1875)), c("s.b", [36], dyadic(rng, 36, -0.125, 0.125))], {});
  const branch = b.value("snn.dense", [h2, c("d2.w", [36, 36], dyadic(rng, 36 * 36, -0.125, 0.1875))], {});
  const r = neuron(b.value("snn.add", [shortcut, branch], {}), w.r ?? T);
  const out = b.value("snn.decode", [b.value("snn.dense", [r, c("o.w", [5, 36], dyadic(rng, 180, -0.5, 0.5)), c("o.b", [5], dyadic(rng, 5, -0.25, 0.25))], {})], { window: w.out ?? T, lambda: 1 });
  m.outputs.push({ name: "logits", value: out });
  return m;
}

/** Per population (tsc subgraph), the intervals the reference simulation shows: steps with the switch on. */
function intervalsOf(trace: Map<string, Float64Array[]>, pop: string, n: number): number[] {
  const on = trace.get(`${pop}/on`)!;
  return Array.from({ length: n }, (_, j) => on.reduce((s, v) => s + v[j]!, 0));
}

function simulate(g: NirGraph, steps: number, x: Float32Array, per: number, b: number, record = false) {
  return simulateNir(g, 1, steps, () => x.subarray(b * per, (b + 1) * per), record);
}

describe("TSC export = closed form, bit for bit, on a dyadic network", () => {
  const cases: [string, number, number, Parameters<typeof dyadicModule>[4]][] = [
    ["T = 4, φ = 0", 4, 0, {}],
    ["T = 4, φ = 0.5", 4, 0.5, {}],
    ["T = 8, φ = 0", 8, 0, {}],
    ["T = 8, φ = 0.5", 8, 0.5, {}],
    ["per-layer windows 8, 4, 16, 8, 8 (gains ½, 2 and 4)", 8, 0.5, { enc: 8, h1: 4, h2: 16, r: 8, out: 8 }],
  ];
  for (const [title, T, phi, windows] of cases) {
    {
      it(title, () => {
        const m = dyadicModule("tsc", T, phi, 40 + T + 10 * phi, windows);
        const ex = exportSnnToNir(m, ORIGIN);
        checkGraph(ex.graph, "export");
        const net = buildNetwork(m).network;
        const N = 12;
        const x = dyadic(new Rng(T), N * 36, 0, 1);
        const cf = runClosedForm(net, x, N, { recordIntervals: true });
        // Populations: the spikes values of the network, named after their NIR subgraph.
        const pops = m.ops.filter((op) => op.name === "snn.encode" || op.name === "snn.tsc").map((op) => ({ name: `${op.name.slice(4)}${m.ops.indexOf(op)}`, value: net.nodes[m.ops.indexOf(op)]!.out, n: op.result.type.shape.slice(1).reduce((a, c) => a * c, 1), T: op.num("window") }));
        let active = 0;
        for (let b = 0; b < N; b++) {
          const r = simulate(ex.graph, ex.steps, x, 36, b, true);
          for (const p of pops) {
            const want = Array.from(cf.intervals![p.value]!.subarray(b * p.n, (b + 1) * p.n));
            const got = intervalsOf(r.trace!, p.name, p.n);
            expect(got, `${p.name} sample ${b}`).toEqual(want);
            active += want.filter((d) => d > 0 && d < p.T).length;
            // Two switch events per active neuron on the population's output (a saturated neuron of the
            // last layer switches off after the run, tsc.md §3.4).
            const sw = r.trace!.get(`${p.name}/switch`)!;
            for (let j = 0; j < p.n; j++) {
              const ev = sw.map((v) => v[j]!).filter((v) => v !== 0);
              if (want[j] === p.T && ev.length === 1) expect(ev).toEqual([1]);
              else expect(ev, `${p.name}[${j}] events`).toEqual(want[j]! > 0 ? [1, -1] : []);
            }
          }
          const logits = r.outputs.get("logits")![ex.steps - 1]!;
          expect(Array.from(logits)).toEqual(Array.from(cf.outputs[0]!.subarray(b * 5, (b + 1) * 5)));
        }
        expect(active).toBeGreaterThan(50);
      });
    }
  }

  it("the emulator's clock engine on the imported graph gives the same logits", () => {
    const m = dyadicModule("tsc", 8, 0.5, 7);
    const ex = exportSnnToNir(m, ORIGIN);
    const clock = buildClockNetwork(nirGraphToModule(ex.graph, builtinOps(), "export", {}), 1);
    const N = 10;
    const x = dyadic(new Rng(3), N * 36, 0, 1);
    const r = runClock(clock, x, N, { steps: ex.steps, staticInput: true });
    const cf = runClosedForm(buildNetwork(m).network, x, N);
    const last = r.outputs[0]!.subarray((ex.steps - 1) * N * 5);
    expect(Array.from(last)).toEqual(Array.from(cf.outputs[0]!, Number));
  });
});

describe("rate export = event engine, bit for bit, on a dyadic network", () => {
  for (const vInit of [0, 0.5]) {
    it(`v_init = ${vInit}`, () => {
      const T = 24;
      const m = dyadicModule("rate", T, vInit, 90 + vInit * 10);
      const ex = exportSnnToNir(m, ORIGIN);
      checkGraph(ex.graph, "export");
      expect(ex.steps).toBe(T);
      const net = buildNetwork(m).network;
      const N = 6;
      const x = dyadic(new Rng(11), N * 36, 0, 1);
      const ev = runEvent(net, x, N, { recordMembrane: true });
      const decode = m.ops.findIndex((op) => op.name === "snn.decode");
      let spikes = 0;
      for (let b = 0; b < N; b++) {
        const r = simulate(ex.graph, ex.steps, x, 36, b, true);
        // The output layer's membrane V after the run, bit for bit (the logits λ·V/T are float32 in the engine).
        expect(Array.from(r.trace!.get(`decode${decode}/membrane`)![T - 1]!)).toEqual(Array.from(ev.membrane![decode]!.subarray(b * 5, (b + 1) * 5)));
        spikes += r.trace!.get("if2/on")!.reduce((s, v) => s + v.reduce((a, c) => a + c, 0), 0);
      }
      // The comparison means something only if the neurons spike (the max pool passes spikes on).
      expect(spikes).toBeGreaterThan(100);
      expect(ev.counters.layers.find((l) => l.kind === "maxpool")!.relayed_spikes).toBeGreaterThan(50);
    });
  }
});

describe("what NIR cannot express is refused with a named diagnostic", () => {
  const codes = (f: () => void): number[] => {
    try {
      f();
      return [];
    } catch (e) {
      if (!isTsccError(e)) throw e;
      return e.diagnostics.map((d) => d.code);
    }
  };
  it("rate: reset to zero and Poisson input", () => {
    const m = dyadicModule("rate", 8, 0.5, 1);
    for (const op of m.ops) if (op.name === "snn.if") op.attrs["reset"] = "zero";
    (m.ops.find((op) => op.name === "snn.encode")!.attrs as Record<string, unknown>)["mode"] = "poisson";
    expect(codes(() => exportSnnToNir(m, ORIGIN))).toEqual([4201, 4201, 4201, 4201]);
  });
  it("a module that is not a converted network", () => {
    const m = new Module("ann", {});
    expect(codes(() => exportSnnToNir(m, ORIGIN))).toEqual([4201]);
  });
});
