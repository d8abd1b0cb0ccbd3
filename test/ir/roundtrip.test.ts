/**
 * Text and JSON round trips: every module imported from the ONNX fixtures and every .tir under test/
 * prints back identically after parsing, JSON → module → JSON is stable, and the weights sidecar
 * restores the exact constant bytes (checked by hash).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { moduleFromJson, moduleToJson, parseModule, printModule, readWeights, sha256Hex, verifyModule, writeWeights } from "../../ir/index.js";
import { importOnnxFile } from "../../src/frontend/onnx/import.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const fixtures = join(root, "test", "fixtures", "onnx");
const onnxFiles = readdirSync(fixtures)
  .filter((f) => f.endsWith(".onnx"))
  .map((f) => join(fixtures, f));

function allTir(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? allTir(join(dir, d.name)) : d.name.endsWith(".tir") ? [join(dir, d.name)] : []));
}

describe("imported ONNX fixtures", () => {
  test.each(onnxFiles.map((f) => [f.slice(fixtures.length + 1), f]))("%s: text, JSON and weights round-trip", (_n, file) => {
    const m = importOnnxFile(file).module;
    expect(verifyModule(m)).toEqual([]);
    // Inline text.
    const inline = printModule(m, { inlineWeights: true });
    expect(printModule(parseModule(inline), { inlineWeights: true })).toBe(inline);
    // Blob references + sidecar.
    m.attrs["weights_file"] = "weights.bin";
    const text = printModule(m);
    const bin = writeWeights(m);
    const wf = readWeights(bin, "weights.bin");
    const back = parseModule(text, { loadBlob: (ref, t) => wf.load(ref, t) });
    expect(printModule(back)).toBe(text);
    for (const [name, c] of m.consts) expect(sha256Hex(back.consts.get(name)!.data)).toBe(sha256Hex(c.data));
    // JSON.
    const json = moduleToJson(m, { inlineWeights: true });
    const fromJson = moduleFromJson(JSON.parse(JSON.stringify(json)));
    expect(moduleToJson(fromJson, { inlineWeights: true })).toEqual(json);
    expect(printModule(fromJson, { inlineWeights: true })).toBe(printModule(m, { inlineWeights: true }));
  });
});

describe("hand-written .tir files under test/", () => {
  // Negative cases are malformed on purpose: diagnostics tests and the fuzzing regression fixtures.
  const files = allTir(join(root, "test")).filter((f) => !f.includes(`${join("test", "diagnostics")}`) && !f.includes(`${join("test", "fixtures", "fuzz")}`));
  test.each(files.map((f) => [f.slice(root.length + 1), f]))("%s prints back identically", (_n, file) => {
    const text = readFileSync(file, "utf8");
    const body = text
      .split("\n")
      .filter((l) => !l.startsWith("//"))
      .join("\n");
    expect(printModule(parseModule(text, { file }), { inlineWeights: true })).toBe(body);
  });
});

describe("weights sidecar", () => {
  test("a modified blob is rejected by its hash", () => {
    const m = importOnnxFile(join(fixtures, "matmul_add.opset13.onnx")).module;
    const bin = writeWeights(m);
    const text = printModule(m);
    const hlen = new DataView(bin.buffer).getUint32(8, true);
    const header = JSON.parse(Buffer.from(bin.subarray(12, 12 + hlen)).toString()) as { blobs: { offset: number }[] };
    bin[header.blobs[0]!.offset + 1]! ^= 0xff;
    const wf = readWeights(bin, "weights.bin");
    const back = parseModule(text, { loadBlob: (ref, t) => wf.load(ref, t) });
    expect(() => [...back.consts.values()].forEach((c) => c.data)).toThrow(/SHA-256/);
  });

  test("the same module gives byte-identical weights and text", () => {
    const a = importOnnxFile(join(fixtures, "resnet_block.opset13.onnx")).module;
    const b = importOnnxFile(join(fixtures, "resnet_block.opset13.onnx")).module;
    expect(Buffer.from(writeWeights(a)).equals(Buffer.from(writeWeights(b)))).toBe(true);
    expect(printModule(a)).toBe(printModule(b));
  });
});

describe("JSON version", () => {
  test("an unknown major version is refused", () => {
    const m = importOnnxFile(join(fixtures, "matmul_add.opset13.onnx")).module;
    const json = { ...moduleToJson(m, { inlineWeights: true }), version: 99 };
    expect(() => moduleFromJson(json)).toThrow(/TSCC2003.*version 99/);
  });
  test("a document without the format marker is refused", () => {
    expect(() => moduleFromJson({ version: 1 })).toThrow(/not a tscc-ir JSON document/);
  });
});
