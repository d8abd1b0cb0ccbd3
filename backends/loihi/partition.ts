/**
 * Partitioning: layers → tiles → cores (docs/loihi.md "Partitioning").
 *
 * 1. Tiling. For each population, every tiling (channels per tile × rows × columns, from the distinct
 *    ceil-divisions of each dimension) is evaluated with the storage model of resources.ts; the chosen
 *    one minimises the tiles' summed resource shares (compartments + synapse memory + in-axon slots)
 *    subject to every tile using at most 1/γ of each core resource. γ (granularity) makes tiles small
 *    enough to be packed together with tiles of other layers.
 * 2. Packing. Tiles are vector-bin-packed into cores per compatibility class: largest dominant share
 *    first, each into the open core that fits (every resource and profile table) and maximises the dot
 *    product of the tile's usage with the core's remaining capacity (Panigrahy et al. 2011), else a new
 *    core. Memory-heavy tiles of late layers thus share cores with compartment-heavy tiles of early ones.
 * 3. Layer clocks (Loihi 1) are packed last, one clock group per ≤ out_axons/clock_cx cores of a layer.
 * 4. Out-axons and core-to-core traffic are counted from the tiles' overlaps; a core over its out-axon
 *    limit makes its source layers' tiles finer and the whole partition is redone (at most 4 times).
 * Several granularities are tried; the partition with the fewest cores wins (ties: less traffic).
 */
import type { Group, Network, Pop } from "./model.js";
import { cxCapacity, idxBitsFor, listBits, polarities, type Profile } from "./profile.js";
import { addUsage, axisNeeds, densePopGroups, dims, emptyUsage, fits, outPerNeuron, shares, tileCount, tilesOf, tileUsage, type Tile, type Tiling, type Usage, type UsageOptions } from "./resources.js";

export interface ClockItem {
  readonly pop: Pop;
  /** Clock compartments in this item. */
  readonly cx: number;
  /** Cores this clock group drives. */
  readonly cores: number[];
}

export interface CoreInfo {
  readonly id: number;
  readonly cls: string;
  readonly tiles: Tile[];
  readonly clocks: ClockItem[];
  readonly relays: RelayItem[];
  readonly usage: Usage;
  outAxons: number;
}

export interface Partition {
  readonly tilings: Map<Pop, Tiling>;
  readonly tiles: Tile[];
  readonly tileCore: Map<Tile, number>;
  readonly cores: CoreInfo[];
  /** Messages per inference between cores if every neuron is active: traffic[src] maps dst → messages. */
  readonly traffic: Map<number, number>[];
  /** Per core: host-injected input messages (worst case). */
  readonly hostTraffic: Map<number, number>;
  readonly densePop: Set<Group>;
  readonly granularity: number;
  /** Groups whose fan-out goes through relay compartments (one extra step). */
  readonly relayed: Set<Group>;
  /** Relay compartments, per group, in canonical order (source tiles, then sub-items). */
  readonly relays: RelayItem[];
}

/** Relay compartments serving part (`share`) of a source tile's fan-out for one synapse group. */
export interface RelayItem {
  readonly group: Group;
  readonly tile: Tile;
  readonly share: number;
  /** Relay compartments (one per source compartment and relay fan-out chunk). */
  readonly cx: number;
  /** Out-axon entries of the relays (destination cores they reach). */
  readonly fanout: number;
  core: number;
}

/** A relayed source compartment reaches at most this many destination cores through one relay compartment. */
export function relayFanout(prof: Profile): number {
  return Math.max(1, Math.floor(prof.out_axons / 4));
}

/** Destinations per source compartment above which a group's fan-out goes through relays. */
export function relayThreshold(prof: Profile): number {
  return Math.max(8, Math.floor(prof.out_axons / 256));
}

export function relayClass(prof: Profile): string {
  return prof.tsc.synapse === "option-a" ? "impulse" : "or-program";
}

