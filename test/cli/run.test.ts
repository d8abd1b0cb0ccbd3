/**
 * `tscc run`: ONNX models on the reference interpreter and `ir` artifact folders, with .npy and ONNX
 * TensorProto (.pb) inputs, --save-output, --labels (accuracy) and --json; bad inputs are exit 1 with
 * one diagnostic line.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { builtinOps, interpret, type RTensor } from "../../ir/index.js";
import { loadModel } from "../../src/driver/load-model.js";
import { encodeNpy, parseNpy } from "../../src/io/npy.js";
import { Rng } from "../support/random.js";
import { MATMUL_ADD, removeDir, stackLines, tempDir, tscc } from "./support.js";

let tmp: string;
/** 3 samples of matmul_add's input [N, 20]. */
let x: Float32Array;
/** The interpreter's output for `x` on the raw import (what `tscc run model.onnx` computes). */
let expected: RTensor;
/** Class of each sample by the model (argmax of `expected`). */
let predicted: number[];

function writeNpy(name: string, t: Parameters<typeof encodeNpy>[0]): string {
  writeFileSync(join(tmp, name), encodeNpy(t));
  return name;
}

beforeAll(async () => {
  tmp = tempDir("tscc-run-");
  const rng = new Rng(20240611);
  x = Float32Array.from({ length: 3 * 20 }, () => rng.uniform(-1, 1));
  writeNpy("x.npy", { shape: [3, 20], dtype: "f32", data: x });
  writeNpy("x64.npy", { shape: [3, 20], dtype: "f64", data: Float64Array.from(x) });
  const m = loadModel(MATMUL_ADD, builtinOps()).module;
  expected = interpret(m, { input: { shape: [3, 20], dtype: "f32", data: x } })["output"]!;
  predicted = [0, 1, 2].map((i) => {
    const row = Array.from(expected.data.slice(i * 8, i * 8 + 8) as Float32Array);
    return row.indexOf(Math.max(...row));
  });
  const compiled = await tscc(["compile", MATMUL_ADD, "-o", "artifact"], tmp);
  expect(compiled.code).toBe(0);
});
afterAll(() => removeDir(tmp));

function readOutput(name: string): RTensor {
  return parseNpy(readFileSync(join(tmp, name)), name);
}

/** Labels where the first two samples agree with the model and the third does not: accuracy 2/3. */
function labelsTwoOfThree(): string {
  return writeNpy("labels.npy", { shape: [3], dtype: "i64", data: BigInt64Array.from([predicted[0]!, predicted[1]!, (predicted[2]! + 1) % 8].map(BigInt)) });
}

describe("run an ONNX model", () => {
  test("prints the output table; --save-output writes a .npy equal to the interpreter's output", async () => {
    const r = await tscc(["run", MATMUL_ADD, "--input", "x.npy", "--save-output", "y.npy"], tmp);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^output\s+\[3, 8\]\s+f32$/m);
    const y = readOutput("y.npy");
    expect(y.shape).toEqual([3, 8]);
    expect(y.dtype).toBe("f32");
    expect(Array.from(y.data as Float32Array)).toEqual(Array.from(expected.data as Float32Array));
  });

  test("--save-output name=path picks the output by name", async () => {
    const r = await tscc(["run", MATMUL_ADD, "-i", "input=x.npy", "--save-output", "output=named.npy"], tmp);
    expect(r.code).toBe(0);
    expect(readOutput("named.npy").data).toEqual(expected.data);
  });

  test("--labels reports top-1 accuracy; --json is machine-readable", async () => {
    const r = await tscc(["run", MATMUL_ADD, "-i", "x.npy", "--labels", labelsTwoOfThree(), "--json"], tmp);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({ samples: 3, outputs: { output: { shape: [3, 8], dtype: "f32" } } });
    expect(j["accuracy"]).toBeCloseTo(2 / 3, 12);
    expect(typeof j["images_per_second"]).toBe("number");
    const text = await tscc(["run", MATMUL_ADD, "-i", "x.npy", "--labels", "labels.npy"], tmp);
    expect(text.stdout).toMatch(/^accuracy\s+0\.667$/m);
  });

  test("an ONNX TensorProto (.pb) input works like the .npy", async () => {
    const { onnx } = onnxProto;
    const proto = onnx.TensorProto.encode({ name: "input", dims: [3, 20], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(x.buffer.slice(0)) }).finish();
    writeFileSync(join(tmp, "input_0.pb"), proto);
    const r = await tscc(["run", MATMUL_ADD, "-i", "input_0.pb", "--save-output", "from-pb.npy"], tmp);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readOutput("from-pb.npy").data).toEqual(expected.data);
  });

  test("a float64 .npy is narrowed to float32 (NumPy's default dtype)", async () => {
    const r = await tscc(["run", MATMUL_ADD, "-i", "x64.npy", "--save-output", "from-f64.npy"], tmp);
    expect(r.code).toBe(0);
    expect(readOutput("from-f64.npy").data).toEqual(expected.data);
  });
});

