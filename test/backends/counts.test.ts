/**
 * Shards and count merging (backends/counts.ts): shards are disjoint runs of whole chunks that cover
 * every sample once; merging sums, takes maxima, and refuses parts that do not belong together.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { chunksOf, mergeCounts, parseShard, shardRange, type RunCounts } from "../../backends/counts.js";

describe("shards", () => {
  test("i/n parses for 0 <= i < n only", () => {
    expect(parseShard("0/1")).toEqual({ index: 0, count: 1 });
    expect(parseShard("3/4")).toEqual({ index: 3, count: 4 });
    for (const bad of ["4/4", "1/0", "-1/2", "1", "a/b", "1/2/3", ""]) expect(parseShard(bad), bad).toBeUndefined();
  });

  test("the n shards cover [0, total) in order, each starting on a chunk boundary, sizes within one chunk", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 40 }), (total, chunk, n) => {
        let next = 0;
        const sizes: number[] = [];
        for (let i = 0; i < n; i++) {
          const { start, end } = shardRange(total, chunk, i, n);
          expect(start).toBe(next);
          expect(start % chunk === 0 || start === total).toBe(true);
          next = end;
          sizes.push(end - start);
        }
        expect(next).toBe(total);
        // Whole chunks per shard differ by at most one (the last chunk may be short).
        const chunks = sizes.map((s) => Math.ceil(s / chunk));
        expect(Math.max(...chunks) - Math.min(...chunks)).toBeLessThanOrEqual(1);
      }),
    );
  });

  test("a shard's chunks are exactly the one-run chunks it contains", () => {
    const all = chunksOf(0, 1000, 64);
    const shard = shardRange(1000, 64, 1, 3);
    expect(chunksOf(shard.start, shard.end, 64)).toEqual(all.filter((c) => c.start >= shard.start && c.end <= shard.end));
    expect(all.at(-1)).toEqual({ start: 960, end: 1000 });
  });
});

describe("mergeCounts", () => {
  const part = (samples: number, hits: number, max: number, window = 8): RunCounts => ({
    samples,
    sums: { correct: hits },
    maxima: { err: max },
    fixed: { window },
    layers: [{ sums: { spikes: 10 * samples }, fixed: { name: "conv" } }],
  });

  test("sums totals and layers, takes maxima, keeps the fixed facts", () => {
    expect(mergeCounts([part(3, 2, 0.5), part(5, 4, 0.25)])).toEqual({ samples: 8, sums: { correct: 6 }, maxima: { err: 0.5 }, fixed: { window: 8 }, layers: [{ sums: { spikes: 80 }, fixed: { name: "conv" } }] });
  });

  test("refuses a part whose fixed facts or counted quantities differ, naming it", () => {
    expect(mergeCounts([part(3, 2, 0.5), part(5, 4, 0.25, 16)])).toEqual({ problem: "totals: window is 16, not 8", part: 1 });
    const other: RunCounts = { ...part(5, 4, 0.25), sums: { agree: 1 } };
    expect(mergeCounts([part(3, 2, 0.5), part(1, 1, 0), other])).toEqual({ problem: "totals: the counted quantities differ", part: 2 });
  });
});
