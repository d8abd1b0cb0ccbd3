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
  const tx = prof.tiles_x;
  const ty = prof.tiles_y;
  // Core pairs (millions on big mappings): coordinates in typed arrays, sums in locals. Host injections
  // are source −1, at HOST's tile, with their own row. Every term is an integer far below 2^53, so the
  // sums do not depend on the order.
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
  const host = [...part.hostTraffic.entries()].sort((a, b) => a[0] - b[0]);
  const hostDst = Int32Array.from(host, (e) => e[0]);
  const hostMsgs = Float64Array.from(host, (e) => e[1]);
  let total = 0;
  let hostTotal = 0;
  let intraCore = 0;
  let interChip = 0;
  let intraTile = 0;
  let interTile = 0;
  let hopsEw = 0;
  let hopsNs = 0;
  let crossings = 0;
  const W1 = W + 1;
  const H1 = H + 1;
  for (let a = -1; a < part.traffic.n; a++) {
    const fromHost = a < 0;
    const dst = fromHost ? hostDst : part.traffic.dst;
    const msgs = fromHost ? hostMsgs : part.traffic.msgs;
    const k0 = fromHost ? 0 : part.traffic.start[a]!;
    const k1 = fromHost ? hostDst.length : part.traffic.start[a + 1]!;
    const ax = fromHost ? HOST.gx : X[a]!;
    const ay = fromHost ? HOST.gy : Y[a]!;
    const acx = fromHost ? Math.floor(HOST.gx / tx) : CX[a]!;
    const acy = fromHost ? Math.floor(HOST.gy / ty) : CY[a]!;
    for (let k = k0; k < k1; k++) {
      const b = dst[k]!;
      const m = msgs[k]!;
      const bx = X[b]!;
      const by = Y[b]!;
      const ew = Math.abs(ax - bx);
      const ns = Math.abs(ay - by);
      const cc = Math.abs(acx - CX[b]!) + Math.abs(acy - CY[b]!);
      total += m;
      if (fromHost) hostTotal += m;
      else if (a === b) intraCore += m;
      else if (cc > 0) interChip += m;
      else if (ew + ns === 0) intraTile += m;
      else interTile += m;
      hopsEw += m * ew;
      hopsNs += m * ns;
      crossings += m * cc;
      // X first along row ay: links leaving x for x in [ax, bx) (east) or (bx, ax] (west); then Y
      // along column bx.
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
  const s = { intra_core: intraCore, intra_tile: intraTile, inter_tile: interTile, inter_chip: interChip, host: hostTotal, total, hop_weighted: hopsEw + hopsNs, hops_ew: hopsEw, hops_ns: hopsNs, chip_crossings: crossings, max_link_load: 0 };
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
