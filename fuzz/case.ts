/**
 * Running one fuzz case and judging it. A case is a folder (the target's base files plus the case's
 * own) and a `tscc` command run in it, either in this process through the CLI's `main()` (fast; every
 * thrown error that is not a coded TsccError becomes exit 2 there) or as a real `node bin/tscc.js`
 * subprocess. The oracle is the same for both: exit 0, or exit 1 with only well-formed coded
 * diagnostics on stderr, no stack trace, no output folder and no stray file.
 */
import { spawnSync } from "node:child_process";
import { lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { main } from "../src/cli/main.js";
import { ROOT } from "./corpus.js";
import type { FileContent, FuzzCase, FuzzTarget } from "./target.js";

export type CaseResult =
  | { readonly kind: "accepted" }
  | { readonly kind: "rejected"; readonly codes: readonly number[]; readonly first: string }
  | { readonly kind: "finding"; readonly why: string; readonly detail: string };

/** A rendered diagnostic line (`file: loc: error TSCC1234: ...`) or one of its indented note/hint lines. */
const DIAG_LINE = /^(?:.*?: )?(error|warning|note|remark) TSCC(\d{4}): /;
const SUB_LINE = /^ {2}(note|hint): /;
const STACK_LINE = /^\s+at\s/;

export function judge(c: FuzzCase, code: number, stderr: string, outExists: boolean): CaseResult {
  const lines = stderr.split("\n").filter((l) => l !== "");
  if (code !== 0 && code !== 1) return { kind: "finding", why: code === 2 ? `internal error: ${firstLine(stderr)}` : `exit code ${code}`, detail: stderr };
  if (lines.some((l) => STACK_LINE.test(l))) return { kind: "finding", why: "stack trace printed", detail: stderr };
  if (code === 0) return c.mustReject ? { kind: "finding", why: "hostile input accepted", detail: c.note } : { kind: "accepted" };
  const bad = lines.find((l) => !DIAG_LINE.test(l) && !SUB_LINE.test(l));
  if (bad !== undefined) return { kind: "finding", why: "malformed diagnostic output", detail: `line ${JSON.stringify(bad)} in:\n${stderr}` };
  const codes = lines.flatMap((l) => {
    const m = DIAG_LINE.exec(l);
    return m && m[1] === "error" ? [Number(m[2])] : [];
  });
  if (codes.length === 0) return { kind: "finding", why: "exit 1 without an error diagnostic", detail: stderr };
  if (codes.some((x) => x >= 9000)) return { kind: "finding", why: "internal error code", detail: stderr };
  if (outExists) return { kind: "finding", why: "partial output written", detail: stderr };
  return { kind: "rejected", codes: [...new Set(codes)].sort((a, b) => a - b), first: lines[0]!.slice(0, 240) };
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.replace(/^tscc: internal error: /, "").slice(0, 160);
}

function writeContent(path: string, content: FileContent): void {
  rmSync(path, { recursive: true, force: true });
  mkdirSync(dirname(path), { recursive: true });
  if (typeof content === "object" && !(content instanceof Uint8Array)) symlinkSync(content.symlink, path);
  else writeFileSync(path, content);
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A case folder for one target, reset between cases. */
export class CaseFolder {
  private written: string[] = [];
  constructor(
    readonly dir: string,
    private readonly base: Readonly<Record<string, FileContent>>,
  ) {
    mkdirSync(dir, { recursive: true });
    for (const [rel, c] of Object.entries(base)) writeContent(resolve(dir, rel), c);
  }

  /** Restore the base files the previous case overwrote, and remove everything else it left. */
  reset(): void {
    for (const rel of this.written) {
      const b = this.base[rel];
      if (b !== undefined) writeContent(join(this.dir, rel), b);
      else rmSync(join(this.dir, rel), { recursive: true, force: true });
    }
    this.written = [];
    for (const f of readdirSync(this.dir)) if (!this.allowed(f)) rmSync(join(this.dir, f), { recursive: true, force: true });
    // Emptied subfolders of case files (e.g. calib/).
    for (const f of readdirSync(this.dir)) {
      const p = join(this.dir, f);
      if (!(f in this.base) && lstatSync(p).isDirectory() && readdirSync(p).length === 0) rmSync(p, { recursive: true });
    }
  }

  private allowed(top: string): boolean {
    return Object.keys(this.base).some((rel) => rel.split("/")[0] === top);
  }

  write(c: FuzzCase): void {
    for (const [rel, content] of Object.entries(c.files)) {
      writeContent(join(this.dir, rel), content);
      this.written.push(rel);
    }
  }

  /** Top-level entries that are neither base files, case files nor `out`. */
  stray(c: FuzzCase): string[] {
    const expected = new Set([...Object.keys(this.base), ...Object.keys(c.files), "out"].map((r) => r.split("/")[0]!));
    return readdirSync(this.dir).filter((f) => !expected.has(f));
  }

  outExists(): boolean {
    return exists(join(this.dir, "out"));
  }
}

export const BIN = join(ROOT, "bin/tscc.js");

/** Run one command of a case: in this process through main(), or as a `node bin/tscc.js` subprocess. */
async function runCommand(dir: string, argv: readonly string[], mode: "inproc" | "cli", timeoutMs: number, note: string): Promise<{ code: number; stderr: string } | CaseResult> {
  let stderr = "";
  if (mode === "inproc") {
    process.chdir(dir);
    try {
      const code = await main(argv, { stdout: () => {}, stderr: (s) => (stderr += s), cwd: dir, tty: false });
      return { code, stderr };
    } catch (e) {
      return { kind: "finding", why: `main() threw: ${(e as Error)?.message ?? String(e)}`, detail: String((e as Error)?.stack ?? e) };
    }
  }
  const env: NodeJS.ProcessEnv = { ...process.env, CI: "1" };
  delete env["TSCC_DEBUG"];
  const r = spawnSync(process.execPath, ["--max-old-space-size=1024", BIN, ...argv], { cwd: dir, encoding: "utf8", env, timeout: timeoutMs, maxBuffer: 16 << 20 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ETIMEDOUT") return { kind: "finding", why: `hang: no exit within ${timeoutMs / 1000} s`, detail: note };
  if (r.signal) return { kind: "finding", why: `killed by ${r.signal}`, detail: r.stderr };
  return { code: r.status ?? -1, stderr: r.stderr };
}

/** Run a case (its command, then its follow-up command if the first succeeded) and judge it. */
export async function runCase<P>(target: FuzzTarget<P>, prepared: P, folder: CaseFolder, c: FuzzCase, mode: "inproc" | "cli", timeoutMs: number): Promise<CaseResult> {
  try {
    return await runAndJudge(target, prepared, folder, c, mode, timeoutMs);
  } finally {
    await target.afterCase?.(prepared);
  }
}

async function runAndJudge<P>(target: FuzzTarget<P>, prepared: P, folder: CaseFolder, c: FuzzCase, mode: "inproc" | "cli", timeoutMs: number): Promise<CaseResult> {
  folder.reset();
  folder.write(c);
  const first = await runCommand(folder.dir, c.argv, mode, timeoutMs, c.note);
  if ("kind" in first) return first;
  let verdict = judge(c, first.code, first.stderr, first.code !== 0 && folder.outExists());
  if (verdict.kind === "finding") return verdict;
  if (c.then && first.code === 0) {
    const second = await runCommand(folder.dir, c.then, mode, timeoutMs, c.note);
    const step = `${c.then[0]} after ${c.argv[0]}`;
    if ("kind" in second) return second.kind === "finding" ? { ...second, why: `${step}: ${second.why}` } : second;
    // The follow-up reads what the first command wrote: `out` is expected to exist.
    verdict = judge(c, second.code, second.stderr, false);
    if (verdict.kind === "finding") return { ...verdict, why: `${step}: ${verdict.why}` };
    // tscc cannot read back what it has just written: the first command accepted an input it cannot handle.
    const unreadable = verdict.kind === "rejected" && verdict.codes.includes(5004) ? /cannot read '([^']*)'/.exec(verdict.first)?.[1] : undefined;
    if (unreadable && c.argv.some((a) => a.startsWith("out") && (unreadable === a || unreadable.endsWith(`/${a}`)))) return { kind: "finding", why: `${step}: the output it wrote is unreadable`, detail: second.stderr };
  }
  const stray = folder.stray(c).filter((f) => f !== "tscc-repro.tir");
  if (stray.length) return { kind: "finding", why: "wrote outside its output folder", detail: stray.join(", ") };
  const extra = await target.check?.(prepared, folder.dir, c, verdict.kind === "accepted" ? 0 : 1);
  if (extra) return { kind: "finding", why: extra, detail: c.note };
  return verdict;
}