/** Relay items of a relayed group (deterministic from the tilings). */
export function relayItems(g: Group, net: Network, prof: Profile, tilings: Map<Pop, Tiling>, tiles: Tile[], exact?: ReadonlyMap<Tile, number>): RelayItem[] {
  const out: RelayItem[] = [];
  const per = g.kind === "pool" && prof.tsc.synapse === "option-a" ? 1 : polarities(prof);
  const D = Math.max(1, destFactor(g, tilings.get(g.target)!));
  const R = relayFanout(prof);
  for (const piece of net.resolve(g.source)) {
    if (piece.pop.kind === "input") continue;
    for (const t of tiles) {
      if (t.pop !== piece.pop) continue;
      const n = (t.c1 - t.c0) * (t.y1 - t.y0) * (t.x1 - t.x0);
      // Out-axon entries the tile's fan-out needs: counted from the packed targets when known.
      const total = exact?.get(t) ?? n * per * D;
      if (total <= 0) continue;
      // Relay groups are sized with a quarter of slack: destinations arrive in chunks (a channel range
      // × a band of positions), which the least-loaded assignment can only balance to a chunk.
      const k = Math.max(1, Math.ceil(total / (0.75 * prof.out_axons)));
      const relaysPer = Math.ceil(total / (n * per) / R);
      for (let i = 0; i < k; i++) out.push({ group: g, tile: t, share: 1 / k, cx: Math.ceil((n * per * relaysPer) / k), fanout: Math.ceil(total / k), core: -1 });
    }
  }
  return out;
}

/** Exact out-axon entries of each source tile of the relayed groups, given where the targets are. */
export function relayTotals(net: Network, prof: Profile, part: { tilings: Map<Pop, Tiling>; tiles: Tile[]; tileCore: Map<Tile, number> }, relayed: ReadonlySet<Group>): Map<Group, Map<Tile, number>> {
  const placeholders: RelayItem[] = [];
  const index = new Map<Tile, number>();
  part.tiles.forEach((t, i) => index.set(t, i));
  for (const g of relayed) {
    for (const piece of net.resolve(g.source)) {
      if (piece.pop.kind === "input") continue;
      for (const t of part.tiles) if (t.pop === piece.pop) placeholders.push({ group: g, tile: t, share: 1, cx: 0, fanout: 0, core: -2 - index.get(t)! });
    }
  }
  const out = new Map<Group, Map<Tile, number>>();
  forEachOverlap(net, { ...part, relays: placeholders }, prof, (src, _dst, n, perNeuron, g) => {
    if (src > -2 || !relayed.has(g)) return;
    const t = part.tiles[-2 - src]!;
    let m = out.get(g);
    if (!m) out.set(g, (m = new Map()));
    m.set(t, (m.get(t) ?? 0) + n * perNeuron);
  });
  return out;
}

export function relayUsage(r: RelayItem, prof: Profile): Usage {
  const u = emptyUsage();
  u.cx = r.cx;
  u.inSlots = r.cx;
  u.axons = r.cx;
  u.bits = r.cx * listBits(prof, 1, prof.weight_bits + idxBitsFor(prof, cxCapacity(prof)));
  u.entries = r.cx;
  u.outEst = r.fanout;
  u.cxProfiles.add("relay");
  u.vthProfiles.add("relay");
  u.formats.add("relay");
  return u;
}

export function compatClass(p: Pop, prof: Profile): string {
  if (prof.tsc.synapse === "option-a") return p.kind === "or" ? "impulse" : "switch";
  return p.kind === "or" ? "or-program" : "tsc-program";
}

/** Shared per-core configuration of each compatibility class (why each class exists: docs/loihi.md). */
export function classConfig(cls: string): Record<string, number | string> {
  switch (cls) {
    case "switch":
      return { dsOffset: 0, dmOffset: 0, posVmLimit: 7, negVmLimit: 23, noise: 0, delayBits: 0, learning: 0 };
    case "impulse":
      return { dsOffset: 1, dmOffset: 0, posVmLimit: 0, negVmLimit: 0, noise: 0, delayBits: 0, learning: 0 };
    case "tsc-program":
      return { neuron_program: "tsc", message_bits: 2, noise: 0, learning: 0 };
    default:
      return { neuron_program: "or", message_bits: 2, noise: 0, learning: 0 };
  }
}

