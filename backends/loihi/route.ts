/**
 * Routing: dimension-order (X then Y) routes between placed cores, as Loihi's mesh routes spikes.
 * For every (source core → destination core) pair: messages, E-W and N-S hops, chip crossings; the
 * load of every directed mesh link (the congestion proxy: the most loaded link); and the traffic split
 * into intra-core, intra-tile, inter-tile and inter-chip messages.
 */
import type { Partition } from "./partition.js";
import type { Placement, Slot } from "./place.js";
import type { Profile } from "./profile.js";

export interface Route {
  /** −1: host injection. */
  readonly src: number;
  readonly dst: number;
  readonly messages: number;
  readonly hops_ew: number;
  readonly hops_ns: number;
  readonly chip_crossings: number;
}

export interface TrafficSummary {
  /** Messages (worst case: every neuron active) by where they go. */
  readonly intra_core: number;
  readonly intra_tile: number;
  readonly inter_tile: number;
  readonly inter_chip: number;
  readonly host: number;
  readonly total: number;
  /** Σ messages × hops (E-W + N-S) and the two parts. */
  readonly hop_weighted: number;
  readonly hops_ew: number;
  readonly hops_ns: number;
  readonly chip_crossings: number;
  readonly max_link_load: number;
}

const HOST: Slot = { chip: 0, gx: 0, gy: 0, k: 0 };

function chipXY(s: Slot, prof: Profile): [number, number] {
  return [Math.floor(s.gx / prof.tiles_x), Math.floor(s.gy / prof.tiles_y)];
}

/** Every route in a stable order: host injections by destination, then core pairs by source and destination. */
export function forEachRoute(part: Partition, pl: Placement, prof: Profile, visit: (r: Route) => void): void {
  const mk = (src: number, dst: number, a: Slot, b: Slot, m: number): Route => {
    const [acx, acy] = chipXY(a, prof);
    const [bcx, bcy] = chipXY(b, prof);
    return { src, dst, messages: m, hops_ew: Math.abs(a.gx - b.gx), hops_ns: Math.abs(a.gy - b.gy), chip_crossings: Math.abs(acx - bcx) + Math.abs(acy - bcy) };
  };
  for (const [dst, m] of [...part.hostTraffic.entries()].sort((a, b) => a[0] - b[0])) visit(mk(-1, dst, HOST, pl.slots[dst]!, m));
  part.traffic.forEach((src, dst, m) => visit(mk(src, dst, pl.slots[src]!, pl.slots[dst]!, m)));
}

/** Routes (core pairs plus host injections) of a partition. */
export function routeCount(part: Partition): number {
  return part.traffic.pairs + part.hostTraffic.size;
}

/**
 * The traffic summary of a placement. Link loads use difference arrays along each mesh row (E-W legs)
 * and column (N-S legs), so the cost is linear in the core pairs rather than in pairs × hops.
 */
