/**
 * Import diagnostics: every way an ONNX file can be unreadable or unsupported gives a TSCC1xxx error
 * whose rendered line names the file and, for node-level problems, the node and its op type; and the
 * CLI turns them into exit code 1 with one line per diagnostic on stderr, no stack trace, and no
 * output folder.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { isTsccError, renderDiagnostic, type Diagnostic } from "../../../ir/index.js";
import { main, type Io } from "../../../src/cli/main.js";
import { importOnnxFile } from "../../../src/frontend/onnx/import.js";
import { buildModel, type ModelSpec, type NodeSpec } from "../../support/onnx-builder.js";
import { editModel } from "../../support/onnx-import.js";

const dir = mkdtempSync(join(tmpdir(), "tscc-import-diagnostics-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, bytes: Uint8Array | string): string {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

/** One node on input x [N, 3, 4, 4]. */
function model(nodes: NodeSpec[], extra: Partial<ModelSpec> = {}): Uint8Array {
  return buildModel({ opset: 13, inputs: [{ name: "x", shape: ["N", 3, 4, 4] }], outputs: ["y"], nodes, ...extra });
}

const validModel = (): Uint8Array =>
  model([{ op: "Conv", inputs: ["x", "w"], outputs: ["y"] }], { initializers: [{ name: "w", dims: [8, 3, 3, 3], data: new Float32Array(216).fill(0.5) }] });

/** A Conv whose weights live in `location` (external data at offset/length). */
function externalModel(location: string, offset: number, length: number): Uint8Array {
  return editModel(validModel(), (m) => {
    const w = m.graph!.initializer![0]!;
    w.rawData = new Uint8Array(0);
    w.dataLocation = 1; // EXTERNAL
    w.externalData = [
      { key: "location", value: location },
      { key: "offset", value: String(offset) },
      { key: "length", value: String(length) },
    ];
  });
}

function importErrors(file: string): readonly Diagnostic[] {
  try {
    importOnnxFile(file);
  } catch (e) {
    if (isTsccError(e)) return e.diagnostics;
    throw e;
  }
  throw new Error(`importing ${file} succeeded`);
}

interface Expected {
  code: number;
  /** Node-level: `node #index 'name' (OpType)`. */
  node?: string;
  /** Substrings of the message. */
  says: string[];
}

/** Every expected diagnostic (and nothing else) is reported, each rendered as `file: [node: ]error TSCCnnnn: ...`. */
function expectDiagnostics(file: string, expected: Expected[]): void {
  const got = importErrors(file);
  const lines = got.map(renderDiagnostic);
  expect(got.map((d) => d.code), lines.join("\n")).toEqual(expected.map((e) => e.code));
  expected.forEach((e, i) => {
    const where = e.node ? `${file}: ${e.node}: ` : `${file}: `;
    expect(lines[i]!.startsWith(`${where}error TSCC${e.code}: `), lines[i]).toBe(true);
    for (const s of e.says) expect(lines[i]).toContain(s);
  });
}

describe("files tscc cannot read", () => {
  test("a truncated model (a valid one cut in half)", () => {
    const bytes = validModel();
    const file = write("truncated.onnx", bytes.subarray(0, bytes.length >> 1));
    expectDiagnostics(file, [{ code: 1002, says: ["not a readable ONNX model"] }]);
  });

  test("a PNG image", () => {
    const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0);
    expectDiagnostics(write("image.onnx", png), [{ code: 1002, says: ["not a readable ONNX model"] }]);
  });

  test("a text file", () => {
    expectDiagnostics(write("notes.onnx", "ir_version: 7\ngraph { node { op_type: 'Relu' } }\n"), [{ code: 1002, says: ["not a readable ONNX model"] }]);
  });

  test("an empty file", () => {
    expectDiagnostics(write("empty.onnx", new Uint8Array(0)), [{ code: 1002, says: ["no graph"] }]);
  });

  test("external data whose file is missing", () => {
    const file = write("external-missing.onnx", externalModel("missing-weights.bin", 0, 864));
    expectDiagnostics(file, [{ code: 1003, says: ["'missing-weights.bin'", "initializer 'w'"] }]);
  });

  test("external data whose offset + length run past the end of the data file", () => {
    write("short-weights.bin", new Uint8Array(100));
    const file = write("external-range.onnx", externalModel("short-weights.bin", 64, 864));
    expectDiagnostics(file, [{ code: 1012, says: ["initializer 'w'", "offset 64 + length 864", "100 bytes"] }]);
  });
});

