/**
 * Third-party plugins: the example backend (examples/custom-backend) loads in every supported way
 * (folder, ESM file, CommonJS file, installed npm package), and every way a plugin can be broken is
 * an error (exit 1, a TSCC5xxx diagnostic naming the plugin, nothing written), never a warning.
 * Registrations live in a per-compilation Registry and never leak into the next compilation.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BUILTIN_BACKENDS } from "../../backends/index.js";
import { createRegistry } from "../../src/driver/compile.js";
import { BN_POOL, EXAMPLE_PLUGIN, listDir, MATMUL_ADD, RELU6_CONCAT, removeDir, ROOT, spawnTscc, stackLines, tempDir, tscc } from "../cli/support.js";

let tmp: string;
const BUILTIN = BUILTIN_BACKENDS.map((b) => b.name);

/** Broken plugins, each in its own file under <tmp>/bad/. */
const BAD: Record<string, string> = {
  "throws-on-import.mjs": 'throw new Error("plugin exploded while loading");\n',
  "no-default.mjs": 'export const backend = { name: "nodefault" };\n',
  "wrong-api.mjs": 'export default { apiVersion: 2, name: "from-the-future", register() {} };\n',
  "no-register.mjs": 'export default { apiVersion: 1, name: "lazy" };\n',
  "register-throws.mjs": 'export default { apiVersion: 1, name: "thrower", register() { throw new Error("cannot find the chip SDK"); } };\n',
  "collides-ir.mjs": [
    "export default {",
    '  apiVersion: 1, name: "collider",',
    '  register(api) { api.registerBackend({ name: "ir", apiVersion: 1, summary: "mine", pipeline: () => "", legalize() {}, emit() {} }); },',
    "};",
  ].join("\n"),
  "bad-pass-prefix.mjs": [
    "export default {",
    '  apiVersion: 1, name: "unprefixed",',
    "  register(api) {",
    "    api.registerBackend({",
    '      name: "chip", apiVersion: 1, summary: "a chip",',
    '      passes: () => [{ name: "partition", summary: "split into cores", run: () => ({ changed: false }) }],',
    '      pipeline: () => "partition", legalize() {}, emit() {},',
    "    });",
    "  },",
    "};",
  ].join("\n"),
};

/** Where the example is installed as a package: <tmp>/proj/node_modules/tscc-backend-example. */
let project: string;

beforeAll(() => {
  tmp = tempDir("tscc-plugins-");
  mkdirSync(join(tmp, "bad"));
  for (const [name, text] of Object.entries(BAD)) writeFileSync(join(tmp, "bad", name), text);
  mkdirSync(join(tmp, "bad/broken-pkg"));
  writeFileSync(join(tmp, "bad/broken-pkg/package.json"), '{ "name": "broken", ');
  project = join(tmp, "proj");
  // What `npm install tscc-backend-example` would leave (without running npm: no network, and the
  // peer dependency on tscc would make it try to fetch).
  cpSync(EXAMPLE_PLUGIN, join(project, "node_modules/tscc-backend-example"), { recursive: true });
  mkdirSync(join(project, "src/deep"), { recursive: true });
});

afterAll(() => removeDir(tmp));

interface Way {
  name: string;
  /** The --plugin argument. */
  spec: string;
  /** The folder tscc runs in. */
  cwd: () => string;
}

const WAYS: Way[] = [
  { name: "a path to the package folder", spec: EXAMPLE_PLUGIN, cwd: () => tmp },
  { name: "a path to index.js (ESM)", spec: join(EXAMPLE_PLUGIN, "index.js"), cwd: () => tmp },
  { name: "a path to index.cjs (CommonJS)", spec: join(EXAMPLE_PLUGIN, "index.cjs"), cwd: () => tmp },
  { name: "a relative path", spec: "./node_modules/tscc-backend-example/index.js", cwd: () => project },
  { name: "an installed npm package, by name", spec: "tscc-backend-example", cwd: () => project },
  { name: "an installed npm package, from a subfolder of the project", spec: "tscc-backend-example", cwd: () => join(project, "src/deep") },
];