export function routeAll(part: Partition, pl: Placement, prof: Profile): { summary: TrafficSummary } {
  let W = 1;
  let H = 1;
  for (const sl of pl.slots) {
    W = Math.max(W, sl.gx + 1);
    H = Math.max(H, sl.gy + 1);
  }
  // Directed links: E and W legs per row (index y·(W+1) + x), N-S legs per column (x·(H+1) + y).
  const east = new Float64Array(H * (W + 1));
  const west = new Float64Array(H * (W + 1));
  const south = new Float64Array(W * (H + 1));
  const north = new Float64Array(W * (H + 1));
  const s = { intra_core: 0, intra_tile: 0, inter_tile: 0, inter_chip: 0, host: 0, total: 0, hop_weighted: 0, hops_ew: 0, hops_ns: 0, chip_crossings: 0, max_link_load: 0 };
  const tx = prof.tiles_x;
  const ty = prof.tiles_y;
  const add = (src: number, dst: number, a: Slot, b: Slot, m: number): void => {
    const ew = Math.abs(a.gx - b.gx);
    const ns = Math.abs(a.gy - b.gy);
    const cc = Math.abs(Math.floor(a.gx / tx) - Math.floor(b.gx / tx)) + Math.abs(Math.floor(a.gy / ty) - Math.floor(b.gy / ty));
    s.total += m;
    if (src < 0) s.host += m;
    else if (src === dst) s.intra_core += m;
    else if (cc > 0) s.inter_chip += m;
    else if (ew + ns === 0) s.intra_tile += m;
    else s.inter_tile += m;
    s.hops_ew += m * ew;
    s.hops_ns += m * ns;
    s.hop_weighted += m * (ew + ns);
    s.chip_crossings += m * cc;
    // X first along row a.gy: links leaving x for x in [a.gx, b.gx) (east) or (b.gx, a.gx] (west).
    if (b.gx > a.gx) {
      east[a.gy * (W + 1) + a.gx]! += m;
      east[a.gy * (W + 1) + b.gx]! -= m;
    } else if (b.gx < a.gx) {
      west[a.gy * (W + 1) + b.gx + 1]! += m;
      west[a.gy * (W + 1) + a.gx + 1]! -= m;
    }
    // Then Y along column b.gx.
    if (b.gy > a.gy) {
      south[b.gx * (H + 1) + a.gy]! += m;
      south[b.gx * (H + 1) + b.gy]! -= m;
    } else if (b.gy < a.gy) {
      north[b.gx * (H + 1) + b.gy + 1]! += m;
      north[b.gx * (H + 1) + a.gy + 1]! -= m;
    }
  };
  for (const [dst, m] of part.hostTraffic) add(-1, dst, HOST, pl.slots[dst]!, m);
  // Core pairs (millions on big mappings): coordinates in typed arrays, sums in locals. Every term is an
  // integer far below 2^53, so the sums equal add()'s.
  const slots = pl.slots;
  const n = slots.length;
  const X = new Int32Array(n);
  const Y = new Int32Array(n);
  const CX = new Int32Array(n);
  const CY = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    X[i] = slots[i]!.gx;
    Y[i] = slots[i]!.gy;
    CX[i] = Math.floor(slots[i]!.gx / tx);
    CY[i] = Math.floor(slots[i]!.gy / ty);
  }
  let total = 0;
  let intraCore = 0;
  let interChip = 0;
  let intraTile = 0;
  let interTile = 0;
  let hopsEw = 0;
  let hopsNs = 0;
  let crossings = 0;
  const { start, dst, msgs } = part.traffic;
  const W1 = W + 1;
  const H1 = H + 1;
  for (let a = 0; a < part.traffic.n; a++) {
    const ax = X[a]!;
    const ay = Y[a]!;
    const acx = CX[a]!;
    const acy = CY[a]!;
    for (let k = start[a]!; k < start[a + 1]!; k++) {
      const b = dst[k]!;
      const m = msgs[k]!;
      const bx = X[b]!;
      const by = Y[b]!;
      const ew = Math.abs(ax - bx);
      const ns = Math.abs(ay - by);
      const cc = Math.abs(acx - CX[b]!) + Math.abs(acy - CY[b]!);
      total += m;
      if (a === b) intraCore += m;
      else if (cc > 0) interChip += m;
      else if (ew + ns === 0) intraTile += m;
      else interTile += m;
      hopsEw += m * ew;
      hopsNs += m * ns;
      crossings += m * cc;
      if (bx > ax) {
        east[ay * W1 + ax]! += m;
        east[ay * W1 + bx]! -= m;
      } else if (bx < ax) {
        west[ay * W1 + bx + 1]! += m;
        west[ay * W1 + ax + 1]! -= m;
      }
      if (by > ay) {
        south[bx * H1 + ay]! += m;
        south[bx * H1 + by]! -= m;
      } else if (by < ay) {
        north[bx * H1 + by + 1]! += m;
        north[bx * H1 + ay + 1]! -= m;
      }
    }
  }
  s.total += total;
  s.intra_core += intraCore;
  s.inter_chip += interChip;
  s.intra_tile += intraTile;
  s.inter_tile += interTile;
  s.hops_ew += hopsEw;
  s.hops_ns += hopsNs;
  s.hop_weighted += hopsEw + hopsNs;
  s.chip_crossings += crossings;
  const maxRun = (d: Float64Array, rows: number, len: number): number => {
    let best = 0;
    for (let r = 0; r < rows; r++) {
      let run = 0;
      for (let i = 0; i < len; i++) {
        run += d[r * (len + 1) + i]!;
        if (run > best) best = run;
      }
    }
    return best;
  };
  s.max_link_load = Math.max(maxRun(east, H, W), maxRun(west, H, W), maxRun(south, W, H), maxRun(north, W, H));
  return { summary: s };
}
