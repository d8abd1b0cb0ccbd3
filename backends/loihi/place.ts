/**
 * Placement: cores onto (chip, tile, core slot) of a mesh, minimising hop-weighted spike traffic.
 *
 * Geometry: each chip is a tiles_x × tiles_y mesh of tiles with cores_per_tile cores each; chips sit
 * in a row-major grid chip_grid_x wide, so global tile coordinates are (chipX·tiles_x + x,
 * chipY·tiles_y + y). Host input enters at global tile (0, 0). Distances are X-then-Y (dimension
 * order) hop counts; E-W and N-S hops are weighted by their energies and a chip crossing adds its own.
 *
 * Naive placement: cores in partition order into slots in row-major order (chip by chip, tile by tile).
 * tscc's placement: cores ordered by their first layer and tile (dataflow order) along a serpentine
 * curve through the tiles, then pairwise swaps (deterministic pseudo-random proposals, each accepted
 * only if it lowers the hop-weighted cost) for a fixed budget of proposals.
 */
import type { Partition } from "./partition.js";
import type { Profile } from "./profile.js";

export interface Slot {
  readonly chip: number;
  /** Global tile coordinates. */
  readonly gx: number;
  readonly gy: number;
  /** Core index within its tile. */
  readonly k: number;
}

export interface Placement {
  /** Per core: its slot. */
  readonly slots: Slot[];
  readonly chips: number;
}

export interface Weights {
  readonly ew: number;
  readonly ns: number;
  readonly chip: number;
}

export function chipsFor(cores: number, prof: Profile): number {
  return Math.max(1, Math.ceil(cores / prof.cores_per_chip));
}

/** Slot of the i-th position of the row-major slot order. */
export function rowMajorSlot(i: number, prof: Profile): Slot {
  const chip = Math.floor(i / prof.cores_per_chip);
  const r = i - chip * prof.cores_per_chip;
  const tile = Math.floor(r / prof.cores_per_tile);
  const k = r - tile * prof.cores_per_tile;
  const tx = tile % prof.tiles_x;
  const ty = Math.floor(tile / prof.tiles_x);
  const cx = chip % prof.chip_grid_x;
  const cy = Math.floor(chip / prof.chip_grid_x);
  return { chip, gx: cx * prof.tiles_x + tx, gy: cy * prof.tiles_y + ty, k };
}

/** Slot of the i-th position of a serpentine order: chips in a serpentine, tiles snake inside each chip. */
export function serpentineSlot(i: number, prof: Profile): Slot {
  const chip = Math.floor(i / prof.cores_per_chip);
  const r = i - chip * prof.cores_per_chip;
  const tile = Math.floor(r / prof.cores_per_tile);
  const k = r - tile * prof.cores_per_tile;
  const row = Math.floor(tile / prof.tiles_x);
  const col = tile % prof.tiles_x;
  const cy = Math.floor(chip / prof.chip_grid_x);
  const cxr = chip % prof.chip_grid_x;
  const cx = cy % 2 === 0 ? cxr : prof.chip_grid_x - 1 - cxr;
  // Snake direction inside the chip alternates so that the last tile of a chip neighbours the next chip.
  const tx = row % 2 === 0 ? col : prof.tiles_x - 1 - col;
  const flip = cx % 2 === 1;
  const ty = flip ? prof.tiles_y - 1 - row : row;
  return { chip: cy * prof.chip_grid_x + cx, gx: cx * prof.tiles_x + tx, gy: cy * prof.tiles_y + ty, k };
}

export function hopCost(a: Slot, b: Slot, prof: Profile, w: Weights): number {
  const dx = Math.abs(a.gx - b.gx);
  const dy = Math.abs(a.gy - b.gy);
  const chips = Math.abs(Math.floor(a.gx / prof.tiles_x) - Math.floor(b.gx / prof.tiles_x)) + Math.abs(Math.floor(a.gy / prof.tiles_y) - Math.floor(b.gy / prof.tiles_y));
  return dx * w.ew + dy * w.ns + chips * w.chip;
}

const HOST: Slot = { chip: 0, gx: 0, gy: 0, k: 0 };

/**
 * Hop-weighted traffic (Σ messages × weighted hops) of two placements of one partition (the mapping and
 * naive sequential placement), in one pass over the core pairs.
 */
