/**
 * Window sweeps (`tscc run <artifact> --windows …`, `-O window=T`): the weights do not depend on T, so an
 * artifact run at another window must give exactly what the same model compiled at that window gives;
 * the sweep's point at the compiled window must equal the plain run; rate coding's override must equal
 * the `checkpoints` of one longer run; the equal-accuracy point is the first T within 0.5 pts of the ANN.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { equalAccuracyWindow, type Sweep, type SweepPoint } from "../../../backends/emulator/sweep.js";
import type { Network, RunResult } from "../../../backends/emulator/runtime/index.js";
import { encodeNpy, parseNpy } from "../../../src/io/npy.js";
import { Rng } from "../../support/random.js";
import { FIXTURES, removeDir, stackLines, tempDir, tscc } from "../../cli/support.js";

const MODEL = join(FIXTURES, "bn_pool.opset13.onnx"); // input [N, 3, 16, 16], 10 classes
let dir: string;

interface RunJson extends Record<string, unknown> {
  accuracy: number;
  ann_accuracy: number;
  agreement: number;
  synaptic_additions_per_inference: number;
  memory_reads_per_inference: number;
  spikes_per_inference: number;
  energy_per_inference_pj: number;
  latency_steps: number;
  window: number;
  layers: unknown[];
  sweep?: Sweep;
}

async function runJson(args: string[]): Promise<RunJson> {
  const r = await tscc(["run", ...args, "--input", "x.npy", "--labels", "y.npy", "--json"], dir);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as RunJson;
}

async function compile(out: string, extra: string[]): Promise<void> {
  const r = await tscc(["compile", MODEL, "--target", "emulator", "--calibration", "calib.npy", ...extra, "-o", out], dir);
  expect(r.code, r.stderr).toBe(0);
}

beforeAll(async () => {
  dir = tempDir("tscc-sweep-");
  const rng = new Rng(11);
  writeFileSync(join(dir, "calib.npy"), encodeNpy({ shape: [32, 3, 16, 16], dtype: "f32", data: rng.f32(32 * 768, 0, 1) }));
  writeFileSync(join(dir, "x.npy"), encodeNpy({ shape: [24, 3, 16, 16], dtype: "f32", data: rng.f32(24 * 768, 0, 1) }));
  writeFileSync(join(dir, "y.npy"), encodeNpy({ shape: [24], dtype: "i32", data: Int32Array.from({ length: 24 }, () => rng.int(0, 9)) }));
  await compile("tsc32", ["--window", "32"]);
  await compile("tsc8", ["--window", "8"]);
  await compile("rate64", ["--coding", "rate", "--window", "64"]);
  await compile("perlayer", ["--window", "32", "--windows", "input=4"]);
});
afterAll(() => removeDir(dir));

/** Everything a run reports about the network's behaviour (not its speed). */
function behaviour(j: RunJson): Record<string, unknown> {
  const { images_per_second: _s, sweep: _w, ...rest } = j;
  return rest;
}

