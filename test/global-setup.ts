/**
 * Vitest global setup: make sure dist/ (what `bin/tscc.js` runs, and what the `tscc/ir` and
 * `tscc/backend` package exports point at) is built from the current sources, once per test run.
 * A full `tsc -p tsconfig.json` takes a few seconds, so it is skipped when dist is newer than every
 * source file. Type errors do not stop the run (tsc still emits); the tests that spawn the CLI then
 * show what is wrong.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Rewritten by every build (tsc writes all outputs), so its time stamp is the build's. */
const STAMP = join(ROOT, "dist/src/cli/main.js");

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

export function distIsFresh(): boolean {
  if (!existsSync(STAMP)) return false;
  const sources = Math.max(...["src", "ir", "backends"].map((d) => newestSource(join(ROOT, d))), statSync(join(ROOT, "tsconfig.json")).mtimeMs);
  return statSync(STAMP).mtimeMs >= sources;
}

export default function setup(): void {
  if (distIsFresh()) return;
  const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
  const r = spawnSync(process.execPath, [tsc, "-p", join(ROOT, "tsconfig.json")], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) process.stderr.write(`test/global-setup: tsc -p tsconfig.json reported errors (dist was still written):\n${r.stdout}${r.stderr}\n`);
  if (!existsSync(STAMP)) throw new Error(`test/global-setup: building dist failed, ${STAMP} is missing`);
}