export function placementCost2(part: Partition, slotsA: readonly Slot[], slotsB: readonly Slot[], prof: Profile, w: Weights): [number, number] {
  const n = slotsA.length;
  // Per core: gx, gy, chip x, chip y of placement A then of placement B.
  const co = new Int32Array(8 * n);
  for (let i = 0; i < n; i++) {
    const a = slotsA[i]!;
    const b = slotsB[i]!;
    co[8 * i] = a.gx;
    co[8 * i + 1] = a.gy;
    co[8 * i + 2] = Math.floor(a.gx / prof.tiles_x);
    co[8 * i + 3] = Math.floor(a.gy / prof.tiles_y);
    co[8 * i + 4] = b.gx;
    co[8 * i + 5] = b.gy;
    co[8 * i + 6] = Math.floor(b.gx / prof.tiles_x);
    co[8 * i + 7] = Math.floor(b.gy / prof.tiles_y);
  }
  const { start, dst, msgs } = part.traffic;
  const ew = w.ew;
  const ns = w.ns;
  const ch = w.chip;
  let costA = 0;
  let costB = 0;
  for (let a = 0; a < part.traffic.n; a++) {
    const o = 8 * a;
    const ax = co[o]!;
    const ay = co[o + 1]!;
    const acx = co[o + 2]!;
    const acy = co[o + 3]!;
    const bx0 = co[o + 4]!;
    const by0 = co[o + 5]!;
    const bcx0 = co[o + 6]!;
    const bcy0 = co[o + 7]!;
    for (let k = start[a]!; k < start[a + 1]!; k++) {
      const q = 8 * dst[k]!;
      const m = msgs[k]!;
      costA += m * (Math.abs(ax - co[q]!) * ew + Math.abs(ay - co[q + 1]!) * ns + (Math.abs(acx - co[q + 2]!) + Math.abs(acy - co[q + 3]!)) * ch);
      costB += m * (Math.abs(bx0 - co[q + 4]!) * ew + Math.abs(by0 - co[q + 5]!) * ns + (Math.abs(bcx0 - co[q + 6]!) + Math.abs(bcy0 - co[q + 7]!)) * ch);
    }
  }
  for (const [d, m] of part.hostTraffic) costA += m * hopCost(HOST, slotsA[d]!, prof, w);
  for (const [d, m] of part.hostTraffic) costB += m * hopCost(HOST, slotsB[d]!, prof, w);
  return [costA, costB];
}

export function naivePlacement(part: Partition, prof: Profile): Placement {
  const n = part.cores.length;
  return { slots: Array.from({ length: n }, (_, i) => rowMajorSlot(i, prof)), chips: chipsFor(n, prof) };
}

