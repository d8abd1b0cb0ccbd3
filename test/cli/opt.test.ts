/** `tscc opt`: IR in (text, JSON or ONNX), passes, IR out (stdout or -o with a weights sidecar). */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { builtinOps, interpret, verifyModule, type Module, type RTensor } from "../../ir/index.js";
import { loadModel } from "../../src/driver/load-model.js";
import { Rng } from "../support/random.js";
import { BN_POOL, listDir, removeDir, stackLines, tempDir, tscc } from "./support.js";

let tmp: string;

/** bn_pool compiled without folding, so fold-batchnorm has work to do: raw/model.tir + raw/weights.bin. */
beforeAll(async () => {
  tmp = tempDir("tscc-opt-");
  const r = await tscc(["compile", BN_POOL, "--passes", "drop-identity", "-o", "raw"], tmp);
  expect(r.code).toBe(0);
});
afterAll(() => removeDir(tmp));

function load(rel: string): Module {
  const m = loadModel(join(tmp, rel), builtinOps()).module;
  expect(verifyModule(m)).toEqual([]);
  return m;
}

function outputsOf(m: Module): Float32Array {
  const rng = new Rng(7);
  const input: RTensor = { shape: [2, 3, 16, 16], dtype: "f32", data: Float32Array.from({ length: 2 * 3 * 16 * 16 }, () => rng.uniform(-1, 1)) };
  return interpret(m, { input })["output"]!.data as Float32Array;
}

describe("tscc opt", () => {
  test("-o out.tir writes out.tir and out.weights.bin, which parse back; the passes ran and semantics hold", async () => {
    const r = await tscc(["opt", "raw/model.tir", "--passes", "fold-batchnorm,fuse-activations", "-o", "out.tir"], tmp);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(listDir(tmp)).toEqual(expect.arrayContaining(["out.tir", "out.weights.bin"]));
    const text = readFileSync(join(tmp, "out.tir"), "utf8");
    expect(text).toContain('weights_file = "out.weights.bin"');
    expect(text).not.toContain("nn.batch_norm");
    const before = load("raw/model.tir");
    const after = load("out.tir");
    expect(before.ops.some((o) => o.name === "nn.batch_norm")).toBe(true);
    const a = outputsOf(before);
    const b = outputsOf(after);
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 4));
  });

  test("without -o the IR goes to stdout with the weights inline", async () => {
    const r = await tscc(["opt", "raw/model.tir", "--passes", "fold-batchnorm"], tmp);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^module @bn_pool\.opset13 /);
    expect(r.stdout).toContain("dense<[");
    expect(r.stdout).not.toContain("weights_file");
  });

  test("--emit json writes JSON IR; a .tir.json file reads back and gives the same text", async () => {
    const j = await tscc(["opt", "raw/model.tir", "--passes", "fold-batchnorm", "--emit", "json", "-o", "folded.tir.json"], tmp);
    expect(j.code).toBe(0);
    expect(listDir(tmp)).toEqual(expect.arrayContaining(["folded.tir.json", "folded.weights.bin"]));
    const parsed = JSON.parse(readFileSync(join(tmp, "folded.tir.json"), "utf8")) as Record<string, unknown>;
    expect(typeof parsed).toBe("object");
    const fromJson = await tscc(["opt", "folded.tir.json", "--passes", "drop-identity"], tmp);
    expect(fromJson.stderr).toBe("");
    expect(fromJson.code).toBe(0);
    const fromText = await tscc(["opt", "raw/model.tir", "--passes", "fold-batchnorm"], tmp);
    expect(fromJson.stdout).toBe(fromText.stdout);
    const stdoutJson = await tscc(["opt", "folded.tir.json", "--passes", "drop-identity", "--emit", "json"], tmp);
    expect(() => JSON.parse(stdoutJson.stdout) as unknown).not.toThrow();
  });

  test("reads ONNX too, and --emit is checked (exit 2 for an unknown format)", async () => {
    const r = await tscc(["opt", BN_POOL, "--passes", "canonicalize"], tmp);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^module @bn_pool\.opset13 /);
    const bad = await tscc(["opt", BN_POOL, "--passes", "canonicalize", "--emit", "yaml"], tmp);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Allowed choices are text, json.");
  });

  test("-o over the input file itself works (weights are read before they are rewritten)", async () => {
    expect((await tscc(["opt", "raw/model.tir", "--passes", "drop-identity", "-o", "self.tir"], tmp)).code).toBe(0);
    const r = await tscc(["opt", "self.tir", "--passes", "fold-batchnorm", "-o", "self.tir"], tmp);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(load("self.tir").ops.some((o) => o.name === "nn.batch_norm")).toBe(false);
  });

  test("a .tir with a syntax error is exit 1 with file:line:col", async () => {
    writeFileSync(join(tmp, "broken.tir"), ["module @m {", '  input %0 : tensor<?x4xf32> {name = "x"}', "  %1 = nn.relu %0 : tensor<?x4xf32", '  output %1 {name = "y"}', "}", ""].join("\n"));
    const r = await tscc(["opt", "broken.tir", "--passes", "canonicalize"], tmp);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^\S*broken\.tir:3:\d+: error TSCC2001: /);
    expect(stackLines(r.stderr)).toEqual([]);
  });

  test("a .tir whose weights sidecar is missing is exit 1 naming the file", async () => {
    writeFileSync(join(tmp, "orphan.tir"), readFileSync(join(tmp, "raw/model.tir"), "utf8").replace('weights_file = "weights.bin"', 'weights_file = "gone.bin"'));
    const r = await tscc(["opt", "orphan.tir", "--passes", "fold-batchnorm"], tmp);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error TSCC2004: .*orphan\.tir: weights file 'gone\.bin' not found next to it/);
  });
});
