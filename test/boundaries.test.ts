/**
 * Layering: `ir/` is the core and depends on nothing else in the repository; `backends/` builds on
 * `ir/` only (a backend must be writable by a third party who has nothing but `tscc/ir` and
 * `tscc/backend`). Every import and export-from, static or dynamic, of every .ts file is checked.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { ts } from "ts-morph";
import { describe, expect, test } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** What the package's own name resolves to (package.json "exports"), as a repository folder. */
const SELF: Record<string, string> = { tscc: "src", "tscc/ir": "ir", "tscc/backend": "backends" };

interface Rule {
  /** Folder whose files are checked. */
  layer: string;
  /** Repository folders those files may import from (relative imports and tscc self-imports). */
  allowed: readonly string[];
  why: string;
}

const RULES: readonly Rule[] = [
  { layer: "ir", allowed: ["ir"], why: "ir/ must not import from src/ or backends/ (or anything outside ir/)" },
  { layer: "backends", allowed: ["ir", "backends"], why: "backends/ may import only from ir/ and backends/ (plus node: and npm packages)" },
];

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return /\.(m|c)?ts$/.test(e.name) && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

/** Every module specifier in the file: import/export ... from, import "x", import("x"), require("x"). */
function importsOf(text: string): { spec: string; line: number }[] {
  const info = ts.preProcessFile(text, true, true);
  const lineOf = (pos: number): number => text.slice(0, pos).split("\n").length;
  return info.importedFiles.map((f) => ({ spec: f.fileName, line: lineOf(f.pos) }));
}

/** The repository folder (first path segment) an import lands in, or undefined for node: and npm packages. */
function targetFolder(file: string, spec: string): string | undefined {
  if (spec in SELF) return SELF[spec];
  if (spec.startsWith("tscc/")) return `tscc export '${spec}'`;
  if (!spec.startsWith(".") && !spec.startsWith("/")) return undefined;
  const rel = relative(ROOT, resolve(dirname(file), spec));
  return rel.startsWith("..") ? rel : rel.split(sep)[0];
}

function violations(rule: Rule, files: readonly { file: string; text: string }[]): string[] {
  const out: string[] = [];
  for (const { file, text } of files) {
    for (const { spec, line } of importsOf(text)) {
      const target = targetFolder(file, spec);
      if (target !== undefined && !rule.allowed.includes(target)) out.push(`${relative(ROOT, file)}:${line} imports '${spec}' (in ${target}/): ${rule.why}`);
    }
  }
  return out;
}

describe.each(RULES)("$layer/", (rule) => {
  const files = tsFiles(join(ROOT, rule.layer)).map((file) => ({ file, text: readFileSync(file, "utf8") }));

  test("has files to check, and their imports are found", () => {
    expect(files.length).toBeGreaterThan(0);
    expect(files.flatMap((f) => importsOf(f.text)).length).toBeGreaterThan(0);
  });

  test(`imports only from ${rule.allowed.map((a) => `${a}/`).join(" and ")}`, () => {
    const found = violations(rule, files);
    expect(found, `layering violations:\n  ${found.join("\n  ")}\n`).toEqual([]);
  });
});

test("the checker catches static, type-only, re-export, dynamic and require imports across layers", () => {
  const file = join(ROOT, "backends/fake/index.ts");
  const text = [
    'import { compile } from "../../src/driver/compile.js";',
    'import type { Registry } from "../../src/driver/registry.js";',
    'export * from "../../src/index.js";',
    "const later = () => import('../../src/cli/main.js');",
    'const cjs = require("../../src/version.js");',
    'import { Module } from "../../ir/index.js";',
    'import { readFileSync } from "node:fs";',
    'import { Command } from "commander";',
    'import type { Backend } from "tscc/backend";',
    'import { compile as c2 } from "tscc";',
  ].join("\n");
  const found = violations(RULES[1]!, [{ file, text }]);
  expect(found.map((v) => v.split(" imports ")[1]!.split(" (")[0])).toEqual([
    "'../../src/driver/compile.js'",
    "'../../src/driver/registry.js'",
    "'../../src/index.js'",
    "'../../src/cli/main.js'",
    "'../../src/version.js'",
    "'tscc'",
  ]);
  expect(found[0]).toBe("backends/fake/index.ts:1 imports '../../src/driver/compile.js' (in src/): " + RULES[1]!.why);
});
