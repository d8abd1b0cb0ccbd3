/**
 * Paths named inside input files cannot escape where they belong (docs/reliability.md, "Paths"):
 * ONNX external data and a .tir's weights_file stay inside the model's folder (no `..`, no absolute
 * path, no symbolic link out of it); a plugin given by npm name stays inside node_modules and its
 * package.json cannot point outside its own folder; a backend cannot write outside its output folder.
 * Each refused path is refused before anything is read or run from it.
 */
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { fileInside } from "../../src/io/paths.js";
import { listDir, MATMUL_ADD, removeDir, tempDir, tscc } from "../cli/support.js";
import { buildModel } from "../support/onnx-builder.js";
import { editModel } from "../support/onnx-import.js";

let tmp: string;
/** <tmp>/model/ holds the models; <tmp>/outside.bin is the file they must not reach. */
let dir: string;
const W = new Float32Array(24).fill(0.25);

beforeAll(() => {
  tmp = tempDir("tscc-paths-");
  dir = join(tmp, "model");
  mkdirSync(join(dir, "sub"), { recursive: true });
  // Every escape below points at a file that exists and holds valid weights: only the path rule stops it.
  const bytes = new Uint8Array(W.buffer);
  for (const f of [join(tmp, "outside.bin"), join(dir, "weights.bin"), join(dir, "sub/weights.bin")]) writeFileSync(f, bytes);
  symlinkSync("../outside.bin", join(dir, "link.bin"));
  symlinkSync("..", join(dir, "up"));
  symlinkSync("weights.bin", join(dir, "inner-link.bin"));
});
afterAll(() => removeDir(tmp));

