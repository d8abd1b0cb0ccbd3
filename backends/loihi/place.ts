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

/** Hop-weighted traffic (Σ messages × weighted hops) of a placement. */
export function placementCost(part: Partition, slots: readonly Slot[], prof: Profile, w: Weights): number {
  let cost = 0;
  part.traffic.forEach((src, dst, msgs) => {
    cost += msgs * hopCost(slots[src]!, slots[dst]!, prof, w);
  });
  for (const [dst, msgs] of part.hostTraffic) cost += msgs * hopCost(HOST, slots[dst]!, prof, w);
  return cost;
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
  // Dataflow order: by the first layer (population id) on the core, then its first tile index.
  const key = part.cores.map((c) => {
    const t = c.tiles[0];
    const ck = c.clocks[0];
    return t ? [t.pop.id, t.index] : ck ? [ck.pop.id, -1] : [1e9, 0];
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
  tr.forEach((src, dst) => {
    if (src === dst) return;
    deg[src + 1]!++;
    deg[dst + 1]!++;
  });
  for (let c = 0; c < n; c++) deg[c + 1]! += deg[c]!;
  const adjStart = deg.slice();
  const fill = deg.slice(0, n);
  const adjTo = new Int32Array(adjStart[n]!);
  const adjM = new Float64Array(adjStart[n]!);
  tr.forEach((src, dst, m) => {
    if (src === dst) return;
    adjTo[fill[src]!] = dst;
    adjM[fill[src]!++] = m;
    adjTo[fill[dst]!] = src;
    adjM[fill[dst]!++] = m;
  });
  const host = new Float64Array(n);
  for (const [dst, m] of part.hostTraffic) host[dst] = m;
  const costOf = (c: number, pos: number, other: number, otherPos: number): number => {
    const s = slotTable[pos]!;
    let cost = host[c]! * hopCost(HOST, s, prof, w);
    for (let k = adjStart[c]!; k < adjStart[c + 1]!; k++) {
      const d = adjTo[k]!;
      const dp = d === other ? otherPos : slotOf[d]!;
      cost += adjM[k]! * hopCost(s, slotTable[dp]!, prof, w);
    }
    return cost;
  };
  const rand = rng(0x5eed + n);
  const proposals = budget ?? Math.min(400_000, 60 * total);
  const window = Math.max(8, Math.min(total, 4 * prof.cores_per_chip));
  // A deterministic work budget (neighbour visits), so big mappings stay fast.
  let work = 0;
  const maxWork = 40_000_000;
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
      before += costOf(ca, a, cb, b);
      after += costOf(ca, b, cb, a);
    }
    if (cb >= 0) {
      before += costOf(cb, b, ca, a);
      after += costOf(cb, a, ca, b);
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
