/**
 * Real exports: the PyTorch 1.13 fixtures (opsets 7–17, test/fixtures/onnx/manifest.json) and the
 * Fashion-MNIST example models. Each is imported, run in the interpreter on seeded inputs (batch 3;
 * the fixed-batch model is run per sample) and compared with onnxruntime on the same file; then the
 * default canonical pipeline runs and the comparison is repeated (passes must preserve semantics on
 * real exports, not only on hand-written IR).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { BATCH, verifyModule } from "../../../ir/index.js";
import { importOnnxFile } from "../../../src/frontend/onnx/import.js";
import { runPipeline } from "../../support/ir.js";
import { expectSameAsOrt } from "../../support/onnx-import.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const fixtures = join(root, "test", "fixtures", "onnx");
const examples = join(root, "examples", "fashion-mnist");

interface ManifestEntry {
  input: string;
  input_shape: (number | string)[];
  op_types: string[];
}
const manifest = JSON.parse(readFileSync(join(fixtures, "manifest.json"), "utf8")) as { fixtures: Record<string, ManifestEntry> };
const exampleModels = existsSync(examples) ? readdirSync(examples).filter((f) => f.endsWith(".onnx")) : [];

/** Import, compare with onnxruntime, canonicalize, compare again. */
async function checkAgainstOrt(file: string): Promise<void> {
  const m = importOnnxFile(file).module;
  expect(verifyModule(m)).toEqual([]);
  const opsBefore = m.ops.length;
  await expectSameAsOrt(file, m, { batch: 3, seed: 11 });
  await runPipeline(m, "canonicalize");
  expect(verifyModule(m)).toEqual([]);
  expect(m.ops.length).toBeLessThanOrEqual(opsBefore);
  await expectSameAsOrt(file, m, { batch: 3, seed: 11 });
}

describe("PyTorch 1.13 fixtures match onnxruntime, before and after canonicalize", () => {
  test.each(Object.entries(manifest.fixtures))("%s", async (name, entry) => {
    const file = join(fixtures, name);
    const m = importOnnxFile(file).module;
    // The manifest's facts about the export hold for the imported module.
    expect(m.inputs.map((i) => i.name)).toEqual([entry.input]);
    const shape = m.inputs[0]!.value.type.shape;
    expect(shape).toEqual(entry.input_shape.map((d) => (typeof d === "string" ? BATCH : d)));
    await checkAgainstOrt(file);
  });
});

describe("Fashion-MNIST example models match onnxruntime, before and after canonicalize", () => {
  test("the example folder holds the exported models", () => {
    expect(exampleModels.length, `no .onnx files in ${examples}`).toBeGreaterThan(0);
  });

  test.each(exampleModels)("%s", async (name) => {
    await checkAgainstOrt(join(examples, name));
  });
});
