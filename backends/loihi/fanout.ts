/**
 * Exact fan-out: how many tiles of a consumer read each source neuron (docs/loihi.md "Fan-out").
 *
 * Every tile of a consumer has its own input axons, so a source compartment needs one output-axon
 * entry per consumer tile that reads it (or, when the group is relayed, one per relay compartment and
 * the relays carry the entries). For a uniform tiling of the consumer the count factorises over the
 * source coordinates:
 *
 *   D(c, y, x) = cg[c] · rb[y] · cb[x]
 *
 * - conv, pool and 2-d one-to-one groups reading one [C, H, W] population: cg[c] = consumer channel
 *   groups whose atoms include c, rb[y] / cb[x] = consumer row / column bands whose receptive field
 *   includes row y / column x;
 * - dense groups and relabelled sources (a reshape or concat feeding a conv): every consumer tile reads
 *   every source neuron (cg = tiles, rb = cb = 1);
 * - flat one-to-one groups: one consumer tile per neuron.
 *
 * Sums over any box of source coordinates are products of prefix sums, so a tile's (or a relay run's)
 * out-axon entries cost O(1) to count.
 */
import type { Group, Network, Pop } from "./model.js";
import { polarities, type Profile } from "./profile.js";
import { axisNeeds, dims, tileCount, type Box, type Tile, type Tiling } from "./resources.js";


/** Per-axis destination counts of one (group, source population) pair under a consumer tiling. */
export interface Fanout {
  readonly group: Group;
  readonly src: Pop;
  /** Output-axon entries per destination: source polarities (1 for pools on Option A: ON only). */
  readonly per: number;
  /** How the consumer reads the source: `conv` (receptive fields), `all` (every tile), `one` (one-to-one). */
  readonly kind: "conv" | "all" | "one";
  readonly cg: Int32Array;
  readonly rb: Int32Array;
  readonly cb: Int32Array;
  /** Prefix sums (length n + 1) of the counts and of the non-zero indicators. */
  readonly cgS: Float64Array;
  readonly rbS: Float64Array;
  readonly cbS: Float64Array;
  readonly cgN: Float64Array;
  readonly rbN: Float64Array;
  readonly cbN: Float64Array;
  /** Largest destination count of one neuron. */
  readonly max: number;
}

function prefix(a: Int32Array): [Float64Array, Float64Array] {
  const s = new Float64Array(a.length + 1);
  const n = new Float64Array(a.length + 1);
  for (let i = 0; i < a.length; i++) {
    s[i + 1] = s[i]! + a[i]!;
    n[i + 1] = n[i]! + (a[i]! > 0 ? 1 : 0);
  }
  return [s, n];
}

function maxOf(a: Int32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (a[i]! > m) m = a[i]!;
  return m;
}

/** Output-axon entries per destination tile of a group (source polarities; OR gates listen to ON only). */
export function entriesPerDest(g: Group, prof: Profile): number {
  return g.kind === "pool" && prof.tsc.synapse === "option-a" ? 1 : polarities(prof);
}

/** Whether a group reads a single [C, H, W] population through receptive fields (the `conv` fan-out). */
export function isSimpleConv(net: Network, g: Group): boolean {
  const pieces = net.resolve(g.source);
  return !!g.geo && pieces.length === 1 && pieces[0]!.map === null && pieces[0]!.offset === 0 && pieces[0]!.pop.shape.length === 3;
}

const needsCache = new Map<string, number[][]>();

/** Sorted needed input coordinates (of n) of each band of r outputs (of O). */
export function bandNeeds(n: number, O: number, r: number, k: number, s: number, pad: number, d: number): number[][] {
  const key = `${n},${O},${r},${k},${s},${pad},${d}`;
  let v = needsCache.get(key);
  if (!v) {
    if (needsCache.size > 10_000) needsCache.clear();
    v = [];
    for (let o0 = 0; o0 < O; o0 += r) v.push([...axisNeeds(n, o0, Math.min(O, o0 + r), k, s, pad, d).keys()].sort((a, b) => a - b));
    needsCache.set(key, v);
  }
  return v;
}