describe("run an ir artifact folder (compiled from matmul_add)", () => {
  test("gives the interpreter's outputs (after canonicalize), --labels accuracy and --json", async () => {
    const r = await tscc(["run", "artifact", "-i", "x.npy", "--labels", labelsTwoOfThree(), "--save-output", "art.npy", "--json"], tmp);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({ samples: 3, outputs: { output: { shape: [3, 8], dtype: "f32" } } });
    expect(j["accuracy"]).toBeCloseTo(2 / 3, 12);
    const y = readOutput("art.npy");
    expect(y.shape).toEqual([3, 8]);
    (y.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo((expected.data as Float32Array)[i]!, 5));
  });

  test("an input of a model whose input is not called 'input' is given as name=path", async () => {
    // A .tir model compiled to an ir artifact: input `x` [N, 2], y = x · w.
    writeFileSync(
      join(tmp, "tiny.tir"),
      [
        "module @tiny {",
        "  const @w : tensor<2x2xf32> = dense<[1.0, 2.0, 3.0, 4.0]>",
        '  input %0 : tensor<?x2xf32> {name = "x"}',
        "  %1 = nn.matmul %0, @w : tensor<?x2xf32>",
        '  output %1 {name = "y"}',
        "}",
        "",
      ].join("\n"),
    );
    expect((await tscc(["compile", "tiny.tir", "-o", "tiny-ir"], tmp)).code).toBe(0);
    writeNpy("tiny-in.npy", { shape: [1, 2], dtype: "f32", data: Float32Array.from([1, 1]) });
    const r = await tscc(["run", "tiny-ir", "-i", "x=tiny-in.npy", "--save-output", "tiny-out.npy"], tmp);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(Array.from(readOutput("tiny-out.npy").data as Float32Array)).toEqual([4, 6]);
  });

  test("a folder tscc did not write is refused", async () => {
    const r = await tscc(["run", ".", "-i", "x.npy"], tmp);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error TSCC5004: cannot read '\.': this folder was not written by `tscc compile`$/m);
  });
});

describe("bad inputs are exit 1 with a one-line diagnostic", () => {
  const files: Record<string, () => void> = {
    "wide.npy": () => writeNpy("wide.npy", { shape: [3, 21], dtype: "f32", data: new Float32Array(63) }),
    "ints.npy": () => writeNpy("ints.npy", { shape: [3, 20], dtype: "i32", data: new Int32Array(60) }),
    "text.npy": () => writeFileSync(join(tmp, "text.npy"), "0.1 0.2 0.3\n"),
    "garbage.pb": () => writeFileSync(join(tmp, "garbage.pb"), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])),
    "labels4.npy": () => writeNpy("labels4.npy", { shape: [4], dtype: "i64", data: new BigInt64Array(4) }),
    "flabels.npy": () => writeNpy("flabels.npy", { shape: [3], dtype: "f32", data: new Float32Array(3) }),
  };
  beforeAll(() => Object.values(files).forEach((make) => make()));

  const cases: [string, string[], RegExp][] = [
    ["wrong shape", ["-i", "wide.npy"], /^error TSCC5005: input 'input' has shape \[3, 21\] but the model expects \[\?, 20\]$/],
    ["integer dtype", ["-i", "ints.npy"], /^error TSCC5005: input 'input' from ints\.npy has dtype i32; the model takes float32$/],
    ["missing file", ["-i", "nowhere.npy"], /^error TSCC5006: file not found: .*nowhere\.npy$/],
    ["not an npy", ["-i", "text.npy"], /^error TSCC5004: cannot read '.*text\.npy': not a \.npy file$/],
    ["not a TensorProto", ["-i", "garbage.pb"], /^error TSCC5004: cannot read '.*garbage\.pb': not an ONNX TensorProto/],
    ["labels count mismatch", ["-i", "x.npy", "--labels", "labels4.npy"], /^error TSCC5005: labels4\.npy holds 4 labels for 3 samples$/],
    ["float labels", ["-i", "x.npy", "--labels", "flabels.npy"], /^error TSCC5005: labels in flabels\.npy are f32; integer class indices are expected$/],
  ];

  describe.each([
    ["an ONNX model", MATMUL_ADD],
    ["an ir artifact", "artifact"],
  ])("for %s", (_what, model) => {
    test.each(cases)("%s", async (_name, argv, message) => {
      const r = await tscc(["run", model, ...argv], tmp);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines.filter((l) => !/^ {2}(hint|note): /.test(l))).toEqual([expect.stringMatching(message)]);
      expect(stackLines(r.stderr)).toEqual([]);
    });
  });
});