/** x [N, 4] · W [4, 6] with W's data in external file `location`. */
function externalModel(name: string, location: string): string {
  const bytes = editModel(
    buildModel({ opset: 13, inputs: [{ name: "x", shape: ["N", 4] }], outputs: ["y"], initializers: [{ name: "W", dims: [4, 6], data: W }], nodes: [{ op: "MatMul", inputs: ["x", "W"], outputs: ["y"] }] }),
    (m) => {
      const t = m.graph!.initializer![0]!;
      t.rawData = new Uint8Array(0);
      t.dataLocation = 1;
      t.externalData = [{ key: "location", value: location }];
    },
  );
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

describe("ONNX external data stays inside the model's folder", () => {
  test.each([
    ["a file next to the model", "weights.bin"],
    ["a file in a subfolder", "sub/weights.bin"],
    ["a path that goes down and back up inside the folder", "sub/../weights.bin"],
    ["a symbolic link to a file inside the folder", "inner-link.bin"],
  ])("%s is read", async (_what, location) => {
    const r = await tscc(["compile", externalModel("ok.onnx", location), "--target", "ir", "-o", join(tmp, "ok-out")], tmp);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  test.each([
    ["'../' out of the folder", "../outside.bin", "leaves the model's folder"],
    ["'../' after a subfolder", "sub/../../outside.bin", "leaves the model's folder"],
    ["an absolute path", "ABS", "is absolute"],
    ["a symbolic link to a file outside the folder", "link.bin", "leaves the model's folder through a symbolic link"],
    ["a path through a symbolic link to the parent folder", "up/outside.bin", "leaves the model's folder through a symbolic link"],
    ["a folder", "sub", "is not a regular file"],
  ])("%s is refused (TSCC1012), nothing written", async (_what, location0, says) => {
    const location = location0 === "ABS" ? join(tmp, "outside.bin") : location0;
    const out = join(tmp, "refused-out");
    const r = await tscc(["compile", externalModel("bad.onnx", location), "--target", "ir", "-o", out], tmp);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^\S*bad\.onnx: error TSCC1012: external data of initializer 'W' is invalid: location /);
    expect(r.stderr).toContain(says);
    expect(existsSync(out)).toBe(false);
  });
});

describe("a .tir's weights_file stays inside the model's folder", () => {
  const tir = (weightsFile: string): string =>
    [
      `module @m {weights_file = ${JSON.stringify(weightsFile)}} {`,
      '  const @W : tensor<4x6xf32> = blob("W", sha256 = "00")',
      '  input %0 : tensor<?x4xf32> {name = "x"}',
      "  %1 = nn.matmul %0, @W : tensor<?x6xf32>",
      '  output %1 {name = "y"}',
      "}",
      "",
    ].join("\n");

  test.each([
    ["'../'", "../outside.bin", "leaves the model's folder"],
    ["an absolute path", "ABS", "is absolute"],
    ["a symbolic link out of the folder", "link.bin", "through a symbolic link"],
  ])("%s is refused (TSCC2004) before the file is read", async (_what, wf0, says) => {
    const wf = wf0 === "ABS" ? join(tmp, "outside.bin") : wf0;
    writeFileSync(join(dir, "m.tir"), tir(wf));
    const r = await tscc(["compile", join(dir, "m.tir"), "--target", "ir", "-o", join(tmp, "tir-out")], tmp);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error TSCC2004: .*m\.tir: weights_file /);
    expect(r.stderr).toContain(says);
    // Not "has SHA-256 ...": outside.bin was never opened as weights.
    expect(r.stderr).not.toContain("SHA-256");
  });
});

describe("plugins", () => {
  /** A plugin module that leaves a marker file when it is imported (it must never be). */
  const evil = (marker: string): string => `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(marker)}, "ran");\nexport default { apiVersion: 1, name: "evil", register() {} };\n`;

  test("an npm name with '..' cannot reach a folder outside node_modules (TSCC5001; the code never runs)", async () => {
    const proj = join(tmp, "proj1");
    mkdirSync(join(proj, "node_modules"), { recursive: true });
    mkdirSync(join(proj, "evil"));
    const marker = join(tmp, "ran-1");
    writeFileSync(join(proj, "evil/index.mjs"), evil(marker));
    // join(proj, "node_modules", "x/../../evil") is proj/evil.
    const r = await tscc(["backends", "--plugin", "x/../../evil"], proj);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error TSCC5001: cannot load plugin 'x/../../evil': not a valid npm package name");
    expect(existsSync(marker)).toBe(false);
  });

  test.each([
    ["main", { main: "../../outside.mjs" }, "leaves the package folder"],
    ["exports", { exports: { ".": "../../outside.mjs" } }, "leaves the package folder"],
    ["main through a symbolic link", { main: "link.mjs" }, "leaves the package folder through a symbolic link"],
  ])("a package whose %s points outside its folder is refused (TSCC5001; the code never runs)", async (_what, pkg, says) => {
    const proj = join(tmp, `proj-${Object.keys(pkg)[0]}-${says.length}`);
    const pkgDir = join(proj, "node_modules/tscc-backend-sneaky");
    mkdirSync(pkgDir, { recursive: true });
    const marker = join(proj, "ran");
    writeFileSync(join(proj, "outside.mjs"), evil(marker));
    writeFileSync(join(pkgDir, "package.json"), JSON.stringify({ name: "tscc-backend-sneaky", ...pkg }));
    symlinkSync("../../outside.mjs", join(pkgDir, "link.mjs"));
    const r = await tscc(["backends", "--plugin", "tscc-backend-sneaky"], proj);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error TSCC5001: cannot load plugin 'tscc-backend-sneaky': the entry point in");
    expect(r.stderr).toContain(says);
    expect(existsSync(marker)).toBe(false);
  });

  test("a backend cannot write outside its output folder (TSCC5008, nothing written anywhere)", async () => {
    const plugin = join(tmp, "escaping-backend.mjs");
    writeFileSync(
      plugin,
      [
        "export default { apiVersion: 1, name: 'escaper', register(api) { api.registerBackend({",
        "  name: 'escaper', apiVersion: 1, summary: 'writes where it should not', pipeline: () => '', legalize() {},",
        "  emit(m, ctx) { ctx.writeFile('ok.txt', 'fine'); ctx.writeFile('../escaped.txt', 'no'); } }); } };",
        "",
      ].join("\n"),
    );
    const work = join(tmp, "escape-work");
    mkdirSync(work);
    const r = await tscc(["compile", MATMUL_ADD, "--target", "escaper", "--plugin", plugin, "-o", "out"], work);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error TSCC5008: cannot write '\S*out': backend wrote outside its folder: \.\.\/escaped\.txt$/m);
    expect(listDir(work)).toEqual([]);
    expect(existsSync(join(tmp, "escaped.txt"))).toBe(false);
  });
});

test("fileInside: the rule itself", () => {
  expect(fileInside(dir, "weights.bin")).toEqual({ path: join(dir, "weights.bin") });
  expect(fileInside(dir, "missing.bin")).toEqual({ path: join(dir, "missing.bin") });
  for (const bad of ["", "a\0b", "/etc/passwd", "C:\\x.bin", "..", "../x", "a/../../x", "link.bin", "up/outside.bin", "sub"]) expect(fileInside(dir, bad), bad).toHaveProperty("error");
});