export const CLASS_WHY: Readonly<Record<string, string>> = {
  switch: "switch synapses need a persistent current: δu = 0 on a dsOffset = 0 core, with vmin/vmax covering the integrators' range",
  impulse: "OR gates count ON events as one-step impulses: δu = 4095 on a dsOffset = 1 core (full decay), small vmax",
  "tsc-program": "cores running the microcode TSC neuron (integrate, ramp fire, ±1 graded spikes)",
  "or-program": "cores running the microcode OR-of-switches unit",
};

function distinctCeil(n: number): number[] {
  const s = new Set<number>();
  for (let g = 1; g <= n; g++) s.add(Math.ceil(n / g));
  return [...s].sort((a, b) => b - a);
}

/** Representative tiles of a tiling: the corner tile and an interior one (max usage bounds the rest). */
function sampleTiles(p: Pop, t: Tiling): Tile[] {
  const [C, H, W] = dims(p);
  const mk = (c0: number, y0: number, x0: number): Tile => ({ pop: p, index: 0, c0, c1: Math.min(C, c0 + t.mc), y0, y1: Math.min(H, y0 + t.hr), x0, x1: Math.min(W, x0 + t.wr) });
  const out = [mk(0, 0, 0)];
  const iy = H > 2 * t.hr ? t.hr : 0;
  const ix = W > 2 * t.wr ? t.wr : 0;
  if (iy || ix) out.push(mk(0, iy, ix));
  return out;
}

function maxUsage(list: Usage[]): Usage {
  const u = emptyUsage();
  for (const x of list) {
    u.cx = Math.max(u.cx, x.cx);
    u.bits = Math.max(u.bits, x.bits);
    u.inSlots = Math.max(u.inSlots, x.inSlots);
    u.outEst = Math.max(u.outEst, x.outEst);
  }
  return u;
}

/** Average number of a target tiling's tiles that read one source neuron of group g. */
export function destFactor(g: Group, t: Tiling): number {
  const target = g.target;
  const [C, H, W] = dims(target);
  if (!g.geo) return g.kind === "scale" ? 1 : tileCount(target, t);
  const geo = g.geo;
  // The most bands that read one input coordinate (an upper bound, so out-axon estimates stay safe).
  const bands = (n: number, O: number, r: number, k: number, s: number, pad: number, d: number): number => {
    const count = new Int32Array(n);
    for (let o0 = 0; o0 < O; o0 += r) for (const i of axisNeeds(n, o0, Math.min(O, o0 + r), k, s, pad, d).keys()) count[i]!++;
    let m = 0;
    for (let i = 0; i < n; i++) m = Math.max(m, count[i]!);
    return m;
  };
  const Mg = geo.M / geo.group;
  const chanGroups = geo.group === 1 ? Math.ceil(C / t.mc) : Math.max(1, Math.ceil(Math.min(Mg, C) / t.mc));
  return chanGroups * bands(geo.H, H, t.hr, geo.kh, geo.sh, geo.pt, geo.dh) * bands(geo.W, W, t.wr, geo.kw, geo.sw, geo.pl, geo.dw);
}

export interface Candidate {
  readonly t: Tiling;
  readonly worst: number;
  readonly cost: number;
  readonly n: number;
  readonly ok: boolean;
}

const candidateCache = new WeakMap<Pop, { key: string; list: Candidate[] }>();