describe("models tscc does not support", () => {
  test("three different unsupported ops are all reported in one error, each with node, op type, domain and opset", () => {
    const file = write(
      "unsupported.onnx",
      model(
        [
          { name: "gate", op: "Sigmoid", inputs: ["x"], outputs: ["s"] },
          { name: "rnn", op: "LSTM", inputs: ["s", "W", "R"], outputs: ["h"], attrs: { hidden_size: 4 } },
          { name: "mine", op: "FancyOp", domain: "com.example", inputs: ["h"], outputs: ["y"] },
        ],
        { extraOpsets: [{ domain: "com.example", version: 2 }] },
      ),
    );
    expectDiagnostics(file, [
      { code: 1001, node: "node #0 'gate' (Sigmoid)", says: ["'Sigmoid' (domain 'ai.onnx', opset 13)"] },
      { code: 1001, node: "node #1 'rnn' (LSTM)", says: ["'LSTM' (domain 'ai.onnx', opset 13)"] },
      { code: 1001, node: "node #2 'mine' (FancyOp)", says: ["'FancyOp' (domain 'com.example', opset 2)"] },
    ]);
  });

  test("a dynamic dimension other than the batch", () => {
    const file = write("dynamic-channels.onnx", model([{ op: "Relu", inputs: ["x"], outputs: ["y"] }], { inputs: [{ name: "x", shape: ["N", "C", 4, 4] }] }));
    expectDiagnostics(file, [{ code: 1004, says: ["input 'x'", "'C' at axis 1"] }]);
  });

  test("an int64 graph input", () => {
    const file = write("int-input.onnx", model([{ op: "Identity", inputs: ["x"], outputs: ["y"] }], { inputs: [{ name: "x", dtype: "int64", shape: ["N", 4] }] }));
    expectDiagnostics(file, [{ code: 1005, says: ["input 'x' has element type int64"] }]);
  });

  test("NaN and Inf weights are counted, and the node using them is named", () => {
    const w = new Float32Array(216).fill(0.5);
    w[3] = NaN;
    w[100] = Infinity;
    w[215] = -Infinity;
    const file = write("nan.onnx", model([{ name: "conv1", op: "Conv", inputs: ["x", "w"], outputs: ["y"] }], { initializers: [{ name: "w", dims: [8, 3, 3, 3], data: w }] }));
    expectDiagnostics(file, [{ code: 1006, node: "node #0 'conv1' (Conv)", says: ["initializer 'w' contains 3 non-finite value(s)"] }]);
  });

  test("unsupported attribute values: Pad mode reflect, BatchNormalization training_mode = 1, a used MaxPool Indices output", () => {
    const c = (name: string, v: number) => ({ name, dims: [3], data: new Float32Array(3).fill(v) });
    const file = write(
      "attributes.onnx",
      model(
        [
          { name: "pad", op: "Pad", inputs: ["x", "pads"], outputs: ["p"], attrs: { mode: "reflect" } },
          { name: "bn", op: "BatchNormalization", inputs: ["x", "s", "b", "m", "v"], outputs: ["n"], attrs: { training_mode: 1 } },
          { name: "pool", op: "MaxPool", inputs: ["x"], outputs: ["y", "idx"], attrs: { kernel_shape: [2, 2] } },
        ],
        {
          opset: 15,
          initializers: [{ name: "pads", dims: [8], data: BigInt64Array.of(0n, 0n, 1n, 1n, 0n, 0n, 1n, 1n) }, c("s", 1), c("b", 0), c("m", 0), c("v", 1)],
          outputs: ["y", { name: "idx", dtype: "int64" }, "p", "n"],
        },
      ),
    );
    expectDiagnostics(file, [
      { code: 1007, node: "node #0 'pad' (Pad)", says: ['mode = "reflect"'] },
      { code: 1007, node: "node #1 'bn' (BatchNormalization)", says: ["training_mode = 1"] },
      { code: 1016, node: "node #2 'pool' (MaxPool)", says: ["output 1 ('idx', Indices) is used"] },
    ]);
  });

  test("a Reshape whose target shape is computed at run time from data", () => {
    const file = write(
      "runtime-shape.onnx",
      model(
        [
          { name: "to_int", op: "Cast", inputs: ["shape_f"], outputs: ["target"], attrs: { to: 7 } },
          { name: "reshape", op: "Reshape", inputs: ["x", "target"], outputs: ["y"] },
        ],
        { inputs: [{ name: "x", shape: ["N", 3, 4, 4] }, { name: "shape_f", shape: [2] }] },
      ),
    );
    expectDiagnostics(file, [{ code: 1008, node: "node #1 'reshape' (Reshape)", says: ["input 'target' (target shape) must be a constant"] }]);
  });
});

