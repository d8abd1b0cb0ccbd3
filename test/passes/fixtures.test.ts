/**
 * Golden tests for every pass (test/passes/<pass>/<case>.tir, first line `// RUN: <pipeline>`): the
 * printed result must equal `__golden__/<case>.tir`, running the pipeline again must change nothing
 * (idempotence), the golden must round-trip through the printer, and the interpreter must give the
 * same outputs before and after the pass (semantics preserved).
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { parseModule, printModule, verifyModule } from "../../ir/index.js";
import { interpret, randomInputs, relError, runPipeline } from "../support/ir.js";

const here = dirname(fileURLToPath(import.meta.url));
const cases = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    readdirSync(join(here, d.name))
      .filter((f) => f.endsWith(".tir"))
      .map((f) => join(here, d.name, f)),
  );

describe.each(cases.map((c) => [`${basename(dirname(c))}/${basename(c)}`, c]))("%s", (_name, file) => {
  const text = readFileSync(file, "utf8");
  const run = /^\/\/ RUN: (.+)$/m.exec(text)?.[1];
  const golden = join(dirname(file), "__golden__", basename(file));

  test("input is valid IR with a RUN line", () => {
    expect(run).toBeDefined();
    expect(verifyModule(parseModule(text, { file })).map((d) => d.message)).toEqual([]);
  });

  test("output matches the golden file, and the pass is idempotent", async () => {
    const m = parseModule(text, { file });
    await runPipeline(m, run!);
    const out = printModule(m, { inlineWeights: true });
    await expect(out).toMatchFileSnapshot(golden);
    await runPipeline(m, run!);
    expect(printModule(m, { inlineWeights: true })).toBe(out);
    expect(printModule(parseModule(out), { inlineWeights: true })).toBe(out);
  });

  test("semantics are preserved (interpreter before vs after)", async () => {
    const before = parseModule(text, { file });
    const after = parseModule(text, { file });
    await runPipeline(after, run!);
    const inputs = randomInputs(before, 7);
    const a = interpret(before, inputs);
    const b = interpret(after, inputs);
    for (const k of Object.keys(a)) expect(relError(b[k]!, a[k]!)).toBeLessThan(1e-5);
  });
});