/** xorshift32, deterministic. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

export function placeCores(part: Partition, prof: Profile, w: Weights, budget?: number): Placement {
  const n = part.cores.length;
  const chips = chipsFor(n, prof);
  // Dataflow order: by the first layer (population id) on the core, then its first tile index. A core of
  // relays only goes among the cores of the layer its first relay feeds, spread evenly over that
  // layer's tiles in relay order (a relay sends one message per source spike in and one per consumer
  // tile out, so it belongs next to its consumers).
  const tilesOfPop = new Map<number, number>();
  for (const t of part.tiles) tilesOfPop.set(t.pop.id, (tilesOfPop.get(t.pop.id) ?? 0) + 1);
  const relaysOfGroup = new Map<number, number>();
  for (const r of part.relays) relaysOfGroup.set(r.group.id, (relaysOfGroup.get(r.group.id) ?? 0) + 1);
  const relayRank = new Map<object, number>();
  const seenOfGroup = new Map<number, number>();
  for (const r of part.relays) {
    const k = seenOfGroup.get(r.group.id) ?? 0;
    relayRank.set(r, k);
    seenOfGroup.set(r.group.id, k + 1);
  }
  const key = part.cores.map((c) => {
    const t = c.tiles[0];
    const ck = c.clocks[0];
    const r = c.relays[0];
    if (t) return [t.pop.id, t.index];
    if (ck) return [ck.pop.id, -1];
    if (r) return [r.group.target.id, ((relayRank.get(r) ?? 0) / (relaysOfGroup.get(r.group.id) ?? 1)) * (tilesOfPop.get(r.group.target.id) ?? 1) - 0.5];
    return [1e9, 0];
  });
  const order = part.cores.map((_, i) => i).sort((a, b) => key[a]![0]! - key[b]![0]! || key[a]![1]! - key[b]![1]! || a - b);
  const slotOf: number[] = new Array<number>(n);
  order.forEach((core, pos) => (slotOf[core] = pos));
  const total = chips * prof.cores_per_chip;
  const slotTable = Array.from({ length: total }, (_, i) => serpentineSlot(i, prof));
  const coreAt = new Int32Array(total).fill(-1);
  for (let c = 0; c < n; c++) coreAt[slotOf[c]!] = c;
  // Neighbour lists (both directions, compressed rows; a pair with traffic both ways appears twice, which
  // sums the same) for incremental cost.
  const tr = part.traffic;
  const deg = new Int32Array(n + 1);
  for (let a = 0; a < n; a++) {
    for (let k = tr.start[a]!; k < tr.start[a + 1]!; k++) {
      const b = tr.dst[k]!;
      if (a === b) continue;
      deg[a + 1]!++;
      deg[b + 1]!++;
    }
  }
  for (let c = 0; c < n; c++) deg[c + 1]! += deg[c]!;
  const adjStart = deg.slice();
  const fill = deg.slice(0, n);
  const adjTo = new Int32Array(adjStart[n]!);
  // Messages per pair are integer counts, far below 2^24 on any mapping that fits its cores (at most
  // out-axons × 2 spikes per source core), so float32 holds them exactly in a third less memory
  // (VGG-16 on Loihi 1: 34 million entries); float64 otherwise.
  let exact32 = true;
  for (let k = 0; k < tr.pairs && exact32; k++) exact32 = Number.isInteger(tr.msgs[k]!) && tr.msgs[k]! < 2 ** 24;
  const adjM = exact32 ? new Float32Array(adjStart[n]!) : new Float64Array(adjStart[n]!);
  for (let a = 0; a < n; a++) {
    for (let k = tr.start[a]!; k < tr.start[a + 1]!; k++) {
      const b = tr.dst[k]!;
      if (a === b) continue;
      const m = tr.msgs[k]!;
      adjTo[fill[a]!] = b;
      adjM[fill[a]!++] = m;
      adjTo[fill[b]!] = a;
      adjM[fill[b]!++] = m;
    }
  }
  const host = new Float64Array(n);
  for (const [dst, m] of part.hostTraffic) host[dst] = m;
  // Slot coordinates in typed arrays: the search visits tens of millions of neighbours on big mappings.
  const sx = new Int32Array(total);
  const sy = new Int32Array(total);
  const scx = new Int32Array(total);
  const scy = new Int32Array(total);
  const shost = new Float64Array(total);
  for (let i = 0; i < total; i++) {
    const sl = slotTable[i]!;
    sx[i] = sl.gx;
    sy[i] = sl.gy;
    scx[i] = Math.floor(sl.gx / prof.tiles_x);
    scy[i] = Math.floor(sl.gy / prof.tiles_y);
    shost[i] = hopCost(HOST, sl, prof, w);
  }
  // costOf(c, pos, other, otherPos) and costOf(c, newPos, other, otherNewPos) in one pass over c's
  // neighbours (each sum accumulates in the same order as costOf's, so the values are identical).
  let cBefore = 0;
  let cAfter = 0;
  const costBoth = (c: number, pos: number, newPos: number, other: number, otherPos: number, otherNewPos: number): void => {
    let before = host[c]! * shost[pos]!;
    let after = host[c]! * shost[newPos]!;
    const x = sx[pos]!;
    const y = sy[pos]!;
    const ccx = scx[pos]!;
    const ccy = scy[pos]!;
    const x2 = sx[newPos]!;
    const y2 = sy[newPos]!;
    const ccx2 = scx[newPos]!;
    const ccy2 = scy[newPos]!;
    for (let k = adjStart[c]!; k < adjStart[c + 1]!; k++) {
      const d = adjTo[k]!;
      const m = adjM[k]!;
      let dp: number;
      let dp2: number;
      if (d === other) {
        dp = otherPos;
        dp2 = otherNewPos;
      } else dp = dp2 = slotOf[d]!;
      before += m * (Math.abs(x - sx[dp]!) * w.ew + Math.abs(y - sy[dp]!) * w.ns + (Math.abs(ccx - scx[dp]!) + Math.abs(ccy - scy[dp]!)) * w.chip);
      after += m * (Math.abs(x2 - sx[dp2]!) * w.ew + Math.abs(y2 - sy[dp2]!) * w.ns + (Math.abs(ccx2 - scx[dp2]!) + Math.abs(ccy2 - scy[dp2]!)) * w.chip);
    }
    cBefore = before;
    cAfter = after;
  };
  const rand = rng(0x5eed + n);
  const proposals = budget ?? Math.min(400_000, 60 * total);
  const window = Math.max(8, Math.min(total, 4 * prof.cores_per_chip));
  // A deterministic work budget, so big mappings stay fast: the neighbour lists (2 entries per core
  // pair) plus the search's neighbour visits stay within 50 million, with 20 to 40 million visits.
  let work = 0;
  const maxWork = Math.min(40_000_000, Math.max(20_000_000, 50_000_000 - adjStart[n]!));
  for (let it = 0; it < proposals && work < maxWork; it++) {
    const a = Math.floor(rand() * total);
    const b = Math.min(total - 1, Math.max(0, a + Math.floor((rand() * 2 - 1) * window)));
    if (a === b) continue;
    const ca = coreAt[a]!;
    const cb = coreAt[b]!;
    if (ca < 0 && cb < 0) continue;
    let before = 0;
    let after = 0;
    work += (ca >= 0 ? adjStart[ca + 1]! - adjStart[ca]! : 0) + (cb >= 0 ? adjStart[cb + 1]! - adjStart[cb]! : 0);
    if (ca >= 0) {
      costBoth(ca, a, b, cb, b, a);
      before += cBefore;
      after += cAfter;
    }
    if (cb >= 0) {
      costBoth(cb, b, a, ca, a, b);
      before += cBefore;
      after += cAfter;
    }
    // The pair's own edge is counted from both ends before and after: the comparison stays exact.
    if (after < before - 1e-9) {
      coreAt[a] = cb;
      coreAt[b] = ca;
      if (ca >= 0) slotOf[ca] = b;
      if (cb >= 0) slotOf[cb] = a;
    }
  }
  return { slots: Array.from({ length: n }, (_, c) => slotTable[slotOf[c]!]!), chips };
}