/** Every tiling of a population with its worst tile's dominant share and its summed-share cost. */
export function candidates(p: Pop, net: Network, prof: Profile, o: UsageOptions): Candidate[] {
  const key = `${prof.name}|${prof.cx_per_core}|${prof.syn_bits_per_core}|${prof.in_axons}|${prof.out_axons}|${[...o.densePop].map((g) => g.id).join(",")}|${o.outPerNeuron?.get(p) ?? 0}`;
  const hit = candidateCache.get(p);
  if (hit && hit.key === key) return hit.list;
  const [C, H, W] = dims(p);
  const list: Candidate[] = [];
  for (const mc of distinctCeil(C)) {
    for (const hr of distinctCeil(H)) {
      for (const wr of distinctCeil(W)) {
        const t: Tiling = { mc, hr, wr };
        const u = maxUsage(sampleTiles(p, t).map((x) => tileUsage(x, net, prof, o, 0, undefined, false)));
        const sh = shares(u, prof);
        const n = tileCount(p, t);
        const worst = Math.max(...sh);
        // Effective cores if tiles of this layer were packed only with each other, plus a small share of
        // the summed resources (less halo and fewer lists) as a tie-breaker.
        const perCore = Math.max(1, Math.floor(1 / Math.max(worst, 1e-9) + 1e-9));
        // Splitting this layer makes each source neuron reach more cores: the out-axon cores that costs.
        let srcOut = 0;
        for (const g of p.groups) {
          const per = g.kind === "pool" && prof.tsc.synapse === "option-a" ? 1 : polarities(prof);
          for (const piece of net.resolve(g.source)) if (piece.pop.kind !== "input") srcOut += (piece.count * per * destFactor(g, t)) / prof.out_axons;
        }
        list.push({ t, worst, cost: n / perCore + srcOut + 0.05 * n * (sh[0] + sh[1] + sh[2] + sh[3]), n, ok: sh.every((x) => x <= 1) });
      }
    }
  }
  candidateCache.set(p, { key, list });
  return list;
}

/** Choose a population's tiling for granularity γ; falls back to the finest tiling that fits at all. */
export function chooseTiling(p: Pop, net: Network, prof: Profile, o: UsageOptions, gamma: number): Tiling {
  const list = candidates(p, net, prof, o);
  const pick = (limit: number): Candidate | undefined => {
    let best: Candidate | undefined;
    for (const c of list) {
      if (!c.ok || c.worst > limit + 1e-9) continue;
      if (!best || c.cost < best.cost - 1e-12 || (Math.abs(c.cost - best.cost) <= 1e-12 && c.n < best.n)) best = c;
    }
    return best;
  };
  const best = pick(1 / gamma) ?? pick(1);
  if (best) return best.t;
  // Nothing fits a core: the finest tiling (the DRC will name the limit that cannot be met).
  return list.reduce((a, b) => (b.worst < a.worst ? b : a)).t;
}

function dominant(u: Usage, prof: Profile): number {
  return Math.max(...shares(u, prof));
}

interface Bin {
  core: CoreInfo;
  open: boolean;
}

function pack(items: { tile?: Tile; clock?: ClockItem; relay?: RelayItem; usage: Usage; cls: string }[], prof: Profile, cores: CoreInfo[], bins: Map<string, Bin[]>, window = 400): Map<Tile, number> {
  const tileCore = new Map<Tile, number>();
  for (const it of items) {
    let list = bins.get(it.cls);
    if (!list) bins.set(it.cls, (list = []));
    const d = shares(it.usage, prof);
    let best: Bin | undefined;
    let bestScore = -Infinity;
    let scanned = 0;
    for (let i = list.length - 1; i >= 0 && scanned < window; i--) {
      const b = list[i]!;
      if (!b.open) continue;
      scanned++;
      if (!fits(b.core.usage, it.usage, prof)) continue;
      const r = shares(b.core.usage, prof);
      const score = d[0] * (1 - r[0]) + d[1] * (1 - r[1]) + d[2] * (1 - r[2]) + d[3] * (1 - r[3]);
      if (score > bestScore) {
        bestScore = score;
        best = b;
      }
    }
    if (!best) {
      best = { core: { id: cores.length, cls: it.cls, tiles: [], clocks: [], relays: [], usage: emptyUsage(), outAxons: 0 }, open: true };
      cores.push(best.core);
      list.push(best);
    }
    addUsage(best.core.usage, it.usage);
    if (it.tile) {
      best.core.tiles.push(it.tile);
      tileCore.set(it.tile, best.core.id);
    }
    if (it.clock) best.core.clocks.push(it.clock);
    if (it.relay) {
      it.relay.core = best.core.id;
      best.core.relays.push(it.relay);
    }
    if (dominant(best.core.usage, prof) > 0.995) best.open = false;
  }
  return tileCore;
}

