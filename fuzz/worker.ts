/**
 * A fuzz worker: a child process (so the parent can kill it on a hang or a memory blow-up and measure
 * its memory alone) that runs chunks of cases for the parent (harness.ts). Before every case it tells
 * the parent, so a case that never reports back is the one that hung. A finding is shrunk with
 * fast-check (replaying the same seed and path) and written to the findings folder.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import fc from "fast-check";
import { setScratch } from "./corpus.js";
import { CaseFolder, runCase, type CaseResult } from "./case.js";
import type { FileContent, FuzzCase, FuzzTarget } from "./target.js";
import { TARGETS } from "./targets/index.js";

export interface ChunkTask {
  readonly type: "chunk";
  readonly target: string;
  /** Seed of this chunk: case k of the chunk is `fc.sample(arbitrary, {seed, numRuns})[k]`. */
  readonly seed: number;
  readonly count: number;
  /** First case to run (after a hang, the parent resumes past the case that hung). */
  readonly from: number;
  readonly mode: "inproc" | "cli";
  readonly timeoutMs: number;
  readonly findingsDir: string;
  readonly shrink: boolean;
}

export interface DumpTask {
  readonly type: "dump";
  readonly target: string;
  readonly seed: number;
  readonly count: number;
  readonly k: number;
  readonly dir: string;
  readonly finding: Record<string, unknown>;
}

export type ToWorker = ChunkTask | DumpTask | { readonly type: "scratch"; readonly dir: string };

export type FromWorker =
  | { type: "phase"; phase: "prepare" | "case" | "shrink"; k?: number }
  | { type: "case"; target: string; k: number; result: CaseResult; ms: number }
  | { type: "finding"; target: string; k: number; result: CaseResult; note: string; dir: string; shrinks: number }
  | { type: "done" }
  | { type: "error"; message: string }
  /** Something escaped the CLI (an uncaught exception or rejection): a finding about the running case. */
  | { type: "uncaught"; message: string };

const send = (m: FromWorker): void => {
  process.send!(m);
};

let scratch = "";
const prepared = new Map<string, { target: FuzzTarget<unknown>; p: unknown; arb: fc.Arbitrary<FuzzCase>; folder: CaseFolder }>();

async function ready(name: string): Promise<{ target: FuzzTarget<unknown>; p: unknown; arb: fc.Arbitrary<FuzzCase>; folder: CaseFolder }> {
  const hit = prepared.get(name);
  if (hit) return hit;
  send({ type: "phase", phase: "prepare" });
  const target = TARGETS.find((t) => t.name === name);
  if (!target) throw new Error(`unknown fuzz target '${name}'`);
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  const p = await target.prepare({ scratch: dir });
  const folder = new CaseFolder(join(dir, "case"), target.base(p));
  const entry = { target, p, arb: target.arbitrary(p), folder };
  // Warm up (lazy imports, onnxruntime, ts-morph) and prove the target reaches its reader.
  const valid = await runCase(target, p, folder, target.valid(p), "inproc", 60_000);
  if (valid.kind !== "accepted") throw new Error(`fuzz target '${name}': its valid case is not accepted: ${JSON.stringify(valid)}`);
  prepared.set(name, entry);
  return entry;
}

/** Findings of the same kind whatever the numbers in their message (shrinking keeps the kind). */
const kindOf = (r: CaseResult): string => (r.kind === "finding" ? r.why.replace(/\d+/g, "#") : r.kind);

function writeCase(dir: string, c: FuzzCase, info: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true });
  for (const [rel, content] of Object.entries(c.files)) {
    const path = join(dir, "files", rel);
    mkdirSync(dirname(path), { recursive: true });
    const data: FileContent = content;
    writeFileSync(path, typeof data === "object" && !(data instanceof Uint8Array) ? `symlink -> ${data.symlink}\n` : data);
  }
  writeFileSync(join(dir, "finding.json"), JSON.stringify({ ...info, argv: c.argv, ...(c.then ? { then: c.then } : {}), note: c.note, mustReject: c.mustReject ?? false }, null, 2) + "\n");
}

async function runChunk(t: ChunkTask): Promise<void> {
  const e = await ready(t.target);
  const cases = fc.sample(e.arb, { seed: t.seed, numRuns: t.count });
  for (let k = t.from; k < t.count; k++) {
    send({ type: "phase", phase: "case", k });
    const t0 = performance.now();
    const result = await runCase(e.target, e.p, e.folder, cases[k]!, t.mode, t.timeoutMs);
    send({ type: "case", target: t.target, k, result, ms: performance.now() - t0 });
    if (result.kind !== "finding") continue;
    // Shrink: replay case k (same seed and path) and keep the smallest case giving the same kind of finding.
    let best = cases[k]!;
    let shrinks = 0;
    if (t.shrink) {
      send({ type: "phase", phase: "shrink" });
      let attempts = 0;
      const want = kindOf(result);
      const r = await fc.check(
        fc.asyncProperty(e.arb, async (c) => {
          if (++attempts > 300) return true;
          send({ type: "phase", phase: "shrink" });
          return kindOf(await runCase(e.target, e.p, e.folder, c, t.mode, t.timeoutMs)) !== want;
        }),
        { seed: t.seed, numRuns: k + 1, path: String(k) },
      );
      if (r.failed && r.counterexample) {
        best = r.counterexample[0];
        shrinks = r.numShrinks;
      }
    }
    const dir = join(t.findingsDir, t.target, `${t.seed}-${k}`);
    writeCase(dir, best, { target: t.target, seed: t.seed, count: t.count, k, mode: t.mode, why: result.why, detail: result.detail.slice(0, 20_000), shrinks, original_note: cases[k]!.note });
    send({ type: "finding", target: t.target, k, result, note: best.note, dir, shrinks });
  }
}

async function dump(t: DumpTask): Promise<void> {
  const e = await ready(t.target);
  const c = fc.sample(e.arb, { seed: t.seed, numRuns: t.count })[t.k]!;
  writeCase(t.dir, c, t.finding);
}

process.on("message", (m: ToWorker) => {
  void (async () => {
    try {
      if (m.type === "scratch") {
        scratch = m.dir;
        setScratch(m.dir);
        mkdirSync(m.dir, { recursive: true });
        return;
      }
      if (m.type === "chunk") await runChunk(m);
      else await dump(m);
      send({ type: "done" });
    } catch (e) {
      send({ type: "error", message: String((e as Error)?.stack ?? e) });
    }
  })();
});

// Anything escaping the CLI's own handling (a stray promise rejection, a throw from a timer) is a
// finding about the case that is running: the parent sees the worker die before it reports.
const die = (what: string, e: unknown): void => {
  process.send!({ type: "uncaught", message: `${what}: ${String((e as Error)?.stack ?? e)}` } satisfies FromWorker, () => process.exit(70));
};
process.on("uncaughtException", (e) => die("uncaught exception", e));
process.on("unhandledRejection", (e) => die("unhandled rejection", e));
