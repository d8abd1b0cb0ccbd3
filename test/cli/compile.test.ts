/** `tscc compile` with the built-in `ir` target: output folder, determinism, pipelines, IR dumps. */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { builtinOps, parseModule, readWeights, verifyModule } from "../../ir/index.js";
import { BUILTIN_PASSES, CANONICALIZE } from "../../src/passes/index.js";
import { BN_POOL, listDir, MATMUL_ADD, removeDir, tempDir, tscc } from "./support.js";

let tmp: string;
beforeAll(() => {
  tmp = tempDir("tscc-compile-");
});
afterAll(() => removeDir(tmp));

/** Every file of a folder (recursively) with its bytes. */
function snapshot(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.set(join(e.parentPath, e.name).slice(dir.length + 1), readFileSync(join(e.parentPath, e.name)));
  }
  return out;
}

describe("compile --target ir", () => {
  test("writes model.tir, weights.bin and the .tscc-output marker; model.tir parses back with its weights", async () => {
    const r = await tscc(["compile", BN_POOL, "-o", "bn"], tmp);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`compiled bn_pool.opset13.onnx for ir → ${join(tmp, "bn")}`);
    const out = join(tmp, "bn");
    expect(listDir(out)).toEqual([".tscc-output", "model.tir", "weights.bin"]);
    expect(JSON.parse(readFileSync(join(out, ".tscc-output"), "utf8"))).toEqual({ tool: "tscc", target: "ir" });
    const wf = readWeights(readFileSync(join(out, "weights.bin")), "weights.bin");
    const m = parseModule(readFileSync(join(out, "model.tir"), "utf8"), { registry: builtinOps(), loadBlob: (ref, type) => wf.load(ref, type) });
    expect(verifyModule(m)).toEqual([]);
    expect(m.attrs["weights_file"]).toBe("weights.bin");
    expect(m.ops.map((o) => o.name)).not.toContain("nn.batch_norm");
    for (const c of m.consts.values()) expect(c.data.length).toBeGreaterThan(0);
  });

  test("the default output folder is <model>-<target> in the current folder", async () => {
    const cwd = join(tmp, "default-out");
    mkdirSync(cwd);
    expect((await tscc(["compile", MATMUL_ADD], cwd)).code).toBe(0);
    expect(listDir(cwd)).toEqual(["matmul_add.opset13-ir"]);
  });

  test("compiling twice gives byte-identical files (determinism)", async () => {
    expect((await tscc(["compile", BN_POOL, "-o", "det-1"], tmp)).code).toBe(0);
    expect((await tscc(["compile", BN_POOL, "-o", "det-2"], tmp)).code).toBe(0);
    const a = snapshot(join(tmp, "det-1"));
    const b = snapshot(join(tmp, "det-2"));
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [name, bytes] of a) expect(b.get(name)!.equals(bytes), name).toBe(true);
  });

  test("--json prints a parseable summary", async () => {
    const r = await tscc(["compile", MATMUL_ADD, "-o", "json-out", "--json"], tmp);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ target: "ir", out: join(tmp, "json-out"), pipeline: CANONICALIZE, files: ["model.tir", "weights.bin"] });
  });

  test("-O inline-weights=true puts the weights into model.tir", async () => {
    const r = await tscc(["compile", MATMUL_ADD, "-o", "inline", "-O", "inline-weights=true"], tmp);
    expect(r.code).toBe(0);
    expect(listDir(join(tmp, "inline"))).toEqual([".tscc-output", "model.tir"]);
    expect(readFileSync(join(tmp, "inline/model.tir"), "utf8")).toContain("dense<[");
  });
});