describe.each(WAYS)("the example plugin loaded as $name", (way) => {
  test("compile --target example writes layers.csv, summary.json and the output marker", async () => {
    const out = join(tmp, `out-${WAYS.indexOf(way)}`);
    const r = await tscc(["compile", MATMUL_ADD, "--target", "example", "--plugin", way.spec, "-o", out], way.cwd());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(listDir(out)).toEqual([".tscc-output", "layers.csv", "summary.json"]);
    expect(readFileSync(join(out, "layers.csv"), "utf8")).toBe(
      ["index,op,output_shape,params,macs", "0,nn.matmul,?x16,320,320", "1,nn.add,?x16,16,0", "2,nn.gemm,?x8,136,128", ""].join("\n"),
    );
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Record<string, unknown>;
    expect(summary).toMatchObject({ backend: "example", source: "matmul_add.opset13.onnx", layers: 3, params: 472, macs: 448 });
    expect(summary["op_counts"]).toEqual({ "nn.add": 1, "nn.gemm": 1, "nn.matmul": 1 });
  });

  test("backends --json lists the example backend with its origin, pass and options", async () => {
    const r = await tscc(["backends", "--json", "--plugin", way.spec], way.cwd());
    expect(r.code).toBe(0);
    const list = (JSON.parse(r.stdout) as { backends: { name: string; origin: string; passes: string[]; pipeline: string; options: object }[] }).backends;
    // Built-in backends first, then the plugin's.
    expect(list.map((b) => b.name)).toEqual([...BUILTIN, "example"]);
    const example = list.at(-1)!;
    expect(example).toMatchObject({ origin: "plugin 'tscc-backend-example'", passes: ["example:count-ops"], pipeline: "example:count-ops" });
    expect(Object.keys(example.options)).toEqual(["header", "allow"]);
  });
});