/** Needed input coordinates of a target tile along each axis for group g (as sorted arrays). */
function needs(g: Group, t: Tile): { rows: number[]; cols: number[] } {
  const geo = g.geo!;
  return {
    rows: [...axisNeeds(geo.H, t.y0, t.y1, geo.kh, geo.sh, geo.pt, geo.dh).keys()].sort((a, b) => a - b),
    cols: [...axisNeeds(geo.W, t.x0, t.x1, geo.kw, geo.sw, geo.pl, geo.dw).keys()].sort((a, b) => a - b),
  };
}

function countIn(sorted: number[], lo: number, hi: number): number {
  let a = 0;
  let b = sorted.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (sorted[m]! < lo) a = m + 1;
    else b = m;
  }
  let c = a;
  let d = sorted.length;
  while (c < d) {
    const m = (c + d) >> 1;
    if (sorted[m]! < hi) c = m + 1;
    else d = m;
  }
  return c - a;
}

export interface Edge {
  /** Source core (−1: host injection). */
  readonly src: number;
  readonly dst: number;
  /** Source compartments with an axon on dst (out-axon entries at src). */
  readonly axons: number;
  /** Messages per inference if every source neuron is active. */
  readonly messages: number;
}

/**
 * Every (source tile → target tile) overlap: how many source neurons of the source tile the target
 * tile's axons read. `visit` gets the cores and the neuron count; `perNeuron` is the output compartments
 * (out-axon entries) per source neuron for the group.
 */
const bandCache = new WeakMap<Tile[], { tileCore: Map<Tile, number>; map: Map<string, number[]> }>();

/** (core, channels) pairs of the source tiles in band (by, bx) whose channels lie in [a0, a1). */
function bandCores(p: Pop, st: Tiling, srcTiles: Tile[], by: number, bx: number, nbY: number, nbX: number, a0: number, a1: number, senders: (t: Tile) => [number, number][], gid: number): number[] {
  let cache = bandCache.get(srcTiles);
  if (!cache) bandCache.set(srcTiles, (cache = { tileCore: currentTileCore!, map: new Map() }));
  const key = `${gid},${by},${bx},${a0},${a1}`;
  let r = cache.map.get(key);
  if (r) return r;
  const per = new Map<number, number>();
  for (let cg = Math.floor(a0 / st.mc); cg * st.mc < a1; cg++) {
    const s = srcTiles[(cg * nbY + by) * nbX + bx]!;
    const ch = Math.min(s.c1, a1) - Math.max(s.c0, a0);
    if (ch <= 0) continue;
    for (const [core, share] of senders(s)) per.set(core, (per.get(core) ?? 0) + ch * share);
  }
  r = [...per.entries()].sort((x, y) => x[0] - y[0]).flat();
  cache.map.set(key, r);
  void p;
  return r;
}

let currentTileCore: Map<Tile, number> | undefined;

