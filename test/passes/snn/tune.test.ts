/**
 * Window tuning (src/passes/snn/tune.ts): the chosen windows are checked independently — the SNN is
 * rebuilt with them through the public conversion (insert-tsc-encoding{windows=…}) and run by the event
 * engine, and its accuracy / agreement on the held-out samples is recomputed against the ANN run by the
 * reference interpreter; it must meet the constraint the tuner claims, with the latency it claims.
 */
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { interpret, silentLogger, type Module, type PassContext } from "../../../ir/index.js";
import type { RTensor } from "../../../ir/interp/tensor.js";
import { buildNetwork } from "../../../backends/emulator/build-network.js";
import { argmax } from "../../../backends/emulator/run.js";
import { runEvent } from "../../../backends/emulator/runtime/index.js";
import { importOnnxFile } from "../../../src/frontend/onnx/import.js";
import { readNpy } from "../../../src/io/npy.js";
import { tscCoding } from "../../../src/passes/snn/convert.js";
import { tuneWindows, TuneError, windowLadder } from "../../../src/passes/snn/tune.js";
import { builtinOps, DiagnosticBag } from "../../../ir/index.js";
import { runPipeline } from "../../support/ir.js";

const fm = join(import.meta.dirname, "..", "..", "..", "examples", "fashion-mnist");

function slice(t: RTensor, a: number, b: number): RTensor {
  const per = t.data.length / t.shape[0]!;
  return { shape: [b - a, ...t.shape.slice(1)], dtype: "f32", data: (t.data as Float32Array).slice(a * per, b * per) };
}

function predictions(logits: ArrayLike<number>, n: number): number[] {
  const k = logits.length / n;
  return Array.from({ length: n }, (_, i) => argmax(logits, i, k));
}

async function normalizedCnn(): Promise<Module> {
  const m = importOnnxFile(join(fm, "cnn-small.onnx")).module;
  await runPipeline(m, "canonicalize,normalize-thresholds{calibration=calib-images.npy,limit=300}", { cwd: fm });
  return m;
}

function passContext(): PassContext {
  return { options: {}, diag: new DiagnosticBag("test"), ops: builtinOps(), log: silentLogger, inputs: {} };
}

describe("windowLadder", () => {
  test("every integer up to 8, then steps of about 2^¼, from T_max down", () => {
    expect(windowLadder(32)).toEqual([32, 27, 23, 19, 16, 13, 11, 10, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(windowLadder(5)).toEqual([5, 4, 3, 2, 1]);
  });
});

describe("tuneWindows on cnn-small (held-out calibration images from 300 on)", () => {
  const all = readNpy(join(fm, "calib-images.npy"));

  for (const [engine, samples] of [["auto", 120], ["js", 50]] as const) {
    test(`agreement constraint (${engine === "js" ? "JavaScript closed form" : "onnxruntime when installed"}): the windows meet it when checked independently, at a lower latency`, async () => {
      const m = await normalizedCnn();
      const held = slice(all, 300, 300 + samples);
      const n = samples;
      const r = await tuneWindows(m, passContext(), { coding: tscCoding({ phi: 0.5, rounding: "round" }), avgpool: "merge" }, held, { maxWindow: 32, tolerance: 6, objective: "latency", engine, log: silentLogger });
      expect(r.layers.map((l) => l.index)).toEqual(["#0", "#1", "#2", "#3"]);
      expect(r.layers[0]!.key).toBe("input");
      expect(r.tuned.latency).toBeLessThan(r.uniform.latency);
      expect(r.uniform.latency).toBe(4 * 32);
      for (const l of r.layers) expect(l.window).toBeLessThanOrEqual(32);
      // Independent check: convert with the chosen windows, run the event engine, compare with the ANN.
      const snn = m.clone();
      const spec = r.layers.map((l) => `${l.key}=${l.window}`).join(";");
      await runPipeline(snn, `insert-tsc-encoding{window=32,windows=${JSON.stringify(spec)}}`);
      const { network } = buildNetwork(snn);
      const ev = runEvent(network, held.data as Float32Array, n);
      expect(ev.latency).toBe(r.tuned.latency);
      expect(ev.latency).toBe(r.layers.reduce((a, l) => a + l.window, 0));
      const ann = predictions(interpret(m, { input: held }).logits!.data as Float32Array, n);
      const snnPred = predictions(ev.outputs[0]!, n);
      const agree = snnPred.filter((p, i) => p === ann[i]).length / n;
      expect(agree).toBe(r.tuned.agreement);
      expect(agree).toBeGreaterThanOrEqual(0.94);
    }, 120_000);
  }

  test("labels: the constraint is top-1 accuracy against the ANN's", async () => {
    const m = await normalizedCnn();
    const n = 120;
    const labels = [...(readNpy(join(fm, "test-labels.npy")).data as BigInt64Array).slice(0, n)].map(Number);
    const x = slice(readNpy(join(fm, "test-images.npy")), 0, n);
    const r = await tuneWindows(m, passContext(), { coding: tscCoding({ phi: 0.5, rounding: "round" }), avgpool: "merge" }, x, { maxWindow: 16, tolerance: 2, objective: "latency", labels, log: silentLogger });
    expect(r.annAccuracy).toBeDefined();
    expect(r.tuned.accuracy!).toBeGreaterThanOrEqual(r.annAccuracy! - 0.02 - 1e-12);
    expect(r.tuned.latency).toBeLessThan(r.uniform.latency);
  }, 120_000);

  test("a margin T_max cannot hold becomes the margin T_max holds, and the tuned network holds it too", async () => {
    const m = await normalizedCnn();
    const n = 120;
    const labels = [...(readNpy(join(fm, "test-labels.npy")).data as BigInt64Array).slice(0, n)].map(Number);
    const x = slice(readNpy(join(fm, "test-images.npy")), 0, n);
    const r = await tuneWindows(m, passContext(), { coding: tscCoding({ phi: 0.5, rounding: "round" }), avgpool: "merge" }, x, { maxWindow: 16, tolerance: 2, margin: 100, objective: "latency", labels, log: silentLogger });
    const slack = (acc: number): number => acc - r.annAccuracy! + 0.02;
    expect(r.margin).toBeLessThan(100);
    // T_max holds exactly this margin (it is the largest it holds) ...
    expect(slack(r.uniform.accuracy!) / r.uniform.standardError).toBeCloseTo(r.margin, 9);
    // ... and every accepted network holds at least as much.
    expect(slack(r.tuned.accuracy!) + 1e-12).toBeGreaterThanOrEqual(r.margin * r.tuned.standardError);
    expect(r.tuned.latency).toBeLessThanOrEqual(r.uniform.latency);
  }, 120_000);

  test("a tolerance even T_max cannot meet is a named error", async () => {
    const m = await normalizedCnn();
    await expect(tuneWindows(m, passContext(), { coding: tscCoding({ phi: 0.5, rounding: "round" }), avgpool: "merge" }, slice(all, 300, 340), { maxWindow: 1, tolerance: 0, objective: "latency", log: silentLogger })).rejects.toThrow(TuneError);
  });
});
