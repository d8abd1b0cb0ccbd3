/** `tscc passes`, `tscc backends` and `tscc ops`: what is registered, as text and as JSON. */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { builtinOps } from "../../ir/index.js";
import { BUILTIN_PASSES, CANONICALIZE } from "../../src/passes/index.js";
import { removeDir, tempDir, tscc } from "./support.js";

let cwd: string;
beforeAll(() => {
  cwd = tempDir("tscc-list-");
});
afterAll(() => removeDir(cwd));

interface PassesJson {
  passes: { name: string; summary: string; options: Record<string, { kind: string; doc: string }>; requires: string[]; provides: string[] }[];
  aliases: { name: string; pipeline: string; summary: string }[];
}

describe("tscc passes", () => {
  test("--json lists every built-in pass with its options, and the canonicalize alias", async () => {
    const r = await tscc(["passes", "--json"], cwd);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as PassesJson;
    for (const p of BUILTIN_PASSES) {
      const listed = j.passes.find((q) => q.name === p.name);
      expect(listed, p.name).toBeDefined();
      expect(listed).toEqual({ name: p.name, summary: p.summary, options: p.options ?? {}, requires: p.requires ?? [], provides: p.provides ?? [] });
      expect(listed!.summary.length).toBeGreaterThan(0);
    }
    const names = j.passes.map((p) => p.name);
    expect(names).toEqual([...names].sort());
    expect(j.aliases).toContainEqual({ name: "canonicalize", pipeline: CANONICALIZE, summary: expect.stringContaining("drop-identity") as unknown as string });
  });

  test("the text listing names every pass and alias", async () => {
    const r = await tscc(["passes"], cwd);
    expect(r.code).toBe(0);
    for (const p of BUILTIN_PASSES) expect(r.stdout).toMatch(new RegExp(`^${p.name}\\n {4}\\S`, "m"));
    expect(r.stdout).toMatch(/^canonicalize {2}\(alias\)$/m);
  });
});

describe("tscc backends", () => {
  test("--json lists the built-in ir backend with its origin, options and pipeline", async () => {
    const r = await tscc(["backends", "--json"], cwd);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { backends: Record<string, unknown>[] };
    const ir = j.backends.find((b) => b["name"] === "ir");
    expect(ir).toMatchObject({ name: "ir", origin: "built-in", pipeline: "", passes: [], options: { "inline-weights": { kind: "bool", default: false } } });
  });

  test("the text listing is a table", async () => {
    const r = await tscc(["backends"], cwd);
    expect(r.stdout).toMatch(/^target\s+origin\s+summary$/m);
    expect(r.stdout).toMatch(/^ir\s+built-in\s+write the compiled IR/m);
  });
});

describe("tscc ops", () => {
  test("--json lists every op with operands, results and attributes (infinities as strings)", async () => {
    const r = await tscc(["ops", "--json"], cwd);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { ops: { name: string; summary: string; operands: unknown[]; results: unknown[]; attrs: object }[] };
    expect(j.ops.map((o) => o.name)).toEqual(builtinOps().all().map((d) => d.name));
    const conv = j.ops.find((o) => o.name === "nn.conv")!;
    expect(conv.operands).toHaveLength(3);
    expect(Object.keys(conv.attrs)).toEqual(expect.arrayContaining(["strides", "pads", "group"]));
  });

  test("the text listing shows signatures", async () => {
    const r = await tscc(["ops"], cwd);
    expect(r.stdout).toMatch(/^nn\.conv\(x: tensor, w: tensor, b\?: tensor\)$/m);
  });
});