export function forEachOverlap(net: Network, part: { tilings: Map<Pop, Tiling>; tiles: Tile[]; tileCore: Map<Tile, number>; relays?: RelayItem[] }, prof: Profile, visit: (srcCore: number, dstCore: number, neurons: number, perNeuron: number, g: Group) => void): void {
  // Relayed groups: the sending cores are the relay cores of each source tile (with their shares).
  const relayOf = new Map<Group, Map<Tile, RelayItem[]>>();
  for (const r of part.relays ?? []) {
    let m = relayOf.get(r.group);
    if (!m) relayOf.set(r.group, (m = new Map()));
    let l = m.get(r.tile);
    if (!l) m.set(r.tile, (l = []));
    l.push(r);
  }
  // Each destination of a relayed source tile goes to its least-loaded relay group.
  const load = new Map<RelayItem, number>();
  const relayFor = (l: RelayItem[], n: number): number => {
    let best = l[0]!;
    for (const r of l) if ((load.get(r) ?? 0) < (load.get(best) ?? 0)) best = r;
    load.set(best, (load.get(best) ?? 0) + n);
    return best.core;
  };
  const sendersOf = (g: Group, t: Tile): [number, number][] => [[part.tileCore.get(t)!, 1]];
  const byPop = new Map<Pop, Tile[]>();
  for (const t of part.tiles) {
    let l = byPop.get(t.pop);
    if (!l) byPop.set(t.pop, (l = []));
    l.push(t);
  }
  const pol = polarities(prof);
  currentTileCore = part.tileCore;
  for (const g of net.groups) {
    const perNeuron = g.kind === "pool" && prof.tsc.synapse === "option-a" ? 1 : pol;
    const pieces = net.resolve(g.source);
    const simple = pieces.length === 1 && pieces[0]!.map === null && pieces[0]!.offset === 0;
    const srcPop = pieces[0]!.pop;
    const tgtTiles = byPop.get(g.target) ?? [];
    for (const tt of tgtTiles) {
      const dst = part.tileCore.get(tt)!;
      if (g.geo && simple && srcPop.shape.length === 3) {
        const nd = needs(g, tt);
        // Source channels read: atoms of the target tile's channel range.
        const geo = g.geo;
        const Mg = geo.M / geo.group;
        const Cg = geo.C / geo.group;
        const a0 = Math.floor(tt.c0 / Mg) * Cg;
        const a1 = (Math.floor((tt.c1 - 1) / Mg) + 1) * Cg;
        if (srcPop.kind === "input") {
          visit(-1, dst, (a1 - a0) * nd.rows.length * nd.cols.length, perNeuron, g);
          continue;
        }
        const st = part.tilings.get(srcPop)!;
        const srcTiles = byPop.get(srcPop)!;
        const [, SH, SW] = dims(srcPop);
        const nbY = Math.ceil(SH / st.hr);
        const nbX = Math.ceil(SW / st.wr);
        const by0 = Math.floor(nd.rows[0]! / st.hr);
        const by1 = Math.floor(nd.rows[nd.rows.length - 1]! / st.hr);
        const bx0 = Math.floor(nd.cols[0]! / st.wr);
        const bx1 = Math.floor(nd.cols[nd.cols.length - 1]! / st.wr);
        for (let by = by0; by <= by1; by++) {
          for (let bx = bx0; bx <= bx1; bx++) {
            const s0 = srcTiles[by * nbX + bx]!;
            const ry = countIn(nd.rows, s0.y0, s0.y1);
            const rx = countIn(nd.cols, s0.x0, s0.x1);
            if (ry * rx === 0) continue;
            // Source channel groups of this band, aggregated per core (tiles of one core add up).
            const rel = relayOf.get(g);
            if (rel) {
              // Relayed: each destination is served by one relay group of the source tile (by destination).
              for (let cg = Math.floor(a0 / st.mc); cg * st.mc < a1; cg++) {
                const s = srcTiles[(cg * nbY + by) * nbX + bx]!;
                const ch = Math.min(s.c1, a1) - Math.max(s.c0, a0);
                if (ch <= 0) continue;
                visit(relayFor(rel.get(s)!, ch * ry * rx * perNeuron), dst, ch * ry * rx, perNeuron, g);
              }
              continue;
            }
            const agg = bandCores(srcPop, st, srcTiles, by, bx, nbY, nbX, a0, a1, (t) => sendersOf(g, t), g.id);
            for (let k = 0; k < agg.length; k += 2) visit(agg[k]!, dst, agg[k + 1]! * ry * rx, perNeuron, g);
          }
        }
      } else {
        // Dense (or a relabelled source): the tile reads every source neuron (one-to-one: its own range).
        for (const piece of pieces) {
          if (piece.pop.kind === "input") {
            visit(-1, dst, piece.count, perNeuron, g);
            continue;
          }
          for (const s of byPop.get(piece.pop) ?? []) {
            let n = (s.c1 - s.c0) * (s.y1 - s.y0) * (s.x1 - s.x0);
            if (g.kind === "scale") {
              // One-to-one over identical layouts: the overlap of the two tiles.
              n = Math.max(0, Math.min(s.c1, tt.c1) - Math.max(s.c0, tt.c0)) * Math.max(0, Math.min(s.y1, tt.y1) - Math.max(s.y0, tt.y0)) * Math.max(0, Math.min(s.x1, tt.x1) - Math.max(s.x0, tt.x0));
            }
            if (n > 0) {
              const rel = relayOf.get(g)?.get(s);
              visit(rel ? relayFor(rel, n * perNeuron) : part.tileCore.get(s)!, dst, n, perNeuron, g);
            }
          }
        }
      }
    }
  }
}