describe("-O window=T", () => {
  test.each(["fast", "event"])("a T = 32 artifact run at T = 8 equals the model compiled at T = 8 (%s engine)", async (engine) => {
    const over = await runJson(["tsc32", "--engine", engine, "-O", "window=8"]);
    const plain = await runJson(["tsc8", "--engine", engine]);
    expect(over.window).toBe(8);
    expect(over.latency_steps).toBe(plain.latency_steps);
    expect(behaviour(over)).toEqual(behaviour(plain));
  });

  test("per-layer windows are overridden too: every layer runs at T", async () => {
    const plain = await runJson(["perlayer"]);
    expect(behaviour(plain)).not.toEqual(behaviour(await runJson(["tsc32"]))); // the input window differs
    expect(behaviour(await runJson(["perlayer", "-O", "window=8"]))).toEqual(behaviour(await runJson(["tsc8"])));
  });

  test("at the compiled window it equals the plain run (the closed-form ONNX rebuilt from the network)", async () => {
    expect(behaviour(await runJson(["tsc32", "-O", "window=32"]))).toEqual(behaviour(await runJson(["tsc32"])));
  });

  test("rate: a T = 64 artifact run at T = 16 equals step 16 of the T = 64 run's checkpoints", async () => {
    const over = await runJson(["rate64", "--engine", "event", "-O", "window=16"]);
    const mod = (await import(pathToFileURL(join(dir, "rate64", "model.js")).href)) as { load(d: string): Network; runEvent(n: Network, x: Float32Array, b: number, o: object): RunResult };
    const x = parseNpy(readFileSync(join(dir, "x.npy")), "x.npy").data as Float32Array;
    const cp = mod.runEvent(mod.load(join(dir, "rate64")), x, 24, { checkpoints: [16] }).checkpoints![0]!;
    expect(cp.step).toBe(16);
    expect(over.synaptic_additions_per_inference).toBe(cp.counters.synaptic_additions / 24);
    expect(over.spikes_per_inference).toBe(cp.counters.spikes / 24);
    expect(over.latency_steps).toBe(16);
    const logits = await tscc(["run", "rate64", "--engine", "event", "-O", "window=16", "--input", "x.npy", "--save-output", "y16.npy"], dir);
    expect(logits.code, logits.stderr).toBe(0);
    expect(Array.from(parseNpy(readFileSync(join(dir, "y16.npy")), "y16.npy").data as Float32Array)).toEqual(Array.from(cp.outputs[0]!));
  });

  test("a window that is not an integer ≥ 1 is a one-line usage error", async () => {
    const r = await tscc(["run", "tsc32", "--input", "x.npy", "-O", "window=0"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/TSCC5007: window '0' is not an integer ≥ 1/);
    expect(stackLines(r.stderr)).toEqual([]);
  });
});

describe("--windows", () => {
  test("one point per window, ascending; the compiled window's point equals the plain run", async () => {
    const j = await runJson(["tsc32", "--windows", "32,4,8,8"]);
    const s = j.sweep!;
    expect(s.format).toBe("tscc-sweep");
    expect(s.coding).toBe("tsc");
    expect(s.compiled_window).toBe(32);
    expect(s.points.map((p) => p.window)).toEqual([4, 8, 32]);
    const at32 = s.points[2]!;
    for (const k of ["accuracy", "agreement", "synaptic_additions_per_inference", "memory_reads_per_inference", "spikes_per_inference", "energy_per_inference_pj", "latency_steps"] as const) expect(at32[k], k).toBe(j[k]);
    expect(s.points.map((p) => p.latency_steps)).toEqual([4 * 3, 8 * 3, 32 * 3]);
    expect(s.equal_accuracy_window).toBe(equalAccuracyWindow(s.points, j.ann_accuracy));
  });

  test("the text report prints the sweep table", async () => {
    const r = await tscc(["run", "tsc32", "--input", "x.npy", "--labels", "y.npy", "--windows", "4,8"], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/window sweep \(tsc, fast engine\):\nT\s+accuracy\s+agreement\s+synaptic adds\s+latency\n/);
    expect(r.stdout).toMatch(/^4\s+\d+\.\d%\s+\d+\.\d%/m);
  });

  test("a bad list is a usage error", async () => {
    const r = await tscc(["run", "tsc32", "--input", "x.npy", "--windows", "8,x"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/window 'x' is not an integer/);
  });
});

describe("equal-accuracy point", () => {
  const pt = (window: number, accuracy: number): SweepPoint => ({ window, accuracy, synaptic_additions_per_inference: 0, memory_reads_per_inference: 0, spikes_per_inference: 0, energy_per_inference_pj: 0, latency_steps: 0 });
  test("the first T (ascending) within 0.5 points of the ANN, null when none or without an ANN accuracy", () => {
    expect(equalAccuracyWindow([pt(32, 0.91), pt(8, 0.89), pt(16, 0.903)], 0.907)).toBe(16);
    expect(equalAccuracyWindow([pt(8, 0.902)], 0.907)).toBe(8); // exactly 0.5 points below
    expect(equalAccuracyWindow([pt(8, 0.9019)], 0.907)).toBeNull();
    expect(equalAccuracyWindow([pt(8, 0.95)], undefined)).toBeNull();
  });
});
