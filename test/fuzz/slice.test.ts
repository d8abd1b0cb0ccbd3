/**
 * The seed-fixed slice of `npm run fuzz` that CI runs: 2,000 in-process cases over every reader and
 * a few real `node bin/tscc.js` subprocess cases per target, all of which must end in exit 0 or in
 * coded diagnostics (exit 1) without a stack trace, a hang, a memory blow-up or partial output. The
 * full run (100,000 cases) and what it found are in docs/reliability.md.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import type { FuzzReport } from "../../fuzz/harness.js";
import { TARGETS } from "../../fuzz/targets/index.js";
import { ROOT } from "../cli/support.js";

const findings = mkdtempSync(join(tmpdir(), "tscc-fuzz-slice-"));
afterAll(() => rmSync(findings, { recursive: true, force: true }));

function fuzz(args: string[]): FuzzReport {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "fuzz/index.ts"), "--json", "--no-shrink", "--findings", findings, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, CI: "1" }, maxBuffer: 64 << 20 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`npm run fuzz failed (exit ${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as FuzzReport;
}

function summary(rep: FuzzReport): string {
  return rep.findings.map((f) => `${f.target} ${f.seed}-${f.k}: ${f.why}`).join("\n");
}

test("2,000 in-process cases over every reader: no finding, and every target both accepts and rejects inputs", { timeout: 300_000 }, () => {
  const rep = fuzz(["--cases", "2000", "--seed", "1"]);
  expect(summary(rep)).toBe("");
  expect(rep.targets.map((t) => t.target)).toEqual(TARGETS.map((t) => t.name));
  expect(rep.targets.reduce((s, t) => s + t.cases, 0)).toBeGreaterThanOrEqual(1990);
  for (const t of rep.targets) {
    expect(t.cases, t.target).toBe(t.accepted + t.rejected);
    // A target that never gets past its reader's first check, or never fails, fuzzes nothing.
    expect(t.accepted, t.target).toBeGreaterThan(0);
    if (t.target !== "names") expect(t.rejected, t.target).toBeGreaterThan(0);
  }
});

test("real bin/tscc.js subprocesses (1 per target): exit 0 or 1, coded diagnostics, no stack trace, no output", { timeout: 300_000 }, () => {
  const rep = fuzz(["--cli", "--cases", String(TARGETS.length), "--seed", "1"]);
  expect(summary(rep)).toBe("");
  expect(rep.mode).toBe("cli");
  expect(rep.targets.reduce((s, t) => s + t.cases, 0)).toBeGreaterThanOrEqual(TARGETS.length);
});