describe("the example backend's behaviour", () => {
  test("the ESM and CommonJS editions are the same plugin: byte-identical output", async () => {
    const esm = join(tmp, "same-esm");
    const cjs = join(tmp, "same-cjs");
    expect((await tscc(["compile", BN_POOL, "-t", "example", "--plugin", join(EXAMPLE_PLUGIN, "index.js"), "-o", esm], tmp)).code).toBe(0);
    expect((await tscc(["compile", BN_POOL, "-t", "example", "--plugin", join(EXAMPLE_PLUGIN, "index.cjs"), "-o", cjs], tmp)).code).toBe(0);
    for (const f of ["layers.csv", "summary.json"]) expect(readFileSync(join(cjs, f), "utf8")).toBe(readFileSync(join(esm, f), "utf8"));
  });

  test("example:count-ops records op counts in the module (visible with tscc opt)", async () => {
    const r = await tscc(["opt", MATMUL_ADD, "--plugin", EXAMPLE_PLUGIN, "--passes", "canonicalize,example:count-ops"], tmp);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^module @\S+ \{.*"example\.op_counts" = \["nn\.add=1", "nn\.gemm=1", "nn\.matmul=1"\]/);
  });

  test("legalize rejects every unsupported op in one run, naming each op and its ONNX node; nothing is written", async () => {
    const out = join(tmp, "rejected");
    const r = await tscc(["compile", RELU6_CONCAT, "-t", "example", "--plugin", EXAMPLE_PLUGIN, "-o", out], tmp);
    expect(r.code).toBe(1);
    const errors = r.stderr.split("\n").filter((l) => l.includes("error TSCC4001"));
    expect(errors).toEqual([
      expect.stringMatching(/node #\d+ '\/Concat' \(Concat\): error TSCC4001: backend 'example' cannot compile op #\d+ nn\.concat$/),
      expect.stringMatching(/node #\d+ '\/Reshape' \(Reshape\): error TSCC4001: backend 'example' cannot compile op #\d+ nn\.reshape$/),
      expect.stringMatching(/node #\d+ '\/Softmax' \(Softmax\): error TSCC4001: backend 'example' cannot compile op #\d+ nn\.softmax$/),
    ]);
    expect(r.stderr).toContain("hint: supported ops: nn.conv");
    expect(existsSync(out)).toBe(false);
  });

  test("backend options: -O allow=... accepts more ops, -O header=false drops the CSV header", async () => {
    const out = join(tmp, "allowed");
    const r = await tscc(["compile", RELU6_CONCAT, "-t", "example", "--plugin", EXAMPLE_PLUGIN, "-o", out, "-O", "allow=nn.concat,nn.reshape,nn.softmax", "-O", "header=false"], tmp);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const csv = readFileSync(join(out, "layers.csv"), "utf8").trimEnd().split("\n");
    expect(csv[0]).toMatch(/^0,nn\.conv,/);
    expect(csv.at(-1)).toMatch(/^\d+,nn\.softmax,\?x10,0,0$/);
  });

  test("a bad backend option value is an error naming the option", async () => {
    const r = await tscc(["compile", MATMUL_ADD, "-t", "example", "--plugin", EXAMPLE_PLUGIN, "-o", join(tmp, "badopt"), "-O", "header=maybe"], tmp);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("option 'header' must be true or false, got 'maybe'");
    expect(existsSync(join(tmp, "badopt"))).toBe(false);
  });

  test("index.js and index.cjs type-check against tscc's published types (tscc/backend, tscc/ir)", () => {
    // A plugin author's setup: the plugin next to an installed tscc (here a link to this checkout,
    // whose package.json "exports" map tscc/backend and tscc/ir to dist/ with their .d.ts files).
    const dir = join(tmp, "typecheck");
    cpSync(EXAMPLE_PLUGIN, dir, { recursive: true });
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(ROOT, join(dir, "node_modules/tscc"), "dir");
    const compilerOptions = { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, allowJs: true, checkJs: true, noEmit: true, skipLibCheck: true, types: [] };
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["index.js", "index.cjs"] }));
    const run = (): { status: number | null; out: string } => {
      const r = spawnSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(dir, "tsconfig.json")], { encoding: "utf8" });
      return { status: r.status, out: r.stdout + r.stderr };
    };
    const ok = run();
    expect(ok.out).toBe("");
    expect(ok.status).toBe(0);
    // ...and the check has teeth: a wrong type in the plugin is reported.
    const broken = readFileSync(join(dir, "index.js"), "utf8").replace("pipeline: () => `${BACKEND}:count-ops`", "pipeline: () => 42");
    writeFileSync(join(dir, "index.js"), broken);
    const bad = run();
    expect(bad.status).not.toBe(0);
    expect(bad.out).toMatch(/index\.js\(\d+,\d+\): error TS2322/);
  });

  test("the package is what a plugin author copies: name, keyword, ESM with both exports, tscc as a peer", () => {
    const pkg = JSON.parse(readFileSync(join(EXAMPLE_PLUGIN, "package.json"), "utf8")) as Record<string, unknown>;
    expect(pkg).toMatchObject({
      name: "tscc-backend-example",
      type: "module",
      exports: { ".": { import: "./index.js", require: "./index.cjs" } },
      peerDependencies: { tscc: "^0.1" },
    });
    expect(pkg["keywords"]).toContain("tscc-backend");
    expect(pkg["dependencies"]).toBeUndefined();
    // No run-time import of tscc (nor anything else): the plugin gets all it needs from tscc.
    for (const f of ["index.js", "index.cjs"]) {
      const code = readFileSync(join(EXAMPLE_PLUGIN, f), "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
      expect(code, f).not.toMatch(/\bimport\s*[({"'\w]|\brequire\s*\(/);
    }
  });
});

describe("other module shapes a plugin author may produce", () => {
  test("TypeScript compiled to CommonJS (exports.default = plugin, __esModule) loads", async () => {
    const file = join(tmp, "ts-compiled.cjs");
    writeFileSync(
      file,
      [
        '"use strict";',
        'Object.defineProperty(exports, "__esModule", { value: true });',
        "const plugin = {",
        '  apiVersion: 1, name: "ts-compiled",',
        '  register(api) { api.registerPass({ name: "ts-compiled-noop", summary: "does nothing", run: () => ({ changed: false }) }); },',
        "};",
        "exports.default = plugin;",
        "",
      ].join("\n"),
    );
    const r = await tscc(["passes", "--json", "--plugin", file], tmp);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { passes: { name: string }[] }).passes.map((p) => p.name)).toContain("ts-compiled-noop");
  });

  test("named exports instead of a default export load too", async () => {
    const file = join(tmp, "named.mjs");
    writeFileSync(file, 'export const apiVersion = 1;\nexport const name = "named";\nexport function register(api) { api.registerPass({ name: "named-noop", summary: "does nothing", run: () => ({ changed: false }) }); }\n');
    const r = await tscc(["compile", MATMUL_ADD, "--plugin", file, "--passes", "named-noop", "--print-pipeline"], tmp);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("named-noop\n");
  });
});

describe("tscc as a package (what plugins and programs import)", () => {
  test("the programmatic API compiles with a plugin, without writing anything unless asked", async () => {
    const api = await import("../../src/index.js");
    const reg = await api.createRegistry([EXAMPLE_PLUGIN], tmp);
    const r = await api.compile({ model: MATMUL_ADD, target: "example" }, reg);
    expect([...r.files.keys()].sort()).toEqual(["layers.csv", "summary.json"]);
    expect(r.pipeline.endsWith(",example:count-ops")).toBe(true);
    expect(api.loadModel(MATMUL_ADD, reg.ops).module.ops.length).toBeGreaterThan(0);
    expect(api.importOnnxFile(MATMUL_ADD).module.inputs.map((i) => i.name)).toEqual(["input"]);
    expect(typeof api.VERSION).toBe("string");
  });

  test('"tscc", "tscc/ir" and "tscc/backend" resolve at run time through package.json exports', () => {
    const dir = join(tmp, "consumer");
    mkdirSync(join(dir, "node_modules"), { recursive: true });
    symlinkSync(ROOT, join(dir, "node_modules/tscc"), "dir");
    writeFileSync(
      join(dir, "main.mjs"),
      [
        'import { compile, createRegistry, loadModel, importOnnxFile } from "tscc";',
        'import { parseModule, printModule, BATCH } from "tscc/ir";',
        'import { BACKEND_API_VERSION, createMemoryEmitContext } from "tscc/backend";',
        "console.log(JSON.stringify([typeof compile, typeof createRegistry, typeof loadModel, typeof importOnnxFile, typeof parseModule, typeof printModule, BATCH, BACKEND_API_VERSION, typeof createMemoryEmitContext]));",
        "",
      ].join("\n"),
    );
    const r = spawnSync(process.execPath, [join(dir, "main.mjs")], { cwd: dir, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual(["function", "function", "function", "function", "function", "function", -1, 1, "function"]);
  });
});

interface Broken {
  name: string;
  spec: (tmp: string) => string;
  cwd?: (tmp: string) => string;
  code: string;
  message: RegExp;
}

const BROKEN: Broken[] = [
  { name: "a missing file", spec: () => "./no-such-plugin.mjs", code: "TSCC5001", message: /cannot load plugin '\.\/no-such-plugin\.mjs': no such file or folder/ },
  {
    name: "a package that is not installed",
    spec: () => "tscc-backend-nowhere",
    code: "TSCC5001",
    message: /cannot load plugin 'tscc-backend-nowhere': package 'tscc-backend-nowhere' is not installed/,
  },
  {
    name: "a folder whose package.json is not JSON",
    spec: (t) => join(t, "bad/broken-pkg"),
    code: "TSCC5001",
    message: /broken-pkg': \S+package\.json is not valid JSON/,
  },
  { name: "a module that throws on import", spec: (t) => join(t, "bad/throws-on-import.mjs"), code: "TSCC5001", message: /throws-on-import\.mjs': importing \S+ failed: plugin exploded while loading/ },
  { name: "a module without a default export", spec: (t) => join(t, "bad/no-default.mjs"), code: "TSCC5002", message: /no-default\.mjs' is invalid: it has no default export/ },
  { name: "a plugin for another API version", spec: (t) => join(t, "bad/wrong-api.mjs"), code: "TSCC5002", message: /wrong-api\.mjs' is invalid: apiVersion is 2, this tscc supports 1/ },
  { name: "a plugin without register()", spec: (t) => join(t, "bad/no-register.mjs"), code: "TSCC5002", message: /no-register\.mjs' is invalid: it has no register\(api\) function/ },
  { name: "a register() that throws", spec: (t) => join(t, "bad/register-throws.mjs"), code: "TSCC5001", message: /register-throws\.mjs': register\(\) threw: cannot find the chip SDK/ },
  {
    name: "a backend named like a built-in (ir)",
    spec: (t) => join(t, "bad/collides-ir.mjs"),
    code: "TSCC5003",
    message: /backend 'ir' is already registered \(by built-in; now again by plugin 'collider'\)\n {2}note: while loading plugin '.*collides-ir\.mjs'/,
  },
  {
    name: "a backend pass not prefixed with the backend name",
    spec: (t) => join(t, "bad/bad-pass-prefix.mjs"),
    code: "TSCC5002",
    message: /bad-pass-prefix\.mjs' is invalid: plugin 'unprefixed' registers an invalid backend: backend 'chip' has a pass 'partition'; backend passes must be named 'chip:<pass>'/,
  },
];

describe.each(BROKEN)("a plugin that is $name", (c) => {
  test("is an error (exit 1, one diagnostic naming the plugin), and compile writes nothing", async () => {
    const cwd = c.cwd?.(tmp) ?? tmp;
    const out = join(tmp, "never-written");
    const before = listDir(tmp);
    const r = await tscc(["compile", MATMUL_ADD, "--plugin", c.spec(tmp), "-o", out], cwd);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(new RegExp(`^error ${c.code}: `));
    expect(r.stderr).toMatch(c.message);
    expect(r.stderr).not.toMatch(/warning/i);
    expect(r.stderr.split("\n").filter((l) => /^error /.test(l))).toHaveLength(1);
    expect(stackLines(r.stderr)).toEqual([]);
    expect(listDir(tmp)).toEqual(before);
  });

  test("fails the listing commands the same way", async () => {
    const r = await tscc(["backends", "--json", "--plugin", c.spec(tmp)], c.cwd?.(tmp) ?? tmp);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(c.message);
  });
});

describe("registrations do not leak between compilations", () => {
  test("after a compile with the plugin, the next one without it knows no 'example' target", async () => {
    const withPlugin = await tscc(["compile", MATMUL_ADD, "-t", "example", "--plugin", EXAMPLE_PLUGIN, "-o", join(tmp, "leak-1")], tmp);
    expect(withPlugin.code).toBe(0);
    const without = await tscc(["compile", MATMUL_ADD, "-t", "example", "-o", join(tmp, "leak-2")], tmp);
    expect(without.code).toBe(1);
    expect(without.stderr).toBe(`error TSCC4002: unknown target 'example'; available: ${BUILTIN.join(", ")}\n`);
    const list = await tscc(["backends", "--json"], tmp);
    expect((JSON.parse(list.stdout) as { backends: { name: string }[] }).backends.map((b) => b.name)).toEqual(BUILTIN);
    const passes = await tscc(["passes", "--json"], tmp);
    const names = (JSON.parse(passes.stdout) as { passes: { name: string }[] }).passes.map((p) => p.name);
    expect(names).not.toContain("example:count-ops");
  });

  test("each registry gets its own registration; loading the same plugin twice is not a collision", async () => {
    const a = await createRegistry([EXAMPLE_PLUGIN], tmp);
    const b = await createRegistry([EXAMPLE_PLUGIN], tmp);
    const plain = await createRegistry([], tmp);
    expect(a.backendNames()).toEqual([...BUILTIN, "example"]);
    expect(b.backendNames()).toEqual([...BUILTIN, "example"]);
    expect(plain.backendNames()).toEqual(BUILTIN);
    expect(a.passes.get("example:count-ops")).toBeDefined();
    expect(plain.passes.get("example:count-ops")).toBeUndefined();
  });

  test("the same plugin given twice in one compilation is a name collision", async () => {
    const r = await tscc(["backends", "--plugin", EXAMPLE_PLUGIN, "--plugin", join(EXAMPLE_PLUGIN, "index.js")], tmp);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error TSCC5003: backend 'example' is already registered/);
  });
});

test("bin/tscc.js loads an installed plugin package by name (a real process, real exit code)", () => {
  const r = spawnTscc(["compile", MATMUL_ADD, "--target", "example", "--plugin", "tscc-backend-example", "-o", "spawned"], project);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(listDir(join(project, "spawned"))).toEqual([".tscc-output", "layers.csv", "summary.json"]);
  const bad = spawnTscc(["compile", MATMUL_ADD, "--plugin", "tscc-backend-nowhere"], project);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/^error TSCC5001: cannot load plugin 'tscc-backend-nowhere'/);
  expect(stackLines(bad.stderr)).toEqual([]);
});
