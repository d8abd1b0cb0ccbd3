/**
 * Bad input for `tscc compile --target emulator` and `tscc run <artifact>`: each gets a one-line
 * diagnostic, exit 1, no stack trace, and nothing half-written.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { encodeNpy } from "../../../src/io/npy.js";
import { buildModel } from "../../support/onnx-builder.js";
import { Rng } from "../../support/random.js";
import { FIXTURES, removeDir, stackLines, tempDir, tscc } from "../../cli/support.js";

const MODEL = join(FIXTURES, "bn_pool.opset13.onnx"); // input [N, 3, 16, 16]
let dir: string;
let artifact: string;

function npy(name: string, shape: number[], data: Float32Array | Float64Array | Int32Array, dtype: "f32" | "f64" | "i32" = "f32"): string {
  const file = join(dir, name);
  writeFileSync(file, encodeNpy({ shape, dtype, data }));
  return file;
}

function expectUserError(r: { code: number; stdout: string; stderr: string }, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).toMatch(pattern);
  expect(stackLines(r.stderr)).toEqual([]);
}

beforeAll(async () => {
  dir = tempDir("tscc-emu-bad-");
  const rng = new Rng(3);
  npy("calib.npy", [32, 3, 16, 16], rng.f32(32 * 768, 0, 1));
  npy("x.npy", [4, 3, 16, 16], rng.f32(4 * 768, 0, 1));
  artifact = join(dir, "art");
  const r = await tscc(["compile", MODEL, "--target", "emulator", "--calibration", "calib.npy", "--window", "8", "-o", artifact], dir);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(() => removeDir(dir));

describe("tscc run on an emulator artifact", () => {
  test("runs the good input (the control for the cases below)", async () => {
    const r = await tscc(["run", artifact, "--input", "x.npy", "--json"], dir);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { spikes_per_neuron_max: number; latency_steps: number };
    expect(j.spikes_per_neuron_max).toBeLessThanOrEqual(2);
    // conv, conv, gemm (the pools merge into the next layer): three windows of T = 8.
    expect(j.latency_steps).toBe(8 * 3);
  });

  test("input of the wrong shape", async () => {
    npy("wrong.npy", [4, 3, 16, 15], new Float32Array(4 * 3 * 16 * 15));
    expectUserError(await tscc(["run", artifact, "--input", "wrong.npy"], dir), /input 'input' has shape \[4, 3, 16, 15\] but the network takes \[N, 3, 16, 16\]/);
  });

  test("input without a batch dimension gets a hint", async () => {
    npy("nobatch.npy", [3, 16, 16], new Float32Array(768));
    expectUserError(await tscc(["run", artifact, "--input", "nobatch.npy"], dir), /hint: add a leading batch dimension/);
  });

  test("input of the wrong dtype", async () => {
    npy("ints.npy", [1, 3, 16, 16], new Int32Array(768), "i32");
    expectUserError(await tscc(["run", artifact, "--input", "ints.npy"], dir), /dtype i32.*float32|float32.*i32/);
  });

  test("values outside the declared input range", async () => {
    const d = new Float32Array(768).fill(0.5);
    d[5] = 3;
    npy("range.npy", [1, 3, 16, 16], d);
    expectUserError(await tscc(["run", artifact, "--input", "range.npy"], dir), /outside the declared input range \[0, 1\]/);
  });

  test("NaN input", async () => {
    const d = new Float32Array(768).fill(0.5);
    d[7] = NaN;
    npy("nan.npy", [1, 3, 16, 16], d);
    expectUserError(await tscc(["run", artifact, "--input", "nan.npy"], dir), /1 NaN value/);
  });

  test("an artifact written by another version is refused with a hint to recompile", async () => {
    const old = join(dir, "old");
    cpSync(artifact, old, { recursive: true });
    const m = JSON.parse(readFileSync(join(old, "manifest.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(old, "manifest.json"), JSON.stringify({ ...m, version: 99, tscc: "9.9.9" }));
    const r = await tscc(["run", old, "--input", "x.npy"], dir);
    expectUserError(r, /version 99 \(written by tscc 9\.9\.9\)/);
    expect(r.stderr).toMatch(/hint: recompile/);
  });

  test("an unknown engine is a usage error", async () => {
    const r = await tscc(["run", artifact, "--input", "x.npy", "--engine", "warp"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--engine must be event or fast/);
  });
});

describe("tscc compile --target emulator", () => {
  const out = (): string => join(dir, "never");

  test("without calibration data", async () => {
    expectUserError(await tscc(["compile", MODEL, "--target", "emulator", "-o", out()], dir), /no calibration data/);
    expect(existsSync(out())).toBe(false);
  });

  test("with empty calibration data", async () => {
    npy("empty.npy", [0, 3, 16, 16], new Float32Array(0));
    expectUserError(await tscc(["compile", MODEL, "--target", "emulator", "--calibration", "empty.npy", "-o", out()], dir), /holds no samples/);
    expect(existsSync(out())).toBe(false);
  });

  test("with a missing calibration file", async () => {
    expectUserError(await tscc(["compile", MODEL, "--target", "emulator", "--calibration", "nope.npy", "-o", out()], dir), /file not found: nope\.npy/);
  });

  test("with calibration data of the wrong shape", async () => {
    npy("cal28.npy", [2, 1, 28, 28], new Float32Array(2 * 784));
    expectUserError(await tscc(["compile", MODEL, "--target", "emulator", "--calibration", "cal28.npy", "-o", out()], dir), /samples have shape \[1, 28, 28\], the model input is \[\?, 3, 16, 16\]/);
  });

  test("with negative calibration inputs (an undeclared normalisation)", async () => {
    npy("neg.npy", [2, 3, 16, 16], new Float32Array(2 * 768).fill(-0.5));
    expectUserError(await tscc(["compile", MODEL, "--target", "emulator", "--calibration", "neg.npy", "-o", out()], dir), /negative.*--mean\/--std/);
  });

  test("with a window T < 1", async () => {
    expectUserError(await tscc(["compile", MODEL, "--target", "emulator", "--calibration", "calib.npy", "--window", "-3", "-o", out()], dir), /window must be at least 1 step/);
    expect(existsSync(out())).toBe(false);
  });

  test("a hidden layer whose output can be negative (no ReLU) names both layers", async () => {
    const rng = new Rng(5);
    const model = buildModel({
      opset: 13,
      inputs: [{ name: "x", shape: ["N", 4] }],
      outputs: [{ name: "y", shape: ["N", 3] }],
      initializers: [
        { name: "w1", dims: [4, 5], data: rng.f32(20) },
        { name: "w2", dims: [5, 3], data: rng.f32(15) },
      ],
      nodes: [
        { op: "MatMul", name: "hidden", inputs: ["x", "w1"], outputs: ["h"] },
        { op: "MatMul", name: "out", inputs: ["h", "w2"], outputs: ["y"] },
      ],
    });
    writeFileSync(join(dir, "neg.onnx"), model);
    npy("cal4.npy", [2, 4], new Float32Array(8).fill(0.5));
    const r = await tscc(["compile", "neg.onnx", "--target", "emulator", "--calibration", "cal4.npy", "-o", out()], dir);
    expectUserError(r, /node #0 'hidden' \(MatMul\).*no ReLU and can be negative, but it feeds nn\.matmul at 'out'/);
  });

  test("an activation TSC cannot carry (Sigmoid) is named with a hint", async () => {
    const model = buildModel({
      opset: 13,
      inputs: [{ name: "x", shape: ["N", 4] }],
      outputs: [{ name: "y", shape: ["N", 4] }],
      nodes: [{ op: "Sigmoid", name: "act", inputs: ["x"], outputs: ["y"] }],
    });
    writeFileSync(join(dir, "sig.onnx"), model);
    const r = await tscc(["compile", "sig.onnx", "--target", "emulator", "--calibration", "cal4.npy", "-o", out()], dir);
    expectUserError(r, /node #0 'act' \(Sigmoid\): error TSCC1001/);
    expect(r.stderr).toMatch(/hint: .*ReLU/);
  });
});