/** Spikes per source compartment per inference when the neuron is active (ON once, OFF once; graded: 2 on one axon). */
export function spikesPerCompartment(prof: Profile): number {
  return prof.tsc.synapse === "option-a" ? 1 : 2;
}

export function partitionOnce(net: Network, prof: Profile, gammaOf: (p: Pop) => number, coreExp: boolean, allowRelays = true): Partition {
  const densePop = densePopGroups(net, prof);
  const outPer = new Map<Pop, number>();
  const uo: UsageOptions = { densePop, T: net.T, outPerNeuron: outPer };
  const tilings = new Map<Pop, Tiling>();
  const tiles: Tile[] = [];
  const items: { tile?: Tile; clock?: ClockItem; usage: Usage; cls: string }[] = [];
  // Consumers first: a layer's out-axons depend on how its consumers are split.
  const relayed = new Set<Group>();
  for (const p of [...net.placed].reverse()) {
    let per = 0;
    for (const g of net.groups) {
      if (!tilings.has(g.target)) continue;
      const pp = g.kind === "pool" && prof.tsc.synapse === "option-a" ? 1 : polarities(prof);
      for (const piece of net.resolve(g.source)) {
        if (piece.pop !== p) continue;
        const D = destFactor(g, tilings.get(g.target)!);
        if (allowRelays && prof.out_axons >= 64 && D > relayThreshold(prof)) {
          relayed.add(g);
          per += pp * Math.ceil(D / relayFanout(prof));
        } else per += pp * D;
      }
    }
    outPer.set(p, per);
    tilings.set(p, chooseTiling(p, net, prof, uo, gammaOf(p)));
  }
  for (const p of net.placed) {
    const t = tilings.get(p)!;
    for (const tile of tilesOf(p, t)) {
      tiles.push(tile);
      const u = tileUsage(tile, net, prof, uo);
      if (coreExp) for (const g of p.groups) if (g.kind !== "pool") u.formats.add(`g${g.id}:cg${tile.c0}`);
      items.push({ tile, usage: u, cls: compatClass(p, prof) });
    }
  }
  // Largest dominant share first; ties by population and tile order (deterministic).
  const order = items.map((it, i) => ({ it, i, d: dominant(it.usage, prof) }));
  order.sort((a, b) => b.d - a.d || a.i - b.i);
  const cores: CoreInfo[] = [];
  const bins = new Map<string, Bin[]>();
  const tileCore = pack(order.map((o) => o.it), prof, cores, bins);
  // Layer clocks (Loihi 1): compartments that drive every core of their layer.
  if (prof.tsc.clock_cx_per_layer > 0) {
    const coresOf = new Map<Pop, Set<number>>();
    for (const t of tiles) {
      let s = coresOf.get(t.pop);
      if (!s) coresOf.set(t.pop, (s = new Set()));
      s.add(tileCore.get(t)!);
    }
    const clockItems: { clock: ClockItem; usage: Usage; cls: string }[] = [];
    for (const p of net.placed) {
      const coresOfPop = [...(coresOf.get(p) ?? [])].sort((a, b) => a - b);
      const cx = p.kind === "tsc" ? prof.tsc.clock_cx_per_layer : Math.min(2, prof.tsc.clock_cx_per_layer);
      const perGroup = Math.max(1, Math.floor(prof.out_axons / cx));
      for (let k = 0; k < coresOfPop.length; k += perGroup) {
        const clock: ClockItem = { pop: p, cx, cores: coresOfPop.slice(k, k + perGroup) };
        const u = emptyUsage();
        u.cx = cx;
        u.outEst = cx * clock.cores.length;
        u.cxProfiles.add("clock");
        u.vthProfiles.add("clock");
        clockItems.push({ clock, usage: u, cls: compatClass(p, prof) === "impulse" ? "switch" : compatClass(p, prof) });
      }
    }
    pack(clockItems, prof, cores, bins);
  }
  const relays: RelayItem[] = [];
  const totals = relayed.size ? relayTotals(net, prof, { tilings, tiles, tileCore }, relayed) : new Map<Group, Map<Tile, number>>();
  for (const g of net.groups) if (relayed.has(g)) for (const r of relayItems(g, net, prof, tilings, tiles, totals.get(g) ?? new Map())) relays.push(r);
  if (relays.length) {
    pack(relays.map((r) => ({ relay: r, usage: relayUsage(r, prof), cls: relayClass(prof) })), prof, cores, bins, 16);
  }
  return { tilings, tiles, tileCore, cores, traffic: [], hostTraffic: new Map(), densePop, granularity: 0, relayed, relays };
}