describe("pipelines", () => {
  test("--print-pipeline prints the resolved pipeline and writes nothing", async () => {
    const cwd = join(tmp, "print-pipeline");
    mkdirSync(cwd);
    const r = await tscc(["compile", MATMUL_ADD, "--print-pipeline"], cwd);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${CANONICALIZE}\n`);
    expect(listDir(cwd)).toEqual([]);
    const custom = await tscc(["compile", MATMUL_ADD, "--print-pipeline", "--passes", "fold-pad , drop-identity"], cwd);
    expect(custom.stdout).toBe("fold-pad,drop-identity\n");
  });

  test("--passes with an unknown pass is exit 1, listing the registered passes; nothing is written", async () => {
    const r = await tscc(["compile", MATMUL_ADD, "--passes", "drop-identity,fold-everything", "-o", "unknown-pass"], tmp);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error TSCC3001: unknown pass 'fold-everything'\n {2}hint: registered passes: (.+)\n$/);
    const listed = /registered passes: (.+)/.exec(r.stderr)![1]!.split(", ");
    for (const p of BUILTIN_PASSES) expect(listed).toContain(p.name);
    expect(listed).toContain("canonicalize");
    expect(existsSync(join(tmp, "unknown-pass"))).toBe(false);
  });

  test("--passes replaces the front pipeline", async () => {
    const r = await tscc(["compile", BN_POOL, "--passes", "drop-identity", "-o", "raw", "--json"], tmp);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { pipeline: string }).pipeline).toBe("drop-identity");
    expect(readFileSync(join(tmp, "raw/model.tir"), "utf8")).toContain("nn.batch_norm");
  });
});

describe("IR dumps", () => {
  test("--dump-ir-after=all prints the IR after every pass to stderr, in pipeline order", async () => {
    const r = await tscc(["compile", MATMUL_ADD, "-o", "dump-all", "--dump-ir-after=all"], tmp);
    expect(r.code).toBe(0);
    const headers = r.stderr.split("\n").filter((l) => l.startsWith("// ----- IR"));
    expect(headers).toEqual(CANONICALIZE.split(",").map((p) => `// ----- IR after ${p} -----`));
    expect(r.stderr.split("// ----- IR").slice(1).every((chunk) => /^ after \S+ -----\nmodule @/.test(chunk))).toBe(true);
  });

  test("--dump-ir-before names one pass; an alias expands to its passes", async () => {
    const one = await tscc(["compile", MATMUL_ADD, "-o", "dump-before", "--dump-ir-before", "fuse-activations"], tmp);
    expect(one.stderr.split("\n").filter((l) => l.startsWith("// -----"))).toEqual(["// ----- IR before fuse-activations -----"]);
    const alias = await tscc(["compile", MATMUL_ADD, "-o", "dump-alias", "--dump-ir-after", "canonicalize"], tmp);
    expect(alias.stderr.split("\n").filter((l) => l.startsWith("// -----"))).toHaveLength(CANONICALIZE.split(",").length);
  });

  test("an unknown pass name in --dump-ir-after is an error, not a dump that never happens", async () => {
    const r = await tscc(["compile", MATMUL_ADD, "-o", "dump-bad", "--dump-ir-after", "fold-batchnrom"], tmp);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error TSCC3001: unknown pass 'fold-batchnrom'/);
    expect(existsSync(join(tmp, "dump-bad"))).toBe(false);
  });

  test("--dump-ir-after fold-batchnorm --dump-dir writes numbered .tir files that tscc opt reads back", async () => {
    const r = await tscc(["compile", BN_POOL, "-o", "dumped", "--dump-ir-after", "fold-batchnorm", "--dump-dir", "dumps"], tmp);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(listDir(join(tmp, "dumps"))).toEqual(["01-after-fold-batchnorm.tir", "01-after-fold-batchnorm.weights.bin"]);
    const dumped = readFileSync(join(tmp, "dumps/01-after-fold-batchnorm.tir"), "utf8");
    expect(dumped).not.toContain("nn.batch_norm");
    expect(dumped).toContain('weights_file = "01-after-fold-batchnorm.weights.bin"');
    // Read back: run the rest of the pipeline on the dump and compare with the compiled model.
    const opt = await tscc(["opt", "dumps/01-after-fold-batchnorm.tir", "--passes", "fold-pad,fuse-activations"], tmp);
    expect(opt.stderr).toBe("");
    expect(opt.code).toBe(0);
    const fromDump = parseModule(opt.stdout);
    const compiled = await tscc(["opt", "dumped/model.tir", "--passes", "drop-identity"], tmp);
    expect(compiled.code).toBe(0);
    expect(opt.stdout.replace(/^module @\S+ \{[^\n]*\n/, "")).toBe(compiled.stdout.replace(/^module @\S+ \{[^\n]*\n/, ""));
    expect(verifyModule(fromDump)).toEqual([]);
  });
});

describe("the output folder", () => {
  test("an existing folder that tscc did not write (and is not empty) is refused and left untouched", async () => {
    const out = join(tmp, "precious");
    mkdirSync(out);
    writeFileSync(join(out, "thesis.tex"), "\\documentclass{article}\n");
    const before = listDir(tmp);
    const r = await tscc(["compile", MATMUL_ADD, "-o", "precious"], tmp);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error TSCC5008: cannot write '${out}': the folder exists, is not empty and was not written by tscc\n  hint: choose another -o folder or remove it\n`,
    );
    expect(listDir(out)).toEqual(["thesis.tex"]);
    expect(readFileSync(join(out, "thesis.tex"), "utf8")).toBe("\\documentclass{article}\n");
    expect(listDir(tmp)).toEqual(before);
  });

  test("an existing file in the way is refused", async () => {
    writeFileSync(join(tmp, "a-file"), "x");
    const r = await tscc(["compile", MATMUL_ADD, "-o", "a-file"], tmp);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error TSCC5008: cannot write '${join(tmp, "a-file")}': it exists and is not a folder\n`);
    expect(readFileSync(join(tmp, "a-file"), "utf8")).toBe("x");
  });

  test("an existing empty folder is used", async () => {
    mkdirSync(join(tmp, "empty"));
    expect((await tscc(["compile", MATMUL_ADD, "-o", "empty"], tmp)).code).toBe(0);
    expect(listDir(join(tmp, "empty"))).toEqual([".tscc-output", "model.tir", "weights.bin"]);
  });

  test("an earlier tscc output folder is replaced as a whole (stale files go)", async () => {
    expect((await tscc(["compile", MATMUL_ADD, "-o", "again", "-O", "inline-weights=true"], tmp)).code).toBe(0);
    writeFileSync(join(tmp, "again/notes.txt"), "stale");
    expect((await tscc(["compile", BN_POOL, "-o", "again"], tmp)).code).toBe(0);
    expect(listDir(join(tmp, "again"))).toEqual([".tscc-output", "model.tir", "weights.bin"]);
    expect(readFileSync(join(tmp, "again/model.tir"), "utf8")).toMatch(/^module @bn_pool/);
    expect(listDir(tmp).filter((n) => n.includes("tscc-tmp"))).toEqual([]);
  });
});
