/**
 * Reusing activations in the window search (src/passes/snn/tune-suffix.ts): a network run from a cut,
 * fed with the intervals a whole run produced there, gives the whole run's logits bit for bit and its
 * additions (with those before the cut); no cut is placed inside a residual block; and the search gives
 * the same result with the cache as without it, in fewer whole runs.
 */
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { builtinOps, DiagnosticBag, silentLogger, type Module, type PassContext } from "../../../ir/index.js";
import type { RTensor } from "../../../ir/interp/tensor.js";
import { runClosedForm } from "../../../backends/emulator/runtime/index.js";
import { importOnnxFile } from "../../../src/frontend/onnx/import.js";
import { readNpy } from "../../../src/io/npy.js";
import { tscCoding } from "../../../src/passes/snn/convert.js";
import { tuneWindows } from "../../../src/passes/snn/tune.js";
import { findCuts, suffixNetwork } from "../../../src/passes/snn/tune-suffix.js";
import { runPipeline } from "../../support/ir.js";
import { Rng } from "../../support/random.js";
import { NetBuilder } from "../../backends/emulator/runtime/net-builder.js";

const fm = join(import.meta.dirname, "..", "..", "..", "examples", "fashion-mnist");

/** 16 → dense 32 → max-pool pairs → dense 16 → residual (shortcut from the pool, branch through b) → dense 10, mixed windows. */
function residualNet() {
  const rng = new Rng(7);
  const w = (n: number, s: number): number[] => Array.from({ length: n }, () => rng.uniform(-0.8, 1.2) * s);
  const nb = new NetBuilder("tsc", 8);
  const x = nb.encode([16], { rounding: "round", window: 8 });
  const h1 = nb.tsc(nb.dense(x, w(32 * 16, 0.5), 32, w(32, 0.1)), { phi: 0.5, lambda: 2, window: 5 });
  const pool = nb.maxpool(nb.reshape(h1, [1, 1, 32]), [1, 2], [1, 2]);
  const p = nb.reshape(pool, [16]);
  const b = nb.tsc(nb.dense(p, w(256, 0.5), 16, w(16, 0.1)), { phi: 0.5, window: 11 });
  const shortcut = nb.dense(p, w(256, 0.4), 16, w(16, 0.1));
  const branch = nb.dense(b, w(256, 0.4), 16);
  const r = nb.tsc(nb.add(shortcut, branch), { phi: 0.5, window: 6 });
  nb.decode(nb.dense(r, w(160, 0.6), 10, w(10, 0.2)), 3, 6);
  return { net: nb.build(), spikes: { x, h1, pool, b, r } };
}

describe("cuts and suffix networks", () => {
  const { net, spikes } = residualNet();
  const pops = net.nodes.flatMap((n, i) => (n.kind === "encode" || n.kind === "tsc" ? [i] : []));
  const cuts = findCuts(net, pops);

  test("a cut at every layer boundary, none inside the residual block", () => {
    expect(cuts.map((c) => c.value)).toEqual([spikes.x, spikes.h1, spikes.pool, spikes.r]);
    // The populations each cut depends on: x; x, h1; x, h1 (a pool adds none); x, h1, b, r.
    expect(cuts.map((c) => c.pops)).toEqual([1, 2, 2, 4]);
  });

  test("run from each cut on the whole run's intervals there: the same logits bit for bit, the same additions with those before the cut", () => {
    const n = 40;
    const rng = new Rng(3);
    const input = Float32Array.from({ length: n * 16 }, () => rng.float());
    const whole = runClosedForm(net, input, n, { recordIntervals: true });
    for (const cut of cuts) {
      const suffix = suffixNetwork(net, cut);
      const d = whole.intervals![cut.value]!;
      const r = runClosedForm(suffix, Float32Array.from(d), n, { recordIntervals: true });
      expect(Array.from(r.outputs[0]!)).toEqual(Array.from(whole.outputs[0]!));
      // The suffix's encoder reproduces the cut's intervals exactly.
      expect(Array.from(r.intervals![suffix.inputs[0]!.value]!)).toEqual(Array.from(d));
      const before = whole.counters.layers.filter((l) => l.node <= cut.node).reduce((s, l) => s + l.synaptic_additions, 0);
      expect(before + r.counters.synaptic_additions).toBe(whole.counters.synaptic_additions);
      expect(r.counters.synaptic_additions).toBeGreaterThan(0);
    }
  });
});

describe("tuneWindows with the interval cache", () => {
  async function normalizedCnn(): Promise<Module> {
    const m = importOnnxFile(join(fm, "cnn-small.onnx")).module;
    await runPipeline(m, "canonicalize,normalize-thresholds{calibration=calib-images.npy,limit=300}", { cwd: fm });
    return m;
  }
  const ctx = (): PassContext => ({ options: {}, diag: new DiagnosticBag("test"), ops: builtinOps(), log: silentLogger, inputs: {} });
  const all = readNpy(join(fm, "calib-images.npy"));
  const per = all.data.length / all.shape[0]!;
  const held: RTensor = { shape: [60, ...all.shape.slice(1)], dtype: "f32", data: (all.data as Float32Array).slice(300 * per, 360 * per) };

  for (const objective of ["latency", "additions"] as const) {
    test(`the same windows and measures as whole runs only (${objective}), with runs resumed from a layer boundary`, async () => {
      const m = await normalizedCnn();
      const conv = { coding: tscCoding({ phi: 0.5, rounding: "round" }), avgpool: "merge" } as const;
      const opts = { maxWindow: 32, tolerance: 6, objective, engine: "js", log: silentLogger } as const;
      const cached = await tuneWindows(m, ctx(), conv, held, opts);
      const whole = await tuneWindows(m, ctx(), conv, held, { ...opts, cacheBytes: 0 });
      expect(whole.resumed).toBe(0);
      expect(cached.resumed).toBeGreaterThan(0);
      expect(cached.evaluations).toBe(whole.evaluations);
      expect([...cached.windows]).toEqual([...whole.windows]);
      expect(cached.tuned).toEqual(whole.tuned);
      expect(cached.uniform).toEqual(whole.uniform);
      if (objective === "additions") expect(cached.tuned.additions).toBeGreaterThan(0);
    }, 120_000);
  }
});