/** Count out-axons and worst-case core-to-core traffic of a packed partition (fills part.traffic). */
export function countTraffic(net: Network, prof: Profile, part: Partition): void {
  const cores = part.cores;
  for (const c of cores) c.outAxons = 0;
  part.traffic.length = 0;
  for (let i = 0; i < cores.length; i++) part.traffic.push(new Map());
  part.hostTraffic.clear();
  const spc = spikesPerCompartment(prof);
  forEachOverlap(net, part, prof, (src, dst, n, perNeuron) => {
    if (src < 0) {
      part.hostTraffic.set(dst, (part.hostTraffic.get(dst) ?? 0) + n * perNeuron * spc);
      return;
    }
    cores[src]!.outAxons += n * perNeuron;
    const row = part.traffic[src]!;
    row.set(dst, (row.get(dst) ?? 0) + n * perNeuron * spc);
  });
  for (const c of cores) {
    for (const ck of c.clocks) {
      c.outAxons += ck.cx * ck.cores.length;
      const row = part.traffic[c.id]!;
      for (const d of ck.cores) row.set(d, (row.get(d) ?? 0) + ck.cx);
    }
  }
  // Source compartments → their relay compartments.
  for (const r of part.relays) {
    const src = part.tileCore.get(r.tile)!;
    cores[src]!.outAxons += r.cx;
    const row = part.traffic[src]!;
    row.set(r.core, (row.get(r.core) ?? 0) + r.cx * spc);
  }
  for (const c of cores) c.outAxons = Math.ceil(c.outAxons - 1e-9);
}

/** Partition the network; tries several granularities and repairs out-axon overflows. */
export function partitionNetwork(net: Network, prof: Profile, opts: { coreExp: boolean; granularities?: readonly number[] }): Partition {
  let best: Partition | undefined;
  for (const gamma of opts.granularities ?? [1, 2]) {
    // Finer granularities only pay off for small mappings (their packing is coarse); skip them for big ones.
    if (gamma > 1 && !opts.granularities && best && best.cores.length > 2000) break;
    const part = partitionOnce(net, prof, () => gamma, opts.coreExp);
    (part as { granularity: number }).granularity = gamma;
    if (process.env["TSCC_LOIHI_DEBUG"]) process.stderr.write(`loihi partition: γ=${gamma}: ${part.cores.length} cores, ${part.tiles.length} tiles\n`);
    if (!best || part.cores.length < best.cores.length) best = part;
  }
  const gamma = best!.granularity;
  const extra = new Map<Pop, number>();
  let part = best!;
  countTraffic(net, prof, part);
  for (let round = 0; round < 4; round++) {
    const bad = part.cores.filter((c) => c.outAxons > prof.out_axons);
    if (!bad.length) break;
    for (const c of bad) for (const t of c.tiles) extra.set(t.pop, (extra.get(t.pop) ?? 1) * 2);
    const next = partitionOnce(net, prof, (p) => gamma * (extra.get(p) ?? 1), opts.coreExp);
    if (process.env["TSCC_LOIHI_DEBUG"]) process.stderr.write(`loihi partition: repair ${round}: ${bad.length} cores over out-axons; now ${next.cores.length} cores, ${next.tiles.length} tiles\n`);
    (next as { granularity: number }).granularity = gamma;
    countTraffic(net, prof, next);
    if (next.cores.filter((c) => c.outAxons > prof.out_axons).length > bad.length) break;
    part = next;
  }
  return part;
}

/** Compartment capacity per core used by the packer (for reports). */
export function coreCapacity(prof: Profile): { cx: number; bits: number; inSlots: number; outAxons: number } {
  return { cx: cxCapacity(prof), bits: prof.syn_bits_per_core, inSlots: prof.in_axons, outAxons: prof.out_axons };
}
