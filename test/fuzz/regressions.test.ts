/**
 * Regression tests for what `npm run fuzz` found: one folder per crash under test/fixtures/fuzz/
 * (written by make_fixtures.ts; case.json says what was found and what tscc must say now). Each is
 * run through the CLI in its own folder with the tiny CNN's files (and, for artifact cases, its
 * compiled artifact underneath the fixture's files): exit 1, one coded diagnostic line naming the
 * problem, no stack trace, no output folder.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { emulatorArtifact, loihiArtifact, setScratch, tinyFiles } from "../../fuzz/corpus.js";
import { removeDir, ROOT, stackLines, tempDir, tscc } from "../cli/support.js";
import type { FixtureCase } from "../fixtures/fuzz/make_fixtures.js";

const FIXTURES = join(ROOT, "test/fixtures/fuzz");
const cases = readdirSync(FIXTURES)
  .filter((d) => existsSync(join(FIXTURES, d, "case.json")))
  .sort();

let tmp: string;
const artifacts: Record<string, Record<string, Uint8Array>> = {};
beforeAll(async () => {
  tmp = tempDir("tscc-fuzz-regressions-");
  mkdirSync(join(tmp, "scratch"));
  setScratch(join(tmp, "scratch"));
  artifacts["emulator"] = await emulatorArtifact();
  artifacts["loihi"] = await loihiArtifact();
}, 120_000);
afterAll(() => removeDir(tmp));

function put(dir: string, files: Record<string, Uint8Array | string>): void {
  for (const [rel, data] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), data);
  }
}

describe("crashes found by fuzzing stay fixed", () => {
  test("there are fixtures", () => expect(cases.length).toBeGreaterThanOrEqual(20));

  test.each(cases)("%s", async (name) => {
    const c = JSON.parse(readFileSync(join(FIXTURES, name, "case.json"), "utf8")) as FixtureCase;
    const dir = join(tmp, name);
    mkdirSync(dir);
    put(dir, tinyFiles());
    if (c.artifact) put(join(dir, "art"), artifacts[c.artifact]!);
    cpSync(join(FIXTURES, name), dir, { recursive: true, filter: (src) => !src.endsWith("case.json") });
    for (const rel of c.remove ?? []) rmSync(join(dir, rel));
    const r = await tscc(c.argv, dir);
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stderr.trimEnd().split("\n");
    // One diagnostic line (notes and hints indented under it), naming the problem with its code.
    expect(lines.filter((l) => !/^ {2}(note|hint): /.test(l)), r.stderr).toHaveLength(1);
    expect(lines[0]).toContain(`error TSCC${c.code}: `);
    expect(lines[0]).toContain(c.says);
    expect(stackLines(r.stderr)).toEqual([]);
    expect(existsSync(join(dir, "out"))).toBe(false);
  });
});
