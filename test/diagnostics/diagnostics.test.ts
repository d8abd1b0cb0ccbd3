/**
 * MLIR-style negative tests: each `.tir` here holds cases separated by `// -----`; every
 * `// expected-error@+N {{text}}` must be matched by a diagnostic (parse or verify) on that line, and
 * no other diagnostic may appear.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { isTsccError, parseModuleWithPositions, renderDiagnostic, verifyModule, type Diagnostic } from "../../ir/index.js";

const here = dirname(fileURLToPath(import.meta.url));

interface Case {
  name: string;
  text: string;
  firstLine: number;
}

function split(file: string): Case[] {
  const lines = readFileSync(file, "utf8").split("\n");
  const cases: Case[] = [];
  let start = 0;
  for (let i = 0; i <= lines.length; i++) {
    if (i === lines.length || lines[i] === "// -----") {
      const text = lines.slice(start, i).join("\n");
      const name = /module @(\w+)/.exec(text)?.[1] ?? `case${cases.length}`;
      cases.push({ name, text, firstLine: start + 1 });
      start = i + 1;
    }
  }
  return cases;
}

function diagnose(text: string): Diagnostic[] {
  try {
    const { module, positions } = parseModuleWithPositions(text, { file: "case.tir" });
    return verifyModule(module, { positions });
  } catch (e) {
    if (isTsccError(e)) return [...e.diagnostics];
    throw e;
  }
}

for (const f of readdirSync(here).filter((x) => x.endsWith(".tir"))) {
  describe(f, () => {
    test.each(split(join(here, f)).map((c) => [c.name, c]))("%s", (_n, c) => {
      const lines = c.text.split("\n");
      const expected: { line: number; text: string }[] = [];
      lines.forEach((l, i) => {
        const m = /\/\/ expected-error@\+(\d+) \{\{(.+)\}\}/.exec(l);
        if (m) expected.push({ line: i + 1 + Number(m[1]), text: m[2]! });
      });
      const got = diagnose(c.text);
      const rendered = got.map((d) => ({ line: d.loc?.kind === "file" ? d.loc.line : -1, text: `TSCC${d.code}: ${d.message}`, full: renderDiagnostic(d) }));
      for (const e of expected) {
        expect(rendered.some((r) => r.text.includes(e.text) && (r.line === e.line || r.line === -1)), `expected '${e.text}' on line ${e.line}; got:\n${rendered.map((r) => r.full).join("\n")}`).toBe(true);
      }
      expect(got.length, `unexpected diagnostics:\n${rendered.map((r) => r.full).join("\n")}`).toBe(expected.length);
    });
  });
}
