/**
 * Evaluation counts that merge exactly across shards of a data set (`tscc run --shard i/n --save-counts`,
 * `tscc merge`): integer totals merged by addition, maxima by maximum, and facts every shard must agree
 * on. A backend that produces them (`RunReport.counts`) turns merged counts back into the metrics of one
 * run (`Backend.metricsFromCounts`), so n shards report exactly what one run over all samples reports.
 *
 * Shards are contiguous runs of whole chunks (the samples an engine call takes), so every engine call of
 * a shard is one of the one-run's calls: results agree bit for bit even where an engine's arithmetic
 * depends on the batch it is given.
 */

export type CountScalar = string | number | boolean;

export interface CountGroup {
  /** Exact integer totals (held in doubles, exact below 2^53), merged by addition. */
  readonly sums: Readonly<Record<string, number>>;
  /** Merged by maximum. */
  readonly maxima?: Readonly<Record<string, number>>;
  /** Facts that are the same for every shard (window, coding, names); merging checks they agree. */
  readonly fixed?: Readonly<Record<string, CountScalar>>;
}

export interface RunCounts extends CountGroup {
  /** Samples counted. */
  readonly samples: number;
  /** Per layer, in a fixed order. */
  readonly layers?: readonly CountGroup[];
}

/** `"i/n"` → {index i, count n}, 0 ≤ i < n; undefined if the text is not of that form. */
export function parseShard(text: string): { index: number; count: number } | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) return undefined;
  const index = Number(m[1]);
  const count = Number(m[2]);
  return count >= 1 && index < count ? { index, count } : undefined;
}

/**
 * Samples [start, end) of shard `index` of `count` over `total` samples cut into chunks of `chunk`:
 * shard k takes chunks [⌊kC/n⌋, ⌊(k+1)C/n⌋) of the C = ⌈total/chunk⌉ chunks, so shards are disjoint,
 * cover every sample once, differ in size by at most one chunk, and start on a chunk boundary.
 */
export function shardRange(total: number, chunk: number, index: number, count: number): { start: number; end: number } {
  const chunks = Math.ceil(total / chunk);
  const first = Math.floor((index * chunks) / count);
  const last = Math.floor(((index + 1) * chunks) / count);
  return { start: Math.min(total, first * chunk), end: Math.min(total, last * chunk) };
}

/** Chunk boundaries [start, end) of samples [from, to), the chunks starting at multiples of `chunk`. */
export function chunksOf(from: number, to: number, chunk: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (let s = from; s < to; ) {
    const end = Math.min(to, (Math.floor(s / chunk) + 1) * chunk);
    out.push({ start: s, end });
    s = end;
  }
  return out;
}

function sameKeys(a: object | undefined, b: object | undefined): boolean {
  const ka = Object.keys(a ?? {}).sort();
  const kb = Object.keys(b ?? {}).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

/** Why `part` cannot be merged into a group shaped like `ref`, or undefined. */
function groupMismatch(ref: CountGroup, part: CountGroup, where: string): string | undefined {
  if (!sameKeys(ref.sums, part.sums) || !sameKeys(ref.maxima, part.maxima) || !sameKeys(ref.fixed, part.fixed)) return `${where}: the counted quantities differ`;
  for (const [k, v] of Object.entries(ref.fixed ?? {})) if (part.fixed![k] !== v) return `${where}: ${k} is ${JSON.stringify(part.fixed![k])}, not ${JSON.stringify(v)}`;
  for (const [k, v] of Object.entries(part.sums)) if (!Number.isFinite(v)) return `${where}: ${k} is not a number`;
  return undefined;
}

function mergeGroups(groups: readonly CountGroup[]): CountGroup {
  const first = groups[0]!;
  const sums: Record<string, number> = {};
  for (const k of Object.keys(first.sums)) sums[k] = groups.reduce((s, g) => s + g.sums[k]!, 0);
  const out: { sums: Record<string, number>; maxima?: Record<string, number>; fixed?: Record<string, CountScalar> } = { sums };
  if (first.maxima) {
    out.maxima = {};
    for (const k of Object.keys(first.maxima)) out.maxima[k] = Math.max(...groups.map((g) => g.maxima![k]!));
  }
  if (first.fixed) out.fixed = { ...first.fixed };
  return out;
}

/**
 * Merge counts of disjoint sample sets (chunks of one run, or shards). Returns the merged counts, or
 * `{ problem, part }`: why part `part` (an index into `parts`) does not fit the first.
 */
export function mergeCounts(parts: readonly RunCounts[]): RunCounts | { problem: string; part: number } {
  const first = parts[0]!;
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i]!;
    const why = groupMismatch(first, p, "totals") ?? ((first.layers?.length ?? -1) !== (p.layers?.length ?? -1) ? "the number of layers differs" : undefined) ?? first.layers?.map((l, j) => groupMismatch(l, p.layers![j]!, `layer ${j}`)).find((x) => x !== undefined);
    if (why) return { problem: why, part: i };
  }
  const merged = mergeGroups(parts);
  return {
    samples: parts.reduce((s, p) => s + p.samples, 0),
    ...merged,
    ...(first.layers ? { layers: first.layers.map((_, j) => mergeGroups(parts.map((p) => p.layers![j]!))) } : {}),
  };
}
