/**
 * The fuzz driver (parent side): splits the case budget over the targets in chunks of fixed seeds,
 * runs the chunks on worker child processes (worker.ts), and watches each worker: a case that does
 * not report back within the time limit is a hang, a worker whose resident memory passes the cap is a
 * memory blow-up, a worker that dies is a crash; the worker is killed, the case recorded (its files
 * dumped by a fresh worker) and the chunk resumed after it.
 */
import { fork, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { CaseResult } from "./case.js";
import { ROOT } from "./corpus.js";
import type { FuzzTarget } from "./target.js";
import type { ChunkTask, DumpTask, FromWorker, ToWorker } from "./worker.js";

export const CHUNK = 100;

export interface FuzzOptions {
  readonly targets: readonly FuzzTarget<any>[];
  /** Total cases, split over the targets by weight. */
  readonly cases: number;
  readonly seed: number;
  readonly workers: number;
  readonly mode: "inproc" | "cli";
  /** A case taking longer is a hang. */
  readonly timeoutMs: number;
  /** A worker whose resident set passes this is a memory blow-up. */
  readonly maxRssMb: number;
  readonly findingsDir: string;
  readonly scratch: string;
  readonly shrink: boolean;
  readonly onProgress?: (p: Progress) => void;
}

export interface Progress {
  readonly done: number;
  readonly total: number;
  readonly findings: number;
  readonly target: string;
}

export interface Finding {
  readonly target: string;
  readonly seed: number;
  readonly k: number;
  readonly why: string;
  note: string;
  dir: string;
}

export interface TargetReport {
  readonly target: string;
  cases: number;
  accepted: number;
  rejected: number;
  /** How many cases were rejected with each diagnostic code. */
  readonly codes: Record<string, number>;
  /** The first diagnostic line seen for each code. */
  readonly examples: Record<string, string>;
  findings: number;
  /** Summed per-case time (ms); the wall time of a run is shared by all targets. */
  caseMs: number;
}

export interface FuzzReport {
  readonly seed: number;
  readonly mode: "inproc" | "cli";
  readonly cases: number;
  readonly workers: number;
  wallSeconds: number;
  readonly targets: TargetReport[];
  readonly findings: Finding[];
}

/** FNV-1a over a string: the seed of one chunk of one target. */
export function chunkSeed(seed: number, target: string, chunk: number): number {
  let h = 0x811c9dc5;
  for (const ch of `${seed}:${target}:${chunk}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

/** Cases per target: the budget split by weight, largest remainders first, so they sum to `cases` (each target gets at least one). */
export function split(targets: readonly FuzzTarget<any>[], cases: number): number[] {
  const total = targets.reduce((s, t) => s + t.weight, 0);
  const exact = targets.map((t) => (cases * t.weight) / total);
  const out = exact.map(Math.floor);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const left = cases - out.reduce((a, b) => a + b, 0);
  for (let k = 0; k < left; k++) out[order[k % order.length]![1]]!++;
  return out.map((n) => Math.max(1, n));
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

interface Worker {
  proc: ChildProcess;
  task: ChunkTask | DumpTask | undefined;
  phase: "prepare" | "case" | "shrink" | "idle";
  k: number;
  beat: number;
  stderr: string;
  exited: boolean;
}

export async function fuzz(o: FuzzOptions): Promise<FuzzReport> {
  const t0 = performance.now();
  const counts = split(o.targets, o.cases);
  const report: FuzzReport = {
    seed: o.seed,
    mode: o.mode,
    cases: counts.reduce((a, b) => a + b, 0),
    workers: o.workers,
    wallSeconds: 0,
    targets: o.targets.map((t) => ({ target: t.name, cases: 0, accepted: 0, rejected: 0, codes: {}, examples: {}, findings: 0, caseMs: 0 })),
    findings: [],
  };
  const byName = new Map(report.targets.map((r) => [r.target, r]));
  // Chunks interleaved across targets, so every target progresses from the start.
  const queue: (ChunkTask | DumpTask)[] = [];
  const perTarget = o.targets.map((t, i) => Array.from({ length: Math.ceil(counts[i]! / CHUNK) }, (_, c) => ({ t, c, count: Math.min(CHUNK, counts[i]! - c * CHUNK) })));
  for (let round = 0; perTarget.some((l) => round < l.length); round++) {
    for (const l of perTarget) {
      const x = l[round];
      if (x) queue.push({ type: "chunk", target: x.t.name, seed: chunkSeed(o.seed, x.t.name, x.c), count: x.count, from: 0, mode: o.mode, timeoutMs: o.timeoutMs, findingsDir: o.findingsDir, shrink: o.shrink });
    }
  }
  let done = 0;
  let fatal: string | undefined;
  const workers = new Set<Worker>();
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));

  const record = (target: string, seed: number, k: number, r: CaseResult, ms: number): Finding | undefined => {
    const tr = byName.get(target)!;
    tr.cases++;
    tr.caseMs += ms;
    done++;
    let f: Finding | undefined;
    if (r.kind === "accepted") tr.accepted++;
    else if (r.kind === "rejected") {
      tr.rejected++;
      for (const c of r.codes) tr.codes[`TSCC${c}`] = (tr.codes[`TSCC${c}`] ?? 0) + 1;
      tr.examples[`TSCC${r.codes[0]}`] ??= r.first;
    } else {
      tr.findings++;
      f = { target, seed, k, why: r.why, note: "", dir: "" };
      report.findings.push(f);
    }
    o.onProgress?.({ done, total: report.cases, findings: report.findings.length, target });
    return f;
  };

  const spawnWorker = (): Worker => {
    const proc = fork(join(ROOT, "fuzz/worker.ts"), [], {
      execArgv: ["--import", "tsx", "--max-old-space-size=1536"],
      env: { ...process.env, TSCC_DEBUG: "1", CI: "1" },
      serialization: "advanced",
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    const w: Worker = { proc, task: undefined, phase: "idle", k: -1, beat: performance.now(), stderr: "", exited: false };
    proc.stderr!.on("data", (d: Buffer) => (w.stderr = (w.stderr + d.toString()).slice(-4000)));
    proc.on("message", (m: FromWorker) => onMessage(w, m));
    proc.on("exit", (code, signal) => {
      w.exited = true;
      if (workers.has(w)) lost(w, `worker died (${signal ?? `exit ${code}`})${w.stderr ? `: ${w.stderr.trim().split("\n").slice(-3).join(" | ")}` : ""}`);
    });
    proc.send({ type: "scratch", dir: join(o.scratch, `w${workers.size}-${proc.pid}`) } satisfies ToWorker);
    workers.add(w);
    return w;
  };

  const next = (w: Worker): void => {
    const t = fatal ? undefined : queue.shift();
    if (!t) {
      workers.delete(w);
      w.proc.kill("SIGKILL");
      if (workers.size === 0) finish();
      return;
    }
    w.task = t;
    w.phase = "prepare";
    w.k = t.type === "chunk" ? t.from - 1 : -1;
    w.beat = performance.now();
    w.proc.send(t satisfies ToWorker);
  };

  const onMessage = (w: Worker, m: FromWorker): void => {
    w.beat = performance.now();
    const t = w.task;
    switch (m.type) {
      case "phase":
        w.phase = m.phase;
        if (m.k !== undefined) w.k = m.k;
        return;
      case "case":
        record(m.target, (t as ChunkTask).seed, m.k, m.result, m.ms);
        w.phase = "idle";
        return;
      case "finding": {
        const f = report.findings.find((x) => x.target === m.target && x.seed === (t as ChunkTask).seed && x.k === m.k);
        if (f) {
          f.note = m.note;
          f.dir = m.dir;
        }
        return;
      }
      case "done":
        w.task = undefined;
        w.phase = "idle";
        next(w);
        return;
      case "error":
        fatal = `fuzz worker failed: ${m.message}`;
        workers.delete(w);
        w.proc.kill("SIGKILL");
        if (workers.size === 0) finish();
        return;
      case "uncaught":
        kill(w, `escaped the CLI: ${m.message.split("\n")[0]}`);
        return;
    }
  };

  /** The running case of `w` is a finding of this kind: record it, dump its files, resume after it. */
  const lost = (w: Worker, why: string): void => {
    workers.delete(w);
    const t = w.task;
    if (!t || t.type !== "chunk") {
      if (t) fatal = `fuzz worker died while preparing: ${why}`;
      if (!fatal && queue.length) next(spawnWorker());
      else if (workers.size === 0) finish();
      return;
    }
    if (w.phase === "prepare") {
      fatal = `fuzz worker died while preparing target '${t.target}': ${why}`;
      if (workers.size === 0) finish();
      return;
    }
    const k = w.phase === "shrink" ? -1 : w.k;
    if (k >= 0) {
      const f = record(t.target, t.seed, k, { kind: "finding", why, detail: why }, o.timeoutMs)!;
      const dir = join(o.findingsDir, t.target, `${t.seed}-${k}`);
      f.dir = dir;
      queue.unshift({ type: "dump", target: t.target, seed: t.seed, count: t.count, k, dir, finding: { target: t.target, seed: t.seed, count: t.count, k, why } });
    }
    // Resume the chunk after the lost case (after shrinking, the case itself was already counted).
    const resume = w.phase === "shrink" ? w.k + 1 : k + 1;
    if (resume < t.count) queue.unshift({ ...t, from: resume });
    next(spawnWorker());
  };

  const kill = (w: Worker, why: string): void => {
    if (!workers.has(w)) return;
    w.proc.removeAllListeners("exit");
    w.proc.kill("SIGKILL");
    lost(w, why);
  };

  const watchdog = setInterval(() => {
    const now = performance.now();
    for (const w of [...workers]) {
      if (!w.task) continue;
      const limit = w.phase === "prepare" ? 300_000 : o.mode === "cli" ? o.timeoutMs + 15_000 : o.timeoutMs;
      if (now - w.beat > limit) kill(w, w.phase === "prepare" ? "preparing the target timed out" : `hang: no result within ${(limit / 1000).toFixed(0)} s`);
      else if (w.proc.pid && rssMb(w.proc.pid) > o.maxRssMb) kill(w, `memory: resident set above ${o.maxRssMb} MB`);
    }
  }, 100);

  rmSync(o.findingsDir, { recursive: true, force: true });
  const n = Math.max(1, Math.min(o.workers, queue.length));
  for (let i = 0; i < n; i++) next(spawnWorker());
  await finished;
  clearInterval(watchdog);
  for (const w of workers) w.proc.kill("SIGKILL");
  if (fatal) throw new Error(fatal);
  report.wallSeconds = (performance.now() - t0) / 1000;
  return report;
}
