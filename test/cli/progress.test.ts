/**
 * Progress bars: drawn with an ETA on a terminal (calibration, the passes, evaluation), never on a pipe,
 * with --quiet or --json, or under CI — what CI logs and scripts read stays clean.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { progressLogger, progressWanted } from "../../src/cli/progress.js";
import { encodeNpy } from "../../src/io/npy.js";
import { Rng } from "../support/random.js";
import { ttyTscc } from "../support/pty.js";
import { BN_POOL, removeDir, spawnTscc, tempDir } from "./support.js";

/** A stand-in for a terminal's stderr that records what is written. */
function fakeTerminal(isTTY: boolean): { isTTY: boolean; columns: number; text: string; write(s: string): boolean } {
  return {
    isTTY,
    columns: 100,
    text: "",
    write(s: string) {
      this.text += s;
      return true;
    },
  };
}

describe("the progress logger", () => {
  afterEach(() => vi.useRealTimers());

  test("on a terminal: a bar with label, count and ETA, cleared when done", () => {
    vi.useFakeTimers();
    const tty = fakeTerminal(true);
    const log = progressLogger(tty, true);
    for (let done = 0; done <= 8; done += 2) {
      log.progress("calibrating", done, 10);
      vi.advanceTimersByTime(1000);
    }
    expect(tty.text).toMatch(/calibrating \[=+-+\] 80%  8\/10  ETA 1s/);
    log.progress("calibrating", 10, 10);
    // Finished: the line is cleared (erase-line sequence last), nothing left on screen.
    expect(tty.text.endsWith("\x1b[2K")).toBe(true);
    log.stop();
  });

  test("a new total starts a new bar; stop() clears one that never finished", () => {
    vi.useFakeTimers();
    const tty = fakeTerminal(true);
    const log = progressLogger(tty, true);
    log.progress("pass normalize-thresholds", 0, 3);
    log.progress("calibrating", 64, 1000);
    expect(tty.text).toMatch(/pass normalize-thresholds \[/);
    expect(tty.text).toMatch(/calibrating \[=*-+\] 6%  64\/1000/);
    log.stop();
    expect(tty.text.endsWith("\x1b[2K")).toBe(true);
  });

  test("not live: nothing is written", () => {
    const pipe = fakeTerminal(false);
    const log = progressLogger(pipe, false);
    log.progress("calibrating", 1, 10);
    log.info("hello");
    log.stop();
    expect(pipe.text).toBe("");
  });

  test("bars are wanted on a terminal only, and not with --quiet/--json or under CI", () => {
    expect(progressWanted(fakeTerminal(true), false, {})).toBe(true);
    expect(progressWanted(fakeTerminal(false), false, {})).toBe(false);
    expect(progressWanted(fakeTerminal(true), true, {})).toBe(false);
    expect(progressWanted(fakeTerminal(true), false, { CI: "true" })).toBe(false);
  });
});

describe("the tscc command", () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir("tscc-progress-");
    const rng = new Rng(5);
    writeFileSync(join(dir, "calib.npy"), encodeNpy({ shape: [640, 3, 16, 16], dtype: "f32", data: rng.f32(640 * 768, 0, 1) }));
    writeFileSync(join(dir, "x.npy"), encodeNpy({ shape: [96, 3, 16, 16], dtype: "f32", data: rng.f32(96 * 768, 0, 1) }));
  });
  afterAll(() => removeDir(dir));

  const compile = (out: string, ...extra: string[]): string[] => ["compile", BN_POOL, "--target", "emulator", "--calibration", "calib.npy", "--window", "8", "-o", out, ...extra];
  const run = (...extra: string[]): string[] => ["run", "art", "--input", "x.npy", "--engine", "event", "--batch", "16", "--jobs", "2", ...extra];

  test("on a pipe (CI unset): stderr stays empty for compile and run", () => {
    const c = spawnTscc(compile("art"), dir, { CI: undefined });
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toBe("");
    const r = spawnTscc(run(), dir, { CI: undefined });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
  });

  test("on a terminal: calibration, passes and evaluation draw bars; --quiet and --json draw none", async () => {
    const c = await ttyTscc(compile("art-tty"), dir);
    expect(c.code, c.output).toBe(0);
    expect(c.output).toMatch(/calibrating \[[=-]+\] \d+%  \d+\/640/);
    expect(c.output).toMatch(/pass [a-z:-]+ \[/);
    const r = await ttyTscc(run(), dir);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/event engine \(2 jobs\) \[[=-]+\] \d+%  \d+\/96/);
    for (const quiet of [compile("art-quiet", "--quiet"), run("--json")]) {
      const q = await ttyTscc(quiet, dir);
      expect(q.code, q.output).toBe(0);
      expect(q.output).not.toMatch(/\[[=-]{30}\]/);
    }
  });
});
