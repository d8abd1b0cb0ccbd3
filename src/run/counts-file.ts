/**
 * Counts files (`tscc run … --shard i/n --save-counts part-i.json`) and their merge (`tscc merge`). A
 * file records what was evaluated (artifact and input hashes, run options, the shard and its samples)
 * and the exact counts of that shard (backends/counts.ts). Merging checks that the parts belong to one
 * evaluation — same artifact, inputs, labels and options, shards 0…n−1 each exactly once, covering the
 * samples without gap or overlap — and sums the counts; every problem is one diagnostic naming the file.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fmt, M, TsccError } from "../../ir/index.js";
import { mergeCounts, type RunCounts } from "../../backends/counts.js";
import { VERSION } from "../version.js";

export const COUNTS_FORMAT = "tscc-counts";
export const COUNTS_VERSION = 1;

export interface FileHash {
  /** As given on the command line. */
  readonly file: string;
  readonly sha256: string;
}

export interface CountsFile {
  readonly format: typeof COUNTS_FORMAT;
  readonly version: number;
  readonly tscc: string;
  readonly target: string;
  /** The artifact folder as given, and the SHA-256 of its files (names and contents). */
  readonly artifact: FileHash;
  readonly inputs: Readonly<Record<string, FileHash>>;
  readonly labels: FileHash | null;
  /** Samples of the whole input set. */
  readonly samples: number;
  /** Backend run options (-O and the flags that set them), without --jobs and --shard. */
  readonly options: Readonly<Record<string, string>>;
  readonly shard: { readonly index: number; readonly count: number; readonly start: number; readonly end: number };
  readonly counts: RunCounts;
}

export function hashFile(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** SHA-256 over the artifact's files in name order (each relative name, a NUL, its size and bytes). */
export function hashArtifact(dir: string): string {
  const h = createHash("sha256");
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
  for (const file of walk(dir).map((f) => relative(dir, f).split("\\").join("/")).sort()) {
    const bytes = readFileSync(join(dir, file));
    h.update(`${file}\0${bytes.length}\0`).update(bytes);
  }
  return h.digest("hex");
}

/** The counts file of a finished run (`shard` absent: the whole input set, shard 0 of 1). */
export function countsFile(a: {
  target: string;
  /** The artifact folder as given, and its path. */
  artifact: string;
  artifactDir: string;
  /** Input files by model input name: paths, and as given. */
  inputs: Readonly<Record<string, string>>;
  shownInputs: Readonly<Record<string, string>>;
  labels: string | undefined;
  labelsPath: string | undefined;
  options: Readonly<Record<string, string>>;
  total: number;
  shard: { index: number; count: number; start: number; end: number } | undefined;
  counts: RunCounts;
}): CountsFile {
  return {
    format: COUNTS_FORMAT,
    version: COUNTS_VERSION,
    tscc: VERSION,
    target: a.target,
    artifact: { file: a.artifact, sha256: hashArtifact(a.artifactDir) },
    inputs: Object.fromEntries(Object.entries(a.inputs).map(([name, path]) => [name, { file: a.shownInputs[name] ?? path, sha256: hashFile(path) }])),
    labels: a.labels && a.labelsPath ? { file: a.labels, sha256: hashFile(a.labelsPath) } : null,
    samples: a.total,
    options: Object.fromEntries(Object.entries(a.options).sort(([x], [y]) => (x < y ? -1 : 1))),
    shard: a.shard ?? { index: 0, count: 1, start: 0, end: a.total },
    counts: a.counts,
  };
}

function bad(file: string, why: string): never {
  throw new TsccError(fmt(M.CountsFile, [why], { file }));
}

/** Read and check one counts file (`shown` names it in diagnostics). */
export function readCountsFile(path: string, shown: string): CountsFile {
  if (!existsSync(path) || !statSync(path).isFile()) throw new TsccError(fmt(M.FileNotFound, [shown]));
  let j: Partial<CountsFile>;
  try {
    j = JSON.parse(readFileSync(path, "utf8")) as Partial<CountsFile>;
  } catch (e) {
    return bad(shown, `not JSON (${(e as Error).message})`);
  }
  if (j?.format !== COUNTS_FORMAT) bad(shown, `not a tscc counts file (written by tscc run --save-counts)`);
  if (j.version !== COUNTS_VERSION) bad(shown, `counts format version ${j.version}; this tscc reads version ${COUNTS_VERSION}`);
  const sh = j.shard;
  const c = j.counts;
  if (!sh || ![sh.index, sh.count, sh.start, sh.end].every(Number.isInteger) || typeof j.samples !== "number" || !c || typeof c.samples !== "number" || typeof c.sums !== "object" || !j.artifact?.sha256 || typeof j.target !== "string") {
    bad(shown, "the file is incomplete (shard, samples, counts, artifact or target missing)");
  }
  if (c.samples !== sh.end - sh.start) bad(shown, `it counts ${c.samples} samples but shard ${sh.index}/${sh.count} holds samples ${sh.start}…${sh.end - 1}`);
  return j as CountsFile;
}

const stable = (o: unknown): string => JSON.stringify(o, (_k, v: unknown) => (v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));

/**
 * Check that the parts are the n shards of one evaluation and merge their counts. `names[i]` names
 * part i in diagnostics.
 */
export function mergeCountsFiles(parts: readonly CountsFile[], names: readonly string[]): { target: string; counts: RunCounts } {
  const first = parts[0]!;
  const same: [string, (p: CountsFile) => unknown][] = [
    ["target", (p) => p.target],
    ["artifact (SHA-256 of its files)", (p) => p.artifact.sha256],
    ["input data (SHA-256)", (p) => Object.entries(p.inputs ?? {}).map(([k, v]) => [k, v.sha256])],
    ["labels (SHA-256)", (p) => p.labels?.sha256 ?? null],
    ["run options", (p) => stable(p.options)],
    ["number of samples", (p) => p.samples],
    ["number of shards", (p) => p.shard.count],
  ];
  parts.forEach((p, i) => {
    for (const [what, get] of same) {
      if (stable(get(p)) !== stable(get(first))) bad(names[i]!, `not the same evaluation as ${names[0]}: ${what} ${stable(get(p))} here, ${stable(get(first))} there`);
    }
  });
  const n = first.shard.count;
  const byIndex = new Map<number, number>();
  parts.forEach((p, i) => {
    const k = p.shard.index;
    if (byIndex.has(k)) bad(names[i]!, `shard ${k}/${n} is given twice (also ${names[byIndex.get(k)!]})`);
    byIndex.set(k, i);
  });
  const missing = Array.from({ length: n }, (_, k) => k).filter((k) => !byIndex.has(k));
  if (missing.length) throw new TsccError(fmt(M.CountsFile, [`shard${missing.length > 1 ? "s" : ""} ${missing.map((k) => `${k}/${n}`).join(", ")} missing (${parts.length} of ${n} parts given)`]));
  let next = 0;
  const ordered = Array.from({ length: n }, (_, k) => byIndex.get(k)!);
  for (const i of ordered) {
    const s = parts[i]!.shard;
    if (s.start !== next) bad(names[i]!, `shard ${s.index}/${n} starts at sample ${s.start}, but the shards before it end at ${next}`);
    next = s.end;
  }
  if (next !== first.samples) bad(names[ordered[n - 1]!]!, `the shards end at sample ${next} of ${first.samples}`);
  const merged = mergeCounts(ordered.map((i) => parts[i]!.counts));
  if ("problem" in merged) bad(names[ordered[merged.part]!]!, `its counts do not match ${names[ordered[0]!]}'s: ${merged.problem}`);
  return { target: first.target, counts: merged };
}