const countsCache = new Map<string, Int32Array>();

/** Bands of r outputs (of O) whose receptive fields include each of the n input coordinates (shared: do not modify). */
export function bandCounts(n: number, O: number, r: number, k: number, s: number, pad: number, d: number): Int32Array {
  const key = `${n},${O},${r},${k},${s},${pad},${d}`;
  let c = countsCache.get(key);
  if (!c) {
    if (countsCache.size > 10_000) countsCache.clear();
    c = new Int32Array(n);
    for (const band of bandNeeds(n, O, r, k, s, pad, d)) for (const i of band) c[i]!++;
    countsCache.set(key, c);
  }
  return c;
}

/** Consumer channel groups (tiles of mc channels) whose atoms include each source channel. */
function channelCounts(g: Group, C: number, mc: number): Int32Array {
  const geo = g.geo!;
  const Cg = geo.C / geo.group;
  const Mg = geo.M / geo.group;
  const out = new Int32Array(C);
  for (let c = 0; c < C; c++) {
    const gr = Math.floor(c / Cg);
    const lo = gr * Mg;
    const hi = Math.min(geo.M, (gr + 1) * Mg) - 1;
    out[c] = Math.floor(hi / mc) - Math.floor(lo / mc) + 1;
  }
  return out;
}

/** Fan-out of every (group, source population) of the network whose consumer tiling is known. */
export function fanoutOf(net: Network, prof: Profile, g: Group, t: Tiling): Fanout[] {
  const out: Fanout[] = [];
  const per = entriesPerDest(g, prof);
  const simple = isSimpleConv(net, g);
  for (const piece of net.resolve(g.source)) {
    const src = piece.pop;
    if (src.kind === "input") continue;
    const [C, H, W] = dims(src);
    let cg: Int32Array;
    let rb: Int32Array;
    let cb: Int32Array;
    let kind: Fanout["kind"];
    if (simple) {
      const geo = g.geo!;
      const [, OH, OW] = dims(g.target);
      kind = "conv";
      cg = channelCounts(g, C, t.mc);
      rb = bandCounts(H, OH, t.hr, geo.kh, geo.sh, geo.pt, geo.dh);
      cb = bandCounts(W, OW, t.wr, geo.kw, geo.sw, geo.pl, geo.dw);
    } else if (g.kind === "scale") {
      kind = "one";
      cg = new Int32Array(C).fill(1);
      rb = new Int32Array(H).fill(1);
      cb = new Int32Array(W).fill(1);
    } else {
      kind = "all";
      cg = new Int32Array(C).fill(tileCount(g.target, t));
      rb = new Int32Array(H).fill(1);
      cb = new Int32Array(W).fill(1);
    }
    const [cgS, cgN] = prefix(cg);
    const [rbS, rbN] = prefix(rb);
    const [cbS, cbN] = prefix(cb);
    out.push({ group: g, src, per, kind, cg, rb, cb, cgS, rbS, cbS, cgN, rbN, cbN, max: maxOf(cg) * maxOf(rb) * maxOf(cb) });
  }
  return out;
}

/** Σ over a box of the destination counts (consumer tiles reading each neuron). */
export function boxDest(f: Fanout, b: Box): number {
  return (f.cgS[b.c1]! - f.cgS[b.c0]!) * (f.rbS[b.y1]! - f.rbS[b.y0]!) * (f.cbS[b.x1]! - f.cbS[b.x0]!);
}

/** Neurons of a box that at least one consumer tile reads. */
export function boxReached(f: Fanout, b: Box): number {
  return (f.cgN[b.c1]! - f.cgN[b.c0]!) * (f.rbN[b.y1]! - f.rbN[b.y0]!) * (f.cbN[b.x1]! - f.cbN[b.x0]!);
}

