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

export function routeAll(part: Partition, pl: Placement, prof: Profile): { routes: Route[]; summary: TrafficSummary } {
  const routes: Route[] = [];
  let W = 1;
  let H = 1;
  for (const sl of pl.slots) {
    W = Math.max(W, sl.gx + 1);
    H = Math.max(H, sl.gy + 1);
  }
  // Directed links: 4 per tile (E, W, N, S), indexed by tile and direction.
  const links = new Float64Array(W * H * 4);
  const s = { intra_core: 0, intra_tile: 0, inter_tile: 0, inter_chip: 0, host: 0, total: 0, hop_weighted: 0, hops_ew: 0, hops_ns: 0, chip_crossings: 0, max_link_load: 0 };
  const walk = (a: Slot, b: Slot, m: number): void => {
    let x = a.gx;
    const y0 = a.gy;
    const dx = Math.sign(b.gx - x);
    while (x !== b.gx) {
      links[(y0 * W + x) * 4 + (dx > 0 ? 0 : 1)]! += m;
      x += dx;
    }
    let y = y0;
    const dy = Math.sign(b.gy - y);
    while (y !== b.gy) {
      links[(y * W + x) * 4 + (dy > 0 ? 2 : 3)]! += m;
      y += dy;
    }
  };
  const add = (src: number, dst: number, a: Slot, b: Slot, m: number): void => {
    const ew = Math.abs(a.gx - b.gx);
    const ns = Math.abs(a.gy - b.gy);
    const [acx, acy] = chipXY(a, prof);
    const [bcx, bcy] = chipXY(b, prof);
    const cc = Math.abs(acx - bcx) + Math.abs(acy - bcy);
    routes.push({ src, dst, messages: m, hops_ew: ew, hops_ns: ns, chip_crossings: cc });
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
    if (ew + ns > 0) walk(a, b, m);
  };
  for (const [dst, m] of [...part.hostTraffic.entries()].sort((a, b) => a[0] - b[0])) add(-1, dst, HOST, pl.slots[dst]!, m);
  part.traffic.forEach((row, src) => {
    for (const [dst, m] of [...row.entries()].sort((a, b) => a[0] - b[0])) add(src, dst, pl.slots[src]!, pl.slots[dst]!, m);
  });
  for (let i = 0; i < links.length; i++) if (links[i]! > s.max_link_load) s.max_link_load = links[i]!;
  return { routes, summary: s };
}
