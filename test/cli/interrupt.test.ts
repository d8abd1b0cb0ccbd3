/**
 * Ctrl-C stops tscc cleanly: typed on a terminal in the middle of calibration (compile) or of an
 * evaluation on worker threads (run with --save-counts/--save-output), the process exits with 130 within
 * moments, prints one coded line, and leaves no output and no temporary file or folder behind. The work
 * is made long on purpose (a large calibration set, many samples) and the key is pressed as soon as the
 * progress bar of that phase is on the screen, so the interrupt always lands mid-phase.
 */
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { encodeNpy } from "../../src/io/npy.js";
import { ttyTscc } from "../support/pty.js";
import { Rng } from "../support/random.js";
import { BN_POOL, removeDir, tempDir, tscc } from "./support.js";

let dir: string;
/** Samples of the large calibration / evaluation set (minutes of work at the machine's pace). */
const BIG = 24_000;

beforeAll(async () => {
  dir = tempDir("tscc-interrupt-");
  const rng = new Rng(17);
  writeFileSync(join(dir, "small.npy"), encodeNpy({ shape: [32, 3, 16, 16], dtype: "f32", data: rng.f32(32 * 768, 0, 1) }));
  writeFileSync(join(dir, "big.npy"), encodeNpy({ shape: [BIG, 3, 16, 16], dtype: "f32", data: rng.f32(BIG * 768, 0, 1) }));
  const r = await tscc(["compile", BN_POOL, "--target", "emulator", "--calibration", "small.npy", "--window", "8", "-o", "art"], dir);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => removeDir(dir));

function expectCleanInterrupt(r: { code: number | null; output: string; afterInterrupt?: number }): void {
  expect(r.afterInterrupt, r.output).toBeDefined();
  expect(r.code, r.output).toBe(130);
  expect(r.output).toMatch(/error TSCC5020: interrupted by SIGINT: stopped, and no partial output was left/);
  expect(r.output).not.toMatch(/^\s+at /m);
  // Within one chunk of work, not at the end of the phase.
  expect(r.afterInterrupt!).toBeLessThan(20_000);
}

test("Ctrl-C during calibration: exit 130, no artifact and no temporary folder", async () => {
  const before = readdirSync(dir).sort();
  const r = await ttyTscc(["compile", BN_POOL, "--target", "emulator", "--calibration", "big.npy", "--window", "8", "-o", "out"], dir, "calibrating [");
  expectCleanInterrupt(r);
  expect(readdirSync(dir).sort()).toEqual(before);
});

test("Ctrl-C during an evaluation on worker threads: exit 130, no counts, no outputs, no temporary files", async () => {
  const before = readdirSync(dir).sort();
  const r = await ttyTscc(["run", "art", "--input", "big.npy", "--engine", "event", "--jobs", "2", "--save-counts", "part.json", "--save-output", "y.npy"], dir, "event engine (2 jobs) [");
  expectCleanInterrupt(r);
  expect(readdirSync(dir).sort()).toEqual(before);
});