/**
 * A run [i0, i1) of a tile's neurons in (channel, row, column) order as at most five boxes: the rest
 * of a row, the rest of a channel, whole channels, the start of a channel, the start of a row.
 */
export function runBoxes(t: Box, i0: number, i1: number): Box[] {
  const nx = t.x1 - t.x0;
  const ny = t.y1 - t.y0;
  const plane = nx * ny;
  const out: Box[] = [];
  let i = i0;
  const at = (k: number): [number, number, number] => {
    const c = Math.floor(k / plane);
    const r = k - c * plane;
    const y = Math.floor(r / nx);
    return [c, y, r - y * nx];
  };
  while (i < i1) {
    const [c, y, x] = at(i);
    if (x > 0 || i1 - i < nx) {
      // Part of one row.
      const n = Math.min(nx - x, i1 - i);
      out.push({ c0: t.c0 + c, c1: t.c0 + c + 1, y0: t.y0 + y, y1: t.y0 + y + 1, x0: t.x0 + x, x1: t.x0 + x + n });
      i += n;
    } else if (y > 0 || i1 - i < plane) {
      // Whole rows of one channel.
      const n = Math.min(ny - y, Math.floor((i1 - i) / nx));
      out.push({ c0: t.c0 + c, c1: t.c0 + c + 1, y0: t.y0 + y, y1: t.y0 + y + n, x0: t.x0, x1: t.x1 });
      i += n * nx;
    } else {
      const n = Math.floor((i1 - i) / plane);
      out.push({ c0: t.c0 + c, c1: t.c0 + c + n, y0: t.y0, y1: t.y1, x0: t.x0, x1: t.x1 });
      i += n * plane;
    }
  }
  return out;
}

/** Σ destinations and reached neurons of a run of a tile. */
export function runDest(f: Fanout, t: Tile, i0: number, i1: number): { dest: number; reached: number } {
  let dest = 0;
  let reached = 0;
  for (const b of runBoxes(t, i0, i1)) {
    dest += boxDest(f, b);
    reached += boxReached(f, b);
  }
  return { dest, reached };
}

/**
 * The longest run of a tile's neurons from i0 whose relays fit: at most `maxEntries` output-axon
 * entries (per × destinations) and `maxCx` relay compartments (per × reached neurons). Grows by whole
 * channels, then whole rows, then single neurons, re-trying the larger steps at each boundary.
 */
export function longestRun(f: Fanout, t: Tile, i0: number, maxEntries: number, maxCx: number): number {
  const nx = t.x1 - t.x0;
  const ny = t.y1 - t.y0;
  const plane = nx * ny;
  const total = (t.c1 - t.c0) * plane;
  const per = f.per;
  let i = i0;
  let entries = 0;
  let cx = 0;
  const fitsBox = (b: Box): boolean => {
    const e = per * boxDest(f, b);
    const x = per * boxReached(f, b);
    if (entries + e > maxEntries || cx + x > maxCx) return false;
    entries += e;
    cx += x;
    return true;
  };
  for (;;) {
    if (i >= total) return total;
    const c = Math.floor(i / plane);
    const r = i - c * plane;
    const y = Math.floor(r / nx);
    const x = r - y * nx;
    const cc = t.c0 + c;
    if (x === 0 && y === 0) {
      if (fitsBox({ c0: cc, c1: cc + 1, y0: t.y0, y1: t.y1, x0: t.x0, x1: t.x1 })) {
        i += plane;
        continue;
      }
    }
    if (x === 0) {
      if (fitsBox({ c0: cc, c1: cc + 1, y0: t.y0 + y, y1: t.y0 + y + 1, x0: t.x0, x1: t.x1 })) {
        i += nx;
        continue;
      }
    }
    if (fitsBox({ c0: cc, c1: cc + 1, y0: t.y0 + y, y1: t.y0 + y + 1, x0: t.x0 + x, x1: t.x0 + x + 1 })) {
      i += 1;
      continue;
    }
    return i;
  }
}
