/**
 * How failures are reported: internal errors (a pass throwing a plain Error) are exit 2 with "please
 * report", a reproducer in the current folder and no stack trace unless TSCC_DEBUG=1; user errors are
 * exit 1; `--diagnostics json` makes every kind machine-readable.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { parseModule, verifyModule } from "../../ir/index.js";
import { EXAMPLE_PLUGIN, MATMUL_ADD, RELU6_CONCAT, removeDir, spawnTscc, stackLines, tempDir, tscc } from "./support.js";

let tmp: string;
/** A plugin whose pass `explode` throws a plain Error: a bug, not a user mistake. */
const BUGGY_PLUGIN = "buggy-plugin.mjs";

beforeAll(() => {
  tmp = tempDir("tscc-errors-");
  writeFileSync(
    join(tmp, BUGGY_PLUGIN),
    [
      "export default {",
      '  apiVersion: 1, name: "buggy",',
      "  register(api) {",
      '    api.registerPass({ name: "explode", summary: "always fails", run() { throw new Error("index 7 out of range"); } });',
      "  },",
      "};",
      "",
    ].join("\n"),
  );
});
afterAll(() => removeDir(tmp));

const savedDebug = process.env["TSCC_DEBUG"];
afterEach(() => {
  if (savedDebug === undefined) delete process.env["TSCC_DEBUG"];
  else process.env["TSCC_DEBUG"] = savedDebug;
});

const EXPLODE = ["compile", MATMUL_ADD, "--plugin", `./${BUGGY_PLUGIN}`, "--passes", "drop-identity,explode", "-o", "never"];

describe("an internal error", () => {
  test("is exit 2, says internal error and please report, writes tscc-repro.tir in the cwd, no stack trace", async () => {
    delete process.env["TSCC_DEBUG"];
    const r = await tscc(EXPLODE, tmp);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      [
        "tscc: internal error: pass 'explode' failed: index 7 out of range",
        "  the IR before the pass is in tscc-repro.tir (replay: tscc opt tscc-repro.tir --passes explode)",
        "please report this at the tscc issue tracker (set TSCC_DEBUG=1 for a stack trace)",
        "",
      ].join("\n"),
    );
    expect(existsSync(join(tmp, "never"))).toBe(false);
    // The reproducer is the IR before the failing pass, self-contained (weights inline).
    const repro = readFileSync(join(tmp, "tscc-repro.tir"), "utf8");
    expect(repro).toMatch(/^\/\/ pipeline: drop-identity,explode\n\/\/ failing pass: explode\nmodule @matmul_add\.opset13 /);
    expect(verifyModule(parseModule(repro))).toEqual([]);
    const replay = await tscc(["opt", "tscc-repro.tir", "--plugin", `./${BUGGY_PLUGIN}`, "--passes", "explode"], tmp);
    expect(replay.code).toBe(2);
    expect(replay.stderr).toContain("pass 'explode' failed: index 7 out of range");
  });

  test("with TSCC_DEBUG=1 the stack trace follows", async () => {
    process.env["TSCC_DEBUG"] = "1";
    const r = await tscc(EXPLODE, tmp);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain("set TSCC_DEBUG=1");
    expect(r.stderr).toMatch(/^Error: index 7 out of range$/m);
    expect(stackLines(r.stderr).length).toBeGreaterThan(0);
  });

  test("bin/tscc.js: exit 2 and no stack trace; TSCC_DEBUG=1 adds it", () => {
    const r = spawnTscc(EXPLODE, tmp);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^tscc: internal error: pass 'explode' failed: index 7 out of range\n/);
    expect(r.stderr).toContain("please report this");
    expect(stackLines(r.stderr)).toEqual([]);
    const debug = spawnTscc(EXPLODE, tmp, { TSCC_DEBUG: "1" });
    expect(debug.code).toBe(2);
    expect(stackLines(debug.stderr).length).toBeGreaterThan(0);
  });
});

interface DiagnosticsJson {
  diagnostics: { code: string; severity: string; message: string; file?: string; loc?: Record<string, unknown>; notes?: string[]; hint?: string }[];
}

function parseDiagnostics(stderr: string): DiagnosticsJson["diagnostics"] {
  return (JSON.parse(stderr) as DiagnosticsJson).diagnostics;
}

describe("--diagnostics json", () => {
  test("a user error is one JSON document on stderr with codes, messages and hints", async () => {
    const r = await tscc(["--diagnostics", "json", "compile", MATMUL_ADD, "--passes", "no-such-pass"], tmp);
    expect(r.code).toBe(1);
    expect(parseDiagnostics(r.stderr)).toEqual([
      { code: "TSCC3001", severity: "error", message: "unknown pass 'no-such-pass'", hint: expect.stringContaining("registered passes: canonicalize") as unknown as string },
    ]);
  });

  test("the option also works after the command", async () => {
    const r = await tscc(["compile", MATMUL_ADD, "--passes", "no-such-pass", "--diagnostics", "json"], tmp);
    expect(r.code).toBe(1);
    expect(parseDiagnostics(r.stderr)[0]!.code).toBe("TSCC3001");
  });

  test("every problem of a failed legalization, each with its file and ONNX location", async () => {
    const r = await tscc(["--diagnostics=json", "compile", RELU6_CONCAT, "-t", "example", "--plugin", EXAMPLE_PLUGIN, "-o", "x"], tmp);
    expect(r.code).toBe(1);
    const ds = parseDiagnostics(r.stderr);
    expect(ds.map((d) => d.code)).toEqual(["TSCC4001", "TSCC4001", "TSCC4001"]);
    for (const d of ds) {
      expect(d.file).toBe(RELU6_CONCAT);
      expect(d.loc).toMatchObject({ kind: "onnx", node: expect.stringMatching(/^\/(Concat|Reshape|Softmax)$/) as unknown as string });
    }
  });

  test("usage errors from tscc itself are JSON too (TSCC5007, exit 2)", async () => {
    const r = await tscc(["--diagnostics", "json", "run", MATMUL_ADD], tmp);
    expect(r.code).toBe(2);
    expect(parseDiagnostics(r.stderr)).toEqual([{ code: "TSCC5007", severity: "error", message: "run needs --input" }]);
  });

  test("an internal error is JSON (TSCC9001, exit 2) with the reproducer as a note", async () => {
    delete process.env["TSCC_DEBUG"];
    const r = await tscc(["--diagnostics", "json", ...EXPLODE], tmp);
    expect(r.code).toBe(2);
    const [d, ...rest] = parseDiagnostics(r.stderr);
    expect(rest).toEqual([]);
    expect(d).toMatchObject({ code: "TSCC9001", severity: "error", message: "internal error: pass 'explode' failed: index 7 out of range" });
    expect(d!.notes).toEqual([expect.stringContaining("tscc-repro.tir")]);
    expect(d!.hint).toContain("please report this");
  });

  test("text stays the default", async () => {
    const r = await tscc(["compile", MATMUL_ADD, "--passes", "no-such-pass"], tmp);
    expect(r.stderr).toMatch(/^error TSCC3001: unknown pass 'no-such-pass'\n/);
  });
});
