/**
 * Hostile strings in a valid model (graph, node, input, output and initializer names, producer,
 * metadata, the model's own file name) compiled to an emulator artifact: the generated model.js must
 * not execute any of them when imported, and nothing may be written outside the output folder.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import fc from "fast-check";
import onnxProto from "onnx-proto";
import { tinyFiles, tinyModel } from "../corpus.js";
import { HOSTILE_STRINGS } from "../mutate.js";
import { defineTarget, type FuzzCase } from "../target.js";

const { onnx } = onnxProto;

/** Strings that would run code if spliced into JavaScript or TypeScript unescaped, and path tricks. */
const INJECTIONS = [
  ...HOSTILE_STRINGS.filter((s) => s !== "" && !s.includes("\u0000")),
  "*/globalThis.__tsccPwned=1/*",
  "\n globalThis.__tsccPwned = 1 //",
  "';globalThis.__tsccPwned=1;'",
  "`+(globalThis.__tsccPwned=1)+`",
  "</script><script>globalThis.__tsccPwned=1</script>",
  "../../escaped",
  "/tmp/escaped",
];

/** File names (which cannot hold '/' or NUL, so no comment terminator) with newlines, quotes and line separators. */
const FILE_NAMES = ["model.onnx", "a\nglobalThis.__tsccPwned=1\n.onnx", "q'\"`${1}`.onnx", "..onnx", "\u2028globalThis.__tsccPwned=1.onnx", "x*.onnx"];

let imports = 0;

export type StringPlace = "graph" | "node" | "input" | "output" | "initializer" | "producer" | "metadata";

/** `model` (an ONNX file) with `s` put into the given places (names are prefixed with it, so they stay distinct). */
export function withHostileStrings(model: Uint8Array, s: string, where: readonly StringPlace[]): Uint8Array {
  const m = onnx.ModelProto.decode(model);
  const g = m.graph!;
  const rename = (from: string, to: string): void => {
    for (const n of g.node ?? []) {
      n.input = (n.input ?? []).map((x) => (x === from ? to : x));
      n.output = (n.output ?? []).map((x) => (x === from ? to : x));
    }
    for (const v of [...(g.input ?? []), ...(g.output ?? [])]) if (v.name === from) v.name = to;
    for (const t of g.initializer ?? []) if (t.name === from) t.name = to;
  };
  if (where.includes("graph")) g.name = s;
  if (where.includes("node")) (g.node ?? []).forEach((n, i) => (n.name = `${s}${i}`));
  if (where.includes("input")) for (const v of g.input ?? []) rename(v.name ?? "", `${s}${v.name}`);
  if (where.includes("output")) for (const v of g.output ?? []) rename(v.name ?? "", `${s}${v.name}`);
  if (where.includes("initializer")) for (const t of g.initializer ?? []) rename(t.name ?? "", `${s}${t.name}`);
  if (where.includes("producer")) m.producerName = s;
  if (where.includes("metadata")) m.metadataProps = [onnx.StringStringEntryProto.create({ key: s, value: s })];
  return onnx.ModelProto.encode(m).finish();
}

export const namesTarget = defineTarget({
  name: "names",
  summary:
    "the tiny CNN with hostile strings (comment terminators, quotes, template literals, line separators, HTML, '../' and absolute paths) as graph/node/input/output/initializer names, producer, metadata and the model's file name, compiled to an emulator artifact; oracle: importing the generated model.js runs none of them and nothing is written outside the output folder",
  weight: 0.15,
  async prepare() {
    return { model: tinyModel() };
  },
  base: () => tinyFiles(),
  arbitrary: (p) =>
    fc
      .record({
        where: fc.subarray<StringPlace>(["graph", "node", "input", "output", "initializer", "producer", "metadata"], { minLength: 1 }),
        s: fc.constantFrom(...INJECTIONS),
        file: fc.constantFrom(...FILE_NAMES),
      })
      .map(({ where, s, file }): FuzzCase => {
        return { files: { [file]: withHostileStrings(p.model, s, where) }, argv: ["compile", file, "--target", "emulator", "--calibration", "calib.npy", "--window", "8", "-o", "out"], note: `${JSON.stringify(s)} as ${where.join("+")} in ${JSON.stringify(file)}` };
      }),
  valid: (p) => ({ files: { "model.onnx": p.model }, argv: ["compile", "model.onnx", "--target", "emulator", "--calibration", "calib.npy", "--window", "8", "-o", "out"], note: "plain names" }),
  async check(_p, dir, c, code) {
    const g = globalThis as { __tsccPwned?: unknown };
    const expected = new Set([...Object.keys(tinyFiles()), ...Object.keys(c.files), "out"]);
    const stray = readdirSync(dir).filter((f) => !expected.has(f));
    if (stray.length) return `files written outside the output folder: ${stray.join(", ")}`;
    if (code !== 0) return undefined;
    // A query string makes every case's model.js a fresh module (the ESM cache is keyed by URL).
    await import(`${pathToFileURL(join(dir, "out", "model.js")).href}?case=${++imports}`);
    if (g.__tsccPwned !== undefined) {
      delete g.__tsccPwned;
      return "importing the generated model.js executed a string from the model";
    }
    return undefined;
  },
});
