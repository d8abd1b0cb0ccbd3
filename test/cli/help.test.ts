/** Help, version and usage errors: --help works everywhere (exit 0); a mistake in the call is exit 2. */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildProgram } from "../../src/cli/main.js";
import { removeDir, ROOT, spawnTscc, stackLines, tempDir, tscc } from "./support.js";

const VERSION = (JSON.parse(readFileSync(`${ROOT}/package.json`, "utf8")) as { version: string }).version;
const COMMANDS = buildProgram({ stdout() {}, stderr() {}, cwd: ROOT, tty: false }).commands.map((c) => c.name());

let cwd: string;
beforeAll(() => {
  cwd = tempDir("tscc-help-");
});
afterAll(() => removeDir(cwd));

test("the program has the documented commands", () => {
  expect([...COMMANDS].sort()).toEqual(["backends", "compile", "inspect", "ops", "opt", "passes", "report", "run", "tune"]);
});

test("tscc --help lists every command (exit 0)", async () => {
  const r = await tscc(["--help"], cwd);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^Usage: tscc \[options\] \[command\]/);
  for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c}\\b`, "m"));
  expect(r.stderr).toBe("");
});

describe.each(COMMANDS)("tscc %s", (command) => {
  test("--help prints its usage (exit 0)", async () => {
    const r = await tscc([command, "--help"], cwd);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: tscc ${command} \\[options\\]`));
    expect(r.stdout).toContain("--plugin <spec>");
    expect(r.stderr).toBe("");
  });

  test("`tscc help <command>` prints the same", async () => {
    const a = await tscc(["help", command], cwd);
    const b = await tscc([command, "--help"], cwd);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
  });
});

test("--version and -V print package.json's version", async () => {
  for (const flag of ["--version", "-V"]) {
    const r = await tscc([flag], cwd);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${VERSION}\n`);
  }
});

describe("usage errors exit with 2", () => {
  const cases: [string, string[], RegExp][] = [
    ["an unknown command", ["frobnicate"], /unknown command 'frobnicate'/],
    ["an unknown option", ["compile", "m.onnx", "--frobnicate"], /unknown option '--frobnicate'/],
    ["a missing argument", ["compile"], /missing required argument 'model'/],
    ["a missing required option", ["opt", "m.tir"], /required option '--passes <pipeline>' not specified/],
    ["an invalid --diagnostics choice", ["--diagnostics", "xml", "passes"], /argument 'xml' is invalid\. Allowed choices are text, json/],
    ["a malformed -O", ["compile", "m.onnx", "-O", "novalue"], /expected key=value, got 'novalue'/],
    ["run without --input", ["run", "m.onnx"], /run needs --input/],
    ["--dump-dir without a dump flag", ["compile", "m.onnx", "--dump-dir", "d"], /--dump-dir needs --dump-ir-after or --dump-ir-before/],
  ];
  test.each(cases)("%s", async (_name, argv, message) => {
    const r = await tscc(argv, cwd);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe("");
  });

  test("no command at all prints the help on stderr", async () => {
    const r = await tscc([], cwd);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Usage: tscc /);
  });
});

describe("bin/tscc.js (a real process)", () => {
  test("--version exits 0 with the version", () => {
    const r = spawnTscc(["--version"], cwd);
    expect(r).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: "" });
  });

  test("an unknown command exits 2 with a short message and no stack trace", () => {
    const r = spawnTscc(["frobnicate"], cwd);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: unknown command 'frobnicate'/);
    expect(stackLines(r.stderr)).toEqual([]);
  });

  test("a user error (missing model file) exits 1 with one diagnostic line and no stack trace", () => {
    const r = spawnTscc(["compile", "missing.onnx"], cwd);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error TSCC5006: file not found: ${cwd}/missing.onnx\n`);
    expect(r.stdout).toBe("");
  });
});
