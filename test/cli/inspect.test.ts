/** `tscc inspect`: the IR and the per-layer table in every --format. */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseModule, verifyModule } from "../../ir/index.js";
import { BN_POOL, MATMUL_ADD, removeDir, tempDir, tscc } from "./support.js";

let cwd: string;
beforeAll(() => {
  cwd = tempDir("tscc-inspect-");
});
afterAll(() => removeDir(cwd));

const TABLE_HEADER = /^#\s+op\s+shape\s+params\s+MACs\/sample\s+ONNX node$/m;

describe("tscc inspect", () => {
  test("the default text format is the IR followed by the per-layer table with totals", async () => {
    const r = await tscc(["inspect", MATMUL_ADD], cwd);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^module @matmul_add\.opset13 /);
    expect(r.stdout).toMatch(TABLE_HEADER);
    expect(r.stdout).toMatch(/^0\s+nn\.matmul\s+\[\?, 16\]\s+320\s+320\s+\/MatMul$/m);
    expect(r.stdout).toMatch(/^1\s+nn\.add\s+\[\?, 16\]\s+16\s+0\s+\/Add \+ \/Relu$/m);
    expect(r.stdout).toMatch(/^\s+total\s+472\s+448$/m);
  });

  test("--format ir prints IR that parses and verifies", async () => {
    const r = await tscc(["inspect", BN_POOL, "--format", "ir", "--inline-weights"], cwd);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(TABLE_HEADER);
    expect(verifyModule(parseModule(r.stdout))).toEqual([]);
  });

  test("--format table prints only the table", async () => {
    const r = await tscc(["inspect", BN_POOL, "-f", "table"], cwd);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^#\s+op/);
    expect(r.stdout).not.toContain("module @");
  });

  test("--format json (and --json) parse, with one layer entry per op", async () => {
    for (const argv of [["--format", "json"], ["--json"]]) {
      const r = await tscc(["inspect", BN_POOL, ...argv], cwd);
      expect(r.code).toBe(0);
      const j = JSON.parse(r.stdout) as { ir: { ops: unknown[] }; layers: { op: string; params: number; macs: number }[] };
      expect(j.layers.length).toBe(j.ir.ops.length);
      expect(j.layers.map((l) => l.op)).toContain("nn.conv");
      expect(j.layers.every((l) => Number.isInteger(l.params) && Number.isInteger(l.macs))).toBe(true);
    }
  });

  test("--passes none shows the raw import (BatchNorm still there)", async () => {
    const raw = await tscc(["inspect", BN_POOL, "--passes", "none", "-f", "table"], cwd);
    const canon = await tscc(["inspect", BN_POOL, "-f", "table"], cwd);
    expect(raw.stdout).toContain("nn.batch_norm");
    expect(canon.stdout).not.toContain("nn.batch_norm");
  });

  test("--format dot is a Graphviz digraph", async () => {
    const r = await tscc(["inspect", MATMUL_ADD, "--format", "dot"], cwd);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^digraph "matmul_add\.opset13" \{/);
    expect(r.stdout.trimEnd().endsWith("}")).toBe(true);
  });

  test("--format svg is an SVG document", async () => {
    const r = await tscc(["inspect", MATMUL_ADD, "--format", "svg"], cwd);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^(<\?xml|<svg)/);
    expect(r.stdout).toContain("</svg>");
  });

  test("an invalid --format is a usage error (exit 2) naming the choices", async () => {
    const r = await tscc(["inspect", MATMUL_ADD, "--format", "pdf"], cwd);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("argument 'pdf' is invalid. Allowed choices are text, ir, table, json, dot, svg.");
  });
});