describe("the CLI reports import errors without a stack trace", () => {
  function capture(): { io: Io; out: () => string; err: () => string } {
    let out = "";
    let err = "";
    return { io: { stdout: (s) => void (out += s), stderr: (s) => void (err += s), cwd: dir, tty: false }, out: () => out, err: () => err };
  }

  const whole = validModel();
  const failing = {
    truncated: { file: write("cli-truncated.onnx", whole.subarray(0, whole.length >> 1)), lines: 1 },
    unsupported: {
      file: write(
        "cli-unsupported.onnx",
        model([
          { name: "a", op: "Sigmoid", inputs: ["x"], outputs: ["s"] },
          { name: "b", op: "Tanh", inputs: ["s"], outputs: ["y"] },
        ]),
      ),
      lines: 2,
    },
    "NaN weights": {
      file: write("cli-nan.onnx", model([{ name: "c", op: "Conv", inputs: ["x", "w"], outputs: ["y"] }], { initializers: [{ name: "w", dims: [1, 3, 1, 1], data: Float32Array.of(1, NaN, 1) }] })),
      lines: 1,
    },
  };

  test.each(Object.entries(failing))("inspect of a %s model: exit code 1, one line per diagnostic", async (_what, { file, lines }) => {
    const c = capture();
    expect(await main(["inspect", file], c.io)).toBe(1);
    const text = c.err();
    expect(text).not.toContain("    at ");
    // One line per diagnostic; indented note/hint lines may follow it.
    const rendered = text
      .trimEnd()
      .split("\n")
      .filter((l) => !/^  (note|hint): /.test(l));
    expect(rendered).toHaveLength(lines);
    for (const l of rendered) {
      expect(l.startsWith(`${file}: `), l).toBe(true);
      expect(l).toMatch(/\.onnx: (node #\d+ '[^']+' \(\w+\): )?error TSCC1\d{3}: /);
    }
    expect(c.out()).toBe("");
  });

  test.each(Object.entries(failing))("compile -o of a %s model: exit code 1 and no output folder", async (what, { file }) => {
    const c = capture();
    const out = join(dir, `out-${what.replace(/\W/g, "-")}`);
    expect(await main(["compile", file, "-o", out], c.io)).toBe(1);
    expect(c.err()).toMatch(/error TSCC1\d{3}: /);
    expect(c.err()).not.toContain("    at ");
    expect(existsSync(out)).toBe(false);
  });

  test("the truncated model's bytes are really a prefix of a valid model", () => {
    // Guard for the cases above: the cut file differs from a loadable model only by its length.
    const cut = readFileSync(join(dir, "cli-truncated.onnx"));
    expect(Array.from(cut)).toEqual(Array.from(whole.subarray(0, cut.length)));
    expect(() => importOnnxFile(write("cli-whole.onnx", whole))).not.toThrow();
  });
});
