/**
 * Artifacts never execute code from the input model: strings taken from the model (graph, node,
 * input, output and initializer names, producer, metadata) reach the generated model.ts/model.js only
 * as JSON string literals, the Loihi report's Markdown and SVG only escaped, and file names only as
 * the fixed names of the backends, all inside the output folder.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ts } from "ts-morph";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { tinyFiles, tinyModel } from "../../../fuzz/corpus.js";
import { withHostileStrings } from "../../../fuzz/targets/names.js";
import { removeDir, tempDir, tscc } from "../../cli/support.js";

/** Each would run code, or write a file, if spliced into JavaScript, Markdown, HTML or a path unescaped. */
const HOSTILE = [
  "*/ globalThis.__tsccPwned = 'comment'; /*",
  '"); globalThis.__tsccPwned = "string"; ("',
  "`; globalThis.__tsccPwned = 'template'; `${globalThis.__tsccPwned = 'template'}",
  "\n globalThis.__tsccPwned = 'newline'; //",
  "\u2028 globalThis.__tsccPwned = 'line separator'; //",
  "</text><script>globalThis.__tsccPwned = 'svg'</script><text>",
  "| a | b |\n# heading",
  "../../escaped",
];

let tmp: string;
beforeAll(() => {
  tmp = tempDir("tscc-hostile-");
});
afterAll(() => removeDir(tmp));

/** The tiny CNN with `s` in every name and string field of the model. */
const hostileModel = (s: string): Uint8Array => withHostileStrings(tinyModel(), s, ["graph", "node", "input", "output", "initializer", "producer", "metadata"]);

/** A fresh folder holding the tiny CNN's inputs and `files`. */
function workspace(name: string, files: Record<string, Uint8Array> = {}): string {
  const work = join(tmp, name);
  mkdirSync(work);
  for (const [f, bytes] of Object.entries({ ...tinyFiles(), ...files })) writeFileSync(join(work, f), bytes);
  return work;
}

/** Top-level statement kinds of a JavaScript file (what a name could add to if it escaped its literal). */
function statementKinds(js: string): string[] {
  const sf = ts.createSourceFile("model.js", js, ts.ScriptTarget.ES2022, false, ts.ScriptKind.JS);
  return sf.statements.map((st) => ts.SyntaxKind[st.kind]);
}

let plainKinds: string[];
let imported = 0;

describe.each(HOSTILE.map((s, i) => [i, s] as const))("hostile string #%i", (i, s) => {
  test("emulator: compiles, model.js has the same statements as for plain names, importing it runs nothing from the model, nothing outside out/", async () => {
    const work = workspace(`emu-${i}`, { "model.onnx": hostileModel(s) });
    const r = await tscc(["compile", "model.onnx", "--target", "emulator", "--calibration", "calib.npy", "--window", "8", "-o", "out"], work);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readdirSync(work).sort()).toEqual([...Object.keys(tinyFiles()), "model.onnx", "out"].sort());
    expect(existsSync(join(tmp, "escaped"))).toBe(false);
    const js = readFileSync(join(work, "out/model.js"), "utf8");
    if (!plainKinds) {
      const plain = workspace("plain");
      expect((await tscc(["compile", "tiny.onnx", "--target", "emulator", "--calibration", "calib.npy", "--window", "8", "-o", "out"], plain)).code).toBe(0);
      plainKinds = statementKinds(readFileSync(join(plain, "out/model.js"), "utf8"));
    }
    expect(statementKinds(js)).toEqual(plainKinds);
    const g = globalThis as { __tsccPwned?: unknown };
    const mod = (await import(`${pathToFileURL(join(work, "out/model.js")).href}?n=${++imported}`)) as { load(dir: string): { values: { name: string }[] } };
    expect(g.__tsccPwned).toBeUndefined();
    // The names arrive intact as data.
    expect(mod.load(join(work, "out")).values.some((v) => v.name.includes(s.trim().slice(0, 8)))).toBe(true);
    const run = await tscc(["run", "out", "--input", "x.npy", "--json"], work);
    expect(run.code).toBe(0);
    expect(g.__tsccPwned).toBeUndefined();
  });
});

test("loihi: the report's Markdown and SVG carry hostile layer names escaped", async () => {
  const s = HOSTILE[5]! + HOSTILE[6]!;
  const work = workspace("loihi", { "model.onnx": hostileModel(s) });
  const r = await tscc(["compile", "model.onnx", "--target", "loihi", "--calibration", "calib.npy", "--window", "8", "-o", "out"], work);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const md = readFileSync(join(work, "out/resource-report.md"), "utf8");
  const svg = readFileSync(join(work, "out/mapping.svg"), "utf8");
  for (const text of [md, svg]) {
    expect(text).not.toContain("<script>");
    expect(text).not.toContain("</text><script>");
  }
  expect(md).toContain("&lt;script&gt;");
  // The name's '|' and newline would add table cells and a heading: every layer row keeps its 7 cells.
  expect(md).not.toMatch(/^# heading/m);
  const layerRows = md.split("## Layers")[1]!.split("\n\n")[1]!.split("\n").slice(2);
  expect(layerRows.length).toBeGreaterThan(0);
  for (const row of layerRows) expect(row.split(/(?<!\\)\|/).length - 2, row).toBe(7);
});
