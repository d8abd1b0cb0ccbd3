/**
 * Partitioning: layers → tiles → cores (docs/loihi.md "Storage model and partitioning").
 *
 * 1. Tiling, consumers first. Every tiling of a layer (channels per tile × rows × columns, from the
 *    distinct ceil-divisions of each dimension) is priced: its own compartments, synapse memory and
 *    input-axon slots, plus the output-axon entries its split makes its sources pay (a source
 *    compartment needs one entry per consumer tile that reads it: fanout.ts counts them exactly), plus
 *    the relays that fan-out needs, each resource weighted by a price λ_r per core of that resource.
 *    The prices come from a few rounds of multiplicative updates on the estimated totals (the scarcest
 *    resource gets dearer), so memory-bound consumers trade their own cores against their sources'
 *    out-axons. Tiles must fit a core: each uses at most 1/γ of every resource and 1/γ_cx of the
 *    compartments (γ ∈ {1, 2}, γ_cx ∈ {1, 2, 4} tried: smaller compartment tiles let the packer pair
 *    compartment-heavy tiles with out-axon- or memory-heavy ones).
 * 2. Relays. A group whose consumer makes a source compartment reach more than out_axons/256 tiles
 *    sends through relay compartments (one extra step for both spikes, intervals unchanged): each source
 *    compartment drives one relay, which holds the out-axon entries of that source's destinations. Relays
 *    are allocated in runs of a source tile's neurons (channel, row, column order) sized exactly from the
 *    per-neuron destination counts: a run's entries are Σ per · D over its neurons.
 * 3. Packing, per compatibility class. Tiles are vector-bin-packed (largest dominant share first, into
 *    the open core that fits every resource and profile table and maximises the dot product of the
 *    tile's usage with the core's free capacity), then layer clocks (Loihi 1), then relay runs, which
 *    first fill the free out-axons of the cores already open (relays share the tiles' class, see
 *    profile `tsc.relay_class`) and then fill new cores exactly.
 * 4. Out-axons and worst-case core-to-core traffic are counted from the tiles' overlaps and the relay
 *    runs (countTraffic); they equal the packer's exact accounting, so no core exceeds its out-axons.
 * Several granularities and price rounds are tried; the partition with the fewest cores wins (ties:
 * fewer estimated out-axon entries).
 */
import { bandNeeds, boxDest, boxReached, entriesPerDest, fanoutOf, isSimpleConv, longestRun, runBoxes, runDest, bandCounts, type Fanout } from "./fanout.js";
import type { Group, Network, Pop } from "./model.js";
import { cxCapacity, idxBitsFor, listBits, polarities, type Profile } from "./profile.js";
import { Traffic, TrafficBuilder } from "./traffic.js";
import { addUsage, axisNeeds, channelQuant, cxPerNeuron, densePopGroups, dims, emptyUsage, expGroups, fits, shares, splitExtra, tileCount, tilesOf, tileUsage, type Box, type Tile, type Tiling, type Usage, type UsageOptions } from "./resources.js";

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

/**
 * Tile granularity: every tile uses at most 1/all of each core resource and at most 1/cx of its
 * compartments. γ_cx = 2 with γ = 1 makes compartment-bound tiles half a core while tiles bound by
 * memory or axons stay whole, so the packer can pair a compartment-light, out-axon-heavy tile with a
 * compartment-heavy, out-axon-light one (docs/loihi.md "Storage model and partitioning").
 */
export interface Granularity {
  readonly all: number;
  readonly cx: number;
}

export interface Partition {
  readonly tilings: Map<Pop, Tiling>;
  readonly tiles: Tile[];
  readonly tileCore: Map<Tile, number>;
  readonly cores: CoreInfo[];
  /** Messages per inference between cores if every neuron is active (sparse rows: traffic.ts). */
  traffic: Traffic;
  /** Per core: host-injected input messages (worst case). */
  readonly hostTraffic: Map<number, number>;
  readonly densePop: Set<Group>;
  readonly granularity: Granularity;
  /** Groups whose fan-out goes through relay compartments (one extra step). */
  readonly relayed: Set<Group>;
  /** Relay runs, in canonical order (group, source population, source tile, first neuron). */
  readonly relays: RelayItem[];
  /** Fan-out of every (group, source population) under the chosen tilings. */
  readonly fanouts: Fanout[];
}

/**
 * Relays of a run [i0, i1) of a source tile's neurons (channel, row, column order) for one group: one
 * relay compartment per reached source compartment, holding that source's destinations.
 */
export interface RelayItem {
  readonly group: Group;
  readonly tile: Tile;
  readonly i0: number;
  readonly i1: number;
  /** Relay compartments: source polarities × neurons of the run that some consumer tile reads. */
  readonly cx: number;
  /** Out-axon entries of the relays: Σ over the run of polarities × consumer tiles reading the neuron. */
  readonly fanout: number;
  core: number;
}

/** Destinations per source compartment above which a group's fan-out goes through relays. */
export function relayThreshold(prof: Profile): number {
  if (process.env["TSCC_RELAY_T"]) return Number(process.env["TSCC_RELAY_T"]);
  return Math.max(8, Math.floor(prof.out_axons / 256));
}

export function relayClass(prof: Profile): string {
  return prof.tsc.relay_class;
}

/** Synapse bits of one relay compartment's input list (one entry). */
export function relayListBits(prof: Profile): number {
  return listBits(prof, 1, prof.weight_bits + idxBitsFor(prof, cxCapacity(prof)));
}

export function relayUsage(r: RelayItem, prof: Profile): Usage {
  const u = emptyUsage();
  u.cx = r.cx;
  u.inSlots = r.cx;
  u.axons = r.cx;
  u.bits = r.cx * relayListBits(prof);
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
  switch: "switch synapses need a persistent current: δu = 0 on a dsOffset = 0 core, with vmin/vmax covering the integrators' range (relays here use δu = δv = 4095)",
  impulse: "OR gates count ON events as one-step impulses: δu = 4095 on a dsOffset = 1 core (full decay), small vmax",
  "tsc-program": "cores running the microcode TSC neuron (integrate, ramp fire, ±1 graded spikes; relays as its forwarding mode)",
  "or-program": "cores running the microcode OR-of-switches unit",
};

// ---------------------------------------------------------------------------------------------------
// Tiling candidates

function distinctCeil(n: number): number[] {
  const s = new Set<number>();
  for (let g = 1; g <= n; g++) s.add(Math.ceil(n / g));
  return [...s].sort((a, b) => b - a);
}

/** Representative tiles of a tiling: the corner tile and an interior one (max usage bounds the rest). */
export function sampleTiles(p: Pop, t: Tiling): Tile[] {
  const [C, H, W] = dims(p);
  const mk = (c0: number, y0: number, x0: number): Tile => ({ pop: p, index: 0, c0, c1: Math.min(C, c0 + t.mc), y0, y1: Math.min(H, y0 + t.hr), x0, x1: Math.min(W, x0 + t.wr) });
  const out = [mk(0, 0, 0)];
  const iy = H > 2 * t.hr ? t.hr : 0;
  const ix = W > 2 * t.wr ? t.wr : 0;
  if (iy || ix) out.push(mk(0, iy, ix));
  return out;
}

/**
 * Channels of a layer differ in cost when the quantiser gave them threshold classes, own weight
 * exponents (their entries fill separate blocks and formats) or split integrators. For such a layer a
 * tiling is judged by every channel group (at the sampled positions), not only the first: the largest
 * share of a core's compartments, synapse memory or input axons any of its tiles needs (0 otherwise).
 */
export function heterogeneousWorst(p: Pop, t: Tiling, samples: readonly Tile[], net: Network, prof: Profile, uo: UsageOptions): number {
  if (p.kind === "or") return 0;
  if (!channelQuant(p) && !p.groups.some((g) => expGroups(g) !== null)) return 0;
  const C = dims(p)[0];
  let worst = 0;
  for (let c0 = t.mc; c0 < C; c0 += t.mc) {
    for (const x of samples) {
      const sh = shares(tileUsage({ ...x, c0, c1: Math.min(C, c0 + t.mc) }, net, prof, uo, 0, undefined, false), prof);
      worst = Math.max(worst, sh[0], sh[1], sh[2]);
    }
  }
  return worst;
}

/** A tiling with what its tiles cost the layer itself (independent of the consumers). */
export interface Candidate {
  readonly t: Tiling;
  readonly n: number;
  readonly samples: Tile[];
  /** Worst sampled tile's share of compartments, synapse memory and input-axon slots. */
  readonly ownWorst: number;
  /** The largest tile's share of a core's compartments. */
  readonly cxShare: number;
  /** Estimated totals over all tiles (mean of the samples × tiles), in bits and slots. */
  readonly bits: number;
  readonly inSlots: number;
}

const candidateCache = new WeakMap<Pop, { key: string; list: Candidate[] }>();

/** Every tiling of a population with its own (consumer-independent) costs. */
export function candidates(p: Pop, net: Network, prof: Profile, densePop: ReadonlySet<Group>): Candidate[] {
  const key = `${prof.name}|${prof.cx_per_core}|${prof.syn_bits_per_core}|${prof.in_axons}|${prof.delay_slots}|${[...densePop].map((g) => g.id).join(",")}|${String(p.op.attrs["loihi.fanin_split"] ?? "")}|${String(p.op.attrs["loihi.theta_shift"] ?? "")}|${p.groups.map((g) => String(g.op.attrs["loihi.weight_exps"] ?? "")).join(";")}`;
  const hit = candidateCache.get(p);
  if (hit && hit.key === key) return hit.list;
  const [C, H, W] = dims(p);
  const uo: UsageOptions = { densePop };
  const list: Candidate[] = [];
  const cq = p.kind === "or" ? null : channelQuant(p);
  for (const mc of distinctCeil(C)) {
    for (const hr of distinctCeil(H)) {
      for (const wr of distinctCeil(W)) {
        const t: Tiling = { mc, hr, wr };
        const samples = sampleTiles(p, t);
        const us = samples.map((x) => tileUsage(x, net, prof, uo, 0, undefined, false));
        let worst = 0;
        let bits = 0;
        let ins = 0;
        for (const u of us) {
          const sh = shares(u, prof);
          worst = Math.max(worst, sh[0], sh[1], sh[2]);
          bits += u.bits;
          ins += u.inSlots;
        }
        worst = Math.max(worst, heterogeneousWorst(p, t, samples, net, prof, uo));
        const n = tileCount(p, t);
        // Split channels' extra integrators: the channel group with the most of them.
        let extra = 0;
        if (cq) for (let c0 = 0; c0 < C; c0 += mc) extra = Math.max(extra, splitExtra(cq, c0, Math.min(C, c0 + mc)));
        const cxShare = (Math.min(C, mc) * Math.min(H, hr) * Math.min(W, wr) * cxPerNeuron(p, prof) + extra * Math.min(H, hr) * Math.min(W, wr)) / cxCapacity(prof);
        if (extra > 0) worst = Math.max(worst, cxShare);
        list.push({ t, n, samples, ownWorst: worst, cxShare, bits: (bits / us.length) * n, inSlots: (ins / us.length) * n });
      }
    }
  }
  candidateCache.set(p, { key, list });
  return list;
}

/** Out-axon entries of a tile: per consumer group, one per destination tile (or one per relay). */
export function tileOut(t: Box & { pop: Pop }, fans: readonly Fanout[] | undefined, relayed: ReadonlySet<Group>): number {
  let e = 0;
  if (fans) for (const f of fans) if (f.src === t.pop) e += f.per * (relayed.has(f.group) ? boxReached(f, t) : boxDest(f, t));
  return e;
}

/** Largest prefix-sum difference over the bands [k·r, (k+1)·r) of an axis of length n. */
function bandMax(S: Float64Array, n: number, r: number): number {
  let m = 0;
  for (let a = 0; a < n; a += r) m = Math.max(m, S[Math.min(n, a + r)]! - S[a]!);
  return m;
}

/**
 * An upper bound of the out-axon entries of any tile of a tiling (exact with one consumer group): per
 * group, the product of the per-axis maxima over the tiling's channel groups, row and column bands.
 */
export function maxTileOut(p: Pop, t: Tiling, fans: readonly Fanout[] | undefined, relayed: ReadonlySet<Group>): number {
  if (!fans) return 0;
  const [C, H, W] = dims(p);
  let e = 0;
  for (const f of fans) {
    if (f.src !== p) continue;
    e += relayed.has(f.group) ? f.per * bandMax(f.cgN, C, t.mc) * bandMax(f.rbN, H, t.hr) * bandMax(f.cbN, W, t.wr) : f.per * bandMax(f.cgS, C, t.mc) * bandMax(f.rbS, H, t.hr) * bandMax(f.cbS, W, t.wr);
  }
  return e;
}

/** Totals of a group's fan-out over whole source populations under a consumer tiling (cached). */
interface FanTotals {
  /** Σ per · D over all source neurons (direct out-axon entries). */
  readonly entries: number;
  /** Σ per · [D > 0] (relay compartments if relayed). */
  readonly reached: number;
  /** Largest D of one neuron. */
  readonly max: number;
  /** Per source population: classes of the sources (for per-class accounting). */
  readonly bySrc: { pop: Pop; entries: number; reached: number }[];
}

const fanTotalsCache = new WeakMap<Group, Map<string, FanTotals>>();

export function fanTotals(net: Network, prof: Profile, g: Group, t: Tiling): FanTotals {
  let m = fanTotalsCache.get(g);
  if (!m) fanTotalsCache.set(g, (m = new Map()));
  const key = `${prof.tsc.synapse}|${t.mc},${t.hr},${t.wr}`;
  let r = m.get(key);
  if (r) return r;
  let entries = 0;
  let reached = 0;
  let max = 0;
  const bySrc: FanTotals["bySrc"] = [];
  for (const f of fanoutOf(net, prof, g, t)) {
    const [C, H, W] = dims(f.src);
    const all: Box = { c0: 0, c1: C, y0: 0, y1: H, x0: 0, x1: W };
    const e = f.per * boxDest(f, all);
    const n = f.per * boxReached(f, all);
    entries += e;
    reached += n;
    max = Math.max(max, f.max);
    bySrc.push({ pop: f.src, entries: e, reached: n });
  }
  r = { entries, reached, max, bySrc };
  m.set(key, r);
  return r;
}

/** Whether a group with this largest per-neuron destination count goes through relays. */
export function wantsRelay(prof: Profile, maxDest: number, allowRelays = true): boolean {
  return allowRelays && prof.out_axons >= 64 && maxDest > relayThreshold(prof);
}

/** Resource prices (weight per core's worth of each resource) used to choose tilings. */
export interface Prices {
  readonly cx: number;
  readonly bits: number;
  readonly in: number;
  readonly out: number;
}

/** Estimated totals (in cores' worth of each resource) of a choice of tilings, per class. */
type Totals = Map<string, [number, number, number, number]>;

function addTotals(tot: Totals, cls: string, cx: number, bits: number, ins: number, out: number): void {
  let a = tot.get(cls);
  if (!a) tot.set(cls, (a = [0, 0, 0, 0]));
  a[0] += cx;
  a[1] += bits;
  a[2] += ins;
  a[3] += out;
}

/** Cores a set of totals needs at least if packing were perfect: Σ over classes of the largest resource. */
export function totalsCores(tot: Totals): number {
  let s = 0;
  for (const a of tot.values()) s += Math.max(...a);
  return s;
}

interface Choice {
  readonly tilings: Map<Pop, Tiling>;
  readonly relayed: Set<Group>;
  readonly fanouts: Fanout[];
  readonly totals: Totals;
}

/**
 * Choose every layer's tiling, consumers first, minimising the priced cost of the layer's own
 * resources plus the fan-out its split imposes on its sources.
 */
export function chooseTilings(net: Network, prof: Profile, densePop: ReadonlySet<Group>, gran: Granularity, prices: Prices, allowRelays = true): Choice {
  const tilings = new Map<Pop, Tiling>();
  const relayed = new Set<Group>();
  const fanouts: Fanout[] = [];
  const fansBySrc = new Map<Pop, Fanout[]>();
  const totals: Totals = new Map();
  const cap = { cx: cxCapacity(prof), bits: prof.syn_bits_per_core, in: prof.in_axons, out: prof.out_axons };
  const rlb = relayListBits(prof);
  const rcls = relayClass(prof);
  for (const p of [...net.placed].reverse()) {
    const cls = compatClass(p, prof);
    const cxTotal = p.size * cxPerNeuron(p, prof) + (p.kind === "or" ? 0 : splitExtra(channelQuant(p), 0, dims(p)[0]) * dims(p)[1] * dims(p)[2]);
    const list = candidates(p, net, prof, densePop);
    const myFans = fansBySrc.get(p);
    let best: { c: Candidate; cost: number; worst: number } | undefined;
    let fallback: { c: Candidate; worst: number } | undefined;
    for (const c of list) {
      // Own out-axons of the worst tile (consumers are tiled already).
      const outWorst = maxTileOut(p, c.t, myFans, relayed) / cap.out;
      const worst = Math.max(c.ownWorst, outWorst);
      if (!fallback || worst < fallback.worst) fallback = { c, worst };
      if (worst > 1 / gran.all + 1e-9 || c.cxShare > 1 / gran.cx + 1e-9) continue;
      // What this split makes the sources pay: direct entries, or relays (compartments, axons, lists).
      let out = 0;
      let rcx = 0;
      for (const g of p.groups) {
        const ft = fanTotals(net, prof, g, c.t);
        if (wantsRelay(prof, ft.max, allowRelays)) {
          out += ft.entries + ft.reached;
          rcx += ft.reached;
        } else out += ft.entries;
      }
      const perCore = Math.max(1, Math.floor(1 / Math.max(worst, 1e-9) + 1e-9));
      const priced = prices.cx * ((cxTotal + rcx) / cap.cx) + prices.bits * ((c.bits + rcx * rlb) / cap.bits) + prices.in * ((c.inSlots + rcx) / cap.in) + prices.out * (out / cap.out);
      const cost = priced + FRAGMENTATION * (c.n / perCore);
      if (!best || cost < best.cost - 1e-12 || (Math.abs(cost - best.cost) <= 1e-12 && c.n < best.c.n)) best = { c, cost, worst };
    }
    const chosen = (best ?? fallback)!.c;
    tilings.set(p, chosen.t);
    addTotals(totals, cls, cxTotal / cap.cx, chosen.bits / cap.bits, chosen.inSlots / cap.in, 0);
    for (const g of p.groups) {
      const fs = fanoutOf(net, prof, g, chosen.t);
      const ft = fanTotals(net, prof, g, chosen.t);
      const rel = wantsRelay(prof, ft.max, allowRelays);
      if (rel) relayed.add(g);
      for (const f of fs) {
        fanouts.push(f);
        let l = fansBySrc.get(f.src);
        if (!l) fansBySrc.set(f.src, (l = []));
        l.push(f);
      }
      for (const s of ft.bySrc) {
        addTotals(totals, compatClass(s.pop, prof), 0, 0, 0, (rel ? s.reached : s.entries) / cap.out);
        if (rel) addTotals(totals, rcls, s.reached / cap.cx, (s.reached * rlb) / cap.bits, s.reached / cap.in, s.entries / cap.out);
      }
    }
  }
  return { tilings, relayed, fanouts, totals };
}

/** Weight of "cores if this layer's tiles were packed only with each other" in the tiling cost. */
const FRAGMENTATION = 0.05;

// ---------------------------------------------------------------------------------------------------
// Packing

function dominant(u: Usage, prof: Profile): number {
  return Math.max(...shares(u, prof));
}

/** Whether compartments are (one of) the scarcest resource of a core's usage. */
function cxBound(u: Usage, prof: Profile): boolean {
  const sh = shares(u, prof);
  return sh[0] >= Math.max(sh[1], sh[2], sh[3]);
}

interface Bin {
  core: CoreInfo;
  open: boolean;
}

function newCore(cores: CoreInfo[], cls: string): CoreInfo {
  const c: CoreInfo = { id: cores.length, cls, tiles: [], clocks: [], relays: [], usage: emptyUsage(), outAxons: 0 };
  cores.push(c);
  return c;
}

function pack(items: { tile?: Tile; clock?: ClockItem; usage: Usage; cls: string }[], prof: Profile, cores: CoreInfo[], bins: Map<string, Bin[]>, tileCore: Map<Tile, number>, window = 400): void {
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
      best = { core: newCore(cores, it.cls), open: true };
      list.push(best);
    }
    addUsage(best.core.usage, it.usage);
    if (it.tile) {
      best.core.tiles.push(it.tile);
      tileCore.set(it.tile, best.core.id);
    }
    if (it.clock) best.core.clocks.push(it.clock);
    if (dominant(best.core.usage, prof) > 0.995) best.open = false;
  }
}

/** Relay compartments and out-axon entries of a run, for a group's fan-out from one source tile. */
export function relayOfRun(f: Fanout, g: Group, t: Tile, i0: number, i1: number): RelayItem {
  const { dest, reached } = runDest(f, t, i0, i1);
  return { group: g, tile: t, i0, i1, cx: f.per * reached, fanout: f.per * dest, core: -1 };
}

function unionSize(a: Set<string>, key: string): number {
  return a.size + (a.has(key) ? 0 : 1);
}

/**
 * Allocate the relays of every relayed group: runs of each source tile's neurons, best fit. Every core
 * of the relay class with room (open tile cores with at least out_axons/8 free out-axons, and every
 * relay core once opened) waits in buckets by free out-axons; a run starts on the core with the least
 * free out-axons that still holds its first neuron (ties: the core that entered its bucket last) and
 * grows as long as that core's free out-axons, compartments, input axons and synapse memory allow. A
 * new core opens only when no waiting core holds the neuron. A relay holds all destinations of its
 * source compartment, so with dense fan-out (hundreds of destinations per neuron) a core's last relay
 * that does not fit leaves a gap; best fit lets later neurons with fewer destinations (other groups,
 * tile borders) fill those gaps instead of opening cores.
 */
function packRelays(net: Network, prof: Profile, part: { tiles: Tile[]; fanouts: Fanout[]; relayed: Set<Group> }, cores: CoreInfo[]): RelayItem[] {
  const cls = relayClass(prof);
  const cap = cxCapacity(prof);
  const rlb = relayListBits(prof);
  const minGap = Math.max(1, Math.floor(prof.out_axons / 8));
  const pol = polarities(prof);
  const free = (c: CoreInfo): { out: number; cx: number } => {
    const u = c.usage;
    const okTables = unionSize(u.cxProfiles, "relay") <= prof.max_cx_profiles && unionSize(u.vthProfiles, "relay") <= prof.max_vth_profiles && unionSize(u.formats, "relay") <= prof.max_syn_formats;
    if (!okTables) return { out: 0, cx: 0 };
    return { out: prof.out_axons - u.outEst, cx: Math.max(0, Math.min(cap - u.cx, prof.in_axons - u.inSlots, Math.floor((prof.syn_bits_per_core - u.bits) / rlb))) };
  };
  // Waiting cores by free out-axons (bucket per value, 64-value blocks counted for a fast scan).
  const B = 64;
  const buckets: CoreInfo[][] = Array.from({ length: prof.out_axons + 1 }, () => []);
  const blockCount = new Int32Array(Math.ceil((prof.out_axons + 1) / B));
  const bucketOf = new Map<CoreInfo, number>();
  const wait = (c: CoreInfo): void => {
    const fr = free(c);
    if (fr.out <= 0 || fr.cx < pol) return;
    const o = Math.min(fr.out, prof.out_axons);
    buckets[o]!.push(c);
    blockCount[Math.floor(o / B)]!++;
    bucketOf.set(c, o);
  };
  const unwait = (c: CoreInfo): void => {
    const o = bucketOf.get(c);
    if (o === undefined) return;
    const l = buckets[o]!;
    l.splice(l.lastIndexOf(c), 1);
    blockCount[Math.floor(o / B)]!--;
    bucketOf.delete(c);
  };
  /** The waiting core with the least free out-axons ≥ e and ≥ x free relay compartments. */
  const bestFit = (e: number, x: number): CoreInfo | undefined => {
    let o = Math.max(0, e);
    while (o <= prof.out_axons) {
      const blk = Math.floor(o / B);
      if (blockCount[blk] === 0) {
        o = (blk + 1) * B;
        continue;
      }
      const l = buckets[o]!;
      for (let k = l.length - 1; k >= 0; k--) if (free(l[k]!).cx >= x) return l[k];
      o++;
    }
    return undefined;
  };
  // Open cores of the relay class with room, most free out-axons first (their order in the buckets).
  cores
    .filter((c) => c.cls === cls)
    .map((c) => ({ c, f: free(c) }))
    .filter((x) => x.f.out >= minGap && x.f.cx >= pol)
    .sort((a, b) => a.f.out - b.f.out || b.c.id - a.c.id)
    .forEach((x) => wait(x.c));
  const items: RelayItem[] = [];
  const tilesOfPop = tilesByPop(part.tiles);
  const place = (c: CoreInfo, r: RelayItem): void => {
    r.core = c.id;
    c.relays.push(r);
    addUsage(c.usage, relayUsage(r, prof));
    items.push(r);
  };
  for (const g of net.groups) {
    if (!part.relayed.has(g)) continue;
    for (const f of part.fanouts) {
      if (f.group !== g) continue;
      for (const t of tilesOfPop.get(f.src) ?? []) {
        const n = (t.c1 - t.c0) * (t.y1 - t.y0) * (t.x1 - t.x0);
        let i = 0;
        while (i < n) {
          const one = relayOfRun(f, g, t, i, i + 1);
          let c = bestFit(one.fanout, one.cx);
          if (c) unwait(c);
          else c = newCore(cores, cls);
          let fr = free(c);
          let j = longestRun(f, t, i, fr.out, fr.cx);
          if (j === i && (c.tiles.length > 0 || c.clocks.length > 0 || c.relays.length > 0)) {
            // Not expected (bestFit checked the neuron); fall back to a new core.
            wait(c);
            c = newCore(cores, cls);
            fr = free(c);
            j = longestRun(f, t, i, fr.out, fr.cx);
          }
          if (j === i) {
            // One neuron's relays do not fit an empty core: place it anyway (the DRC names the limit).
            place(c, one);
            i++;
            continue;
          }
          const r = relayOfRun(f, g, t, i, j);
          i = j;
          if (r.cx > 0) place(c, r);
          wait(c);
        }
      }
    }
  }
  return items;
}

export function partitionOnce(net: Network, prof: Profile, gran: Granularity, coreExp: boolean, prices: Prices, allowRelays = true): Partition {
  const densePop = densePopGroups(net, prof);
  const uo: UsageOptions = { densePop };
  const choice = chooseTilings(net, prof, densePop, gran, prices, allowRelays);
  const { tilings, relayed, fanouts } = choice;
  const tiles: Tile[] = [];
  const items: { tile?: Tile; clock?: ClockItem; usage: Usage; cls: string }[] = [];
  for (const p of net.placed) {
    const t = tilings.get(p)!;
    for (const tile of tilesOf(p, t)) {
      tiles.push(tile);
      const u = tileUsage(tile, net, prof, uo);
      u.outEst = tileOut(tile, fanouts, relayed);
      if (coreExp) for (const g of p.groups) if (g.kind !== "pool") u.formats.add(`g${g.id}:cg${tile.c0}`);
      items.push({ tile, usage: u, cls: compatClass(p, prof) });
    }
  }
  // Largest dominant share first; ties by population and tile order (deterministic).
  const order = items.map((it, i) => ({ it, i, d: dominant(it.usage, prof) }));
  order.sort((a, b) => b.d - a.d || a.i - b.i);
  const cores: CoreInfo[] = [];
  const bins = new Map<string, Bin[]>();
  const tileCore = new Map<Tile, number>();
  pack(order.map((o) => o.it), prof, cores, bins, tileCore);
  // Layer clocks (Loihi 1): compartments that drive every core of their layer.
  if (prof.tsc.clock_cx_per_layer > 0) {
    const clockItems = clockItemsOf(net, prof, tiles, tileCore);
    pack(clockItems, prof, cores, bins, tileCore);
  }
  const relays = relayed.size ? packRelays(net, prof, { tiles, fanouts, relayed }, cores) : [];
  return { tilings, tiles, tileCore, cores, traffic: Traffic.empty(), hostTraffic: new Map(), densePop, granularity: gran, relayed, relays: canonicalRelays(net, relays), fanouts };
}

/** Tiles grouped by population, each list in the order given (tiling order for a partition's tiles). */
export function tilesByPop(tiles: readonly Tile[]): Map<Pop, Tile[]> {
  const byPop = new Map<Pop, Tile[]>();
  for (const t of tiles) {
    let l = byPop.get(t.pop);
    if (!l) byPop.set(t.pop, (l = []));
    l.push(t);
  }
  return byPop;
}

/** Relay runs in canonical order: group, source population, source tile, first neuron. */
export function canonicalRelays(net: Network, relays: RelayItem[]): RelayItem[] {
  const gi = new Map(net.groups.map((g, i) => [g, i]));
  return [...relays].sort((a, b) => gi.get(a.group)! - gi.get(b.group)! || a.tile.pop.id - b.tile.pop.id || a.tile.index - b.tile.index || a.i0 - b.i0);
}

/** The clock groups of each layer (Loihi 1): ≤ out_axons / clock_cx cores driven per group. */
export function clockItemsOf(net: Network, prof: Profile, tiles: Tile[], tileCore: Map<Tile, number>): { clock: ClockItem; usage: Usage; cls: string }[] {
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
      clockItems.push({ clock, usage: clockUsage(clock), cls: compatClass(p, prof) === "impulse" ? "switch" : compatClass(p, prof) });
    }
  }
  return clockItems;
}

export function clockUsage(clock: ClockItem): Usage {
  const u = emptyUsage();
  u.cx = clock.cx;
  u.outEst = clock.cx * clock.cores.length;
  u.cxProfiles.add("clock");
  u.vthProfiles.add("clock");
  return u;
}

// ---------------------------------------------------------------------------------------------------
// Traffic

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

/** Atoms (source channels) [a0, a1) that a target channel range reads through a conv group. */
function atomRange(g: Group, c0: number, c1: number): [number, number] {
  const geo = g.geo!;
  const Mg = geo.M / geo.group;
  const Cg = geo.C / geo.group;
  return [Math.floor(c0 / Mg) * Cg, (Math.floor((c1 - 1) / Mg) + 1) * Cg];
}

/**
 * Every (source tile → target tile) overlap of the groups that are not relayed: `visit` gets the source
 * core (−1: host injection), the target core, how many source neurons the target tile reads and the
 * out-axon entries per neuron. Source tiles of one band are aggregated per core.
 */
export function forEachOverlap(net: Network, part: { tilings: Map<Pop, Tiling>; tiles: Tile[]; tileCore: Map<Tile, number>; relayed?: ReadonlySet<Group> }, prof: Profile, visit: (srcCore: number, dstCore: number, neurons: number, perNeuron: number, g: Group) => void): void {
  const byPop = tilesByPop(part.tiles);
  for (const g of net.groups) {
    if (part.relayed?.has(g)) continue;
    const perNeuron = entriesPerDest(g, prof);
    const pieces = net.resolve(g.source);
    const srcPop = pieces[0]!.pop;
    const tgtTiles = byPop.get(g.target) ?? [];
    const simple = isSimpleConv(net, g);
    const bandMemo = new Map<string, number[]>();
    for (const tt of tgtTiles) {
      const dst = part.tileCore.get(tt)!;
      if (simple) {
        const nd = needs(g, tt);
        const [a0, a1] = atomRange(g, tt.c0, tt.c1);
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
            const key = `${by},${bx},${a0},${a1}`;
            let agg = bandMemo.get(key);
            if (!agg) {
              const per = new Map<number, number>();
              for (let cg = Math.floor(a0 / st.mc); cg * st.mc < a1; cg++) {
                const s = srcTiles[(cg * nbY + by) * nbX + bx]!;
                const ch = Math.min(s.c1, a1) - Math.max(s.c0, a0);
                if (ch <= 0) continue;
                const core = part.tileCore.get(s)!;
                per.set(core, (per.get(core) ?? 0) + ch);
              }
              agg = [...per.entries()].sort((x, y) => x[0] - y[0]).flat();
              bandMemo.set(key, agg);
            }
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
            if (n > 0) visit(part.tileCore.get(s)!, dst, n, perNeuron, g);
          }
        }
      }
    }
  }
}

/**
 * The destinations of a relay run: every target tile that reads some of its neurons, with how many.
 * `visit(i, neurons)` gets the tile's position i in `tgtTiles` (tiling order), in (channel tile, row
 * band, column band) order.
 */
export function forEachRelayDest(net: Network, r: RelayItem, f: Fanout, tgtTiling: Tiling, tgtTiles: readonly Tile[], visit: (i: number, neurons: number) => void): void {
  const g = r.group;
  if (f.kind === "all") {
    const n = r.i1 - r.i0;
    for (let i = 0; i < tgtTiles.length; i++) visit(i, n);
    return;
  }
  const boxes = runBoxes(r.tile, r.i0, r.i1);
  if (f.kind === "one") {
    for (const b of boxes) {
      for (let i = 0; i < tgtTiles.length; i++) {
        const tt = tgtTiles[i]!;
        const n = Math.max(0, Math.min(b.c1, tt.c1) - Math.max(b.c0, tt.c0)) * Math.max(0, Math.min(b.y1, tt.y1) - Math.max(b.y0, tt.y0)) * Math.max(0, Math.min(b.x1, tt.x1) - Math.max(b.x0, tt.x0));
        if (n > 0) visit(i, n);
      }
    }
    return;
  }
  for (const b of boxes) convBoxDest(g, tgtTiling, b, visit);
}

/**
 * The row and column bands of a conv group's target tiling that read a box of source neurons, with how
 * many of the box's rows / columns each reads (they do not depend on the channel tile).
 */
function boxBands(g: Group, tgtTiling: Tiling, b: Box): { nbY: number; nbX: number; nct: number; rowBand: number[]; rowCount: number[]; colBand: number[]; colCount: number[] } {
  const geo = g.geo!;
  const [M, OH, OW] = dims(g.target);
  const nbY = Math.ceil(OH / tgtTiling.hr);
  const nbX = Math.ceil(OW / tgtTiling.wr);
  const rowNeeds = bandNeeds(geo.H, OH, tgtTiling.hr, geo.kh, geo.sh, geo.pt, geo.dh);
  const colNeeds = bandNeeds(geo.W, OW, tgtTiling.wr, geo.kw, geo.sw, geo.pl, geo.dw);
  const bands = (needs: number[][], n: number, lo: number, hi: number, band: number[], count: number[]): void => {
    for (let k = 0; k < n; k++) {
      const nd = needs[k]!;
      if (nd.length === 0 || nd[nd.length - 1]! < lo || nd[0]! >= hi) continue;
      const c = countIn(nd, lo, hi);
      if (c === 0) continue;
      band.push(k);
      count.push(c);
    }
  };
  const rowBand: number[] = [];
  const rowCount: number[] = [];
  const colBand: number[] = [];
  const colCount: number[] = [];
  bands(rowNeeds, nbY, b.y0, b.y1, rowBand, rowCount);
  if (rowBand.length > 0) bands(colNeeds, nbX, b.x0, b.x1, colBand, colCount);
  return { nbY, nbX, nct: Math.ceil(M / tgtTiling.mc), rowBand, rowCount, colBand, colCount };
}

/** The target tiles of a conv group that read a box of source neurons, with how many (channels × rows × columns read). */
function convBoxDest(g: Group, tgtTiling: Tiling, b: Box, visit: (i: number, neurons: number) => void): void {
  const geo = g.geo!;
  const M = dims(g.target)[0];
  const Mg = geo.M / geo.group;
  const Cg = geo.C / geo.group;
  const { nbY, nbX, nct, rowBand, rowCount, colBand, colCount } = boxBands(g, tgtTiling, b);
  if (rowBand.length === 0 || colBand.length === 0) return;
  for (let ct = 0; ct < nct; ct++) {
    // atomRange inlined: the source channels [a0, a1) that target channels of tile ct read.
    const c0 = ct * tgtTiling.mc;
    const c1 = Math.min(M, c0 + tgtTiling.mc);
    const a0 = Math.floor(c0 / Mg) * Cg;
    const a1 = (Math.floor((c1 - 1) / Mg) + 1) * Cg;
    const ch = Math.min(a1, b.c1) - Math.max(a0, b.c0);
    if (ch <= 0) continue;
    for (let i = 0; i < rowBand.length; i++) {
      const base = (ct * nbY + rowBand[i]!) * nbX;
      const cr = ch * rowCount[i]!;
      for (let j = 0; j < colBand.length; j++) visit(base + colBand[j]!, cr * colCount[j]!);
    }
  }
}

/**
 * convBoxDest for a group = 1 conv, whose every channel tile reads all chAll channels of the box (so
 * boxes of one spatial extent can be summed first), accumulated straight into a per-core
 * message array (acc[core] += neurons · mult; first touches listed in `touched`, as countTraffic's
 * add): tens of millions of visits on CIFAR VGG-16, so no callback. Returns Σ neurons.
 */
function convBoxAccumulate(g: Group, tgtTiling: Tiling, b: Box, chAll: number, coreOf: Int32Array, mult: number, acc: Float64Array, touched: number[]): number {
  const { nbY, nbX, nct, rowBand, rowCount, colBand, colCount } = boxBands(g, tgtTiling, b);
  if (rowBand.length === 0 || colBand.length === 0 || chAll <= 0) return 0;
  let total = 0;
  for (let ct = 0; ct < nct; ct++) {
    for (let i = 0; i < rowBand.length; i++) {
      const base = (ct * nbY + rowBand[i]!) * nbX;
      const cr = chAll * rowCount[i]!;
      for (let j = 0; j < colBand.length; j++) {
        const k = cr * colCount[j]!;
        const d = coreOf[base + colBand[j]!]!;
        if (acc[d] === 0) touched.push(d);
        acc[d]! += k * mult;
        total += k;
      }
    }
  }
  return total;
}

/** Spikes per source compartment per inference when the neuron is active (ON once, OFF once; graded: 2 on one axon). */
export function spikesPerCompartment(prof: Profile): number {
  return prof.tsc.synapse === "option-a" ? 1 : 2;
}

/** Count out-axons and worst-case core-to-core traffic of a packed partition (fills part.traffic). */
export function countTraffic(net: Network, prof: Profile, part: Partition): void {
  const cores = part.cores;
  for (const c of cores) c.outAxons = 0;
  const tb = new TrafficBuilder(cores.length);
  part.hostTraffic.clear();
  const spc = spikesPerCompartment(prof);
  const acc = new Float64Array(cores.length);
  const touched: number[] = [];
  const flush = (src: number): void => {
    tb.addRow(src, touched, acc);
    for (const d of touched) acc[d] = 0;
    touched.length = 0;
  };
  const add = (dst: number, m: number): void => {
    if (acc[dst] === 0) touched.push(dst);
    acc[dst]! += m;
  };
  forEachOverlap(net, part, prof, (src, dst, n, perNeuron) => {
    if (src < 0) {
      part.hostTraffic.set(dst, (part.hostTraffic.get(dst) ?? 0) + n * perNeuron * spc);
      return;
    }
    cores[src]!.outAxons += n * perNeuron;
    tb.add(src, dst, n * perNeuron * spc);
  });
  for (const c of cores) {
    for (const ck of c.clocks) {
      c.outAxons += ck.cx * ck.cores.length;
      for (const d of ck.cores) tb.add(c.id, d, ck.cx);
    }
  }
  if (part.relays.length) {
    const fanOf = new Map<string, Fanout>();
    for (const f of part.fanouts) fanOf.set(`${f.group.id}:${f.src.id}`, f);
    const byPop = tilesByPop(part.tiles);
    // Source compartments → their relays, relays → the consumer tiles, per relay core.
    for (const r of part.relays) {
      const src = part.tileCore.get(r.tile)!;
      cores[src]!.outAxons += r.cx;
      tb.add(src, r.core, r.cx * spc);
    }
    const byCore = new Map<number, RelayItem[]>();
    for (const r of part.relays) {
      let l = byCore.get(r.core);
      if (!l) byCore.set(r.core, (l = []));
      l.push(r);
    }
    // Per consumer population: the core of each tile, in tiling order.
    const coreOfTile = new Map<Pop, Int32Array>();
    for (const [p, l] of byPop) coreOfTile.set(p, Int32Array.from(l, (t) => part.tileCore.get(t)!));
    // A relay core's runs mostly share a few spatial extents (channels of the same source tiles): for
    // dense consumers and group = 1 convs the destinations of a box depend only on its extent, with
    // counts proportional to its channels (neurons), so runs are summed per extent and swept once.
    // Every count is an integer, so the sums equal the run-by-run ones.
    const sums = new Map<string, { f: Fanout; box: Box; n: number }>();
    for (const [core, list] of [...byCore.entries()].sort((a, b) => a[0] - b[0])) {
      let out = 0;
      sums.clear();
      for (const r of list) {
        const f = fanOf.get(`${r.group.id}:${r.tile.pop.id}`)!;
        if (f.kind === "all" || (f.kind === "conv" && r.group.geo!.group === 1)) {
          if (f.kind === "all") {
            const key = `a${r.group.id}:${f.src.id}`;
            const e = sums.get(key);
            if (e) e.n += r.i1 - r.i0;
            else sums.set(key, { f, box: r.tile, n: r.i1 - r.i0 });
          } else
            for (const b of runBoxes(r.tile, r.i0, r.i1)) {
              const key = `c${r.group.id}:${f.src.id}:${b.y0},${b.y1},${b.x0},${b.x1}`;
              const e = sums.get(key);
              if (e) e.n += b.c1 - b.c0;
              else sums.set(key, { f, box: b, n: b.c1 - b.c0 });
            }
          continue;
        }
        const per = f.per;
        const tc = coreOfTile.get(r.group.target) ?? new Int32Array(0);
        forEachRelayDest(net, r, f, part.tilings.get(r.group.target)!, byPop.get(r.group.target) ?? [], (i, n) => {
          out += n * per;
          add(tc[i]!, n * per * spc);
        });
      }
      for (const { f, box, n } of sums.values()) {
        const per = f.per;
        const g = f.group;
        const tc = coreOfTile.get(g.target) ?? new Int32Array(0);
        if (f.kind === "all") {
          for (let i = 0; i < tc.length; i++) {
            out += n * per;
            add(tc[i]!, n * per * spc);
          }
        } else out += per * convBoxAccumulate(g, part.tilings.get(g.target)!, box, n, tc, per * spc, acc, touched);
      }
      cores[core]!.outAxons += out;
      flush(core);
    }
  }
  part.traffic = tb.build();
  for (const c of cores) c.outAxons = Math.round(c.outAxons);
}

// ---------------------------------------------------------------------------------------------------
// Driver

function normPrices(x: [number, number, number, number]): Prices {
  const s = x[0] + x[1] + x[2] + x[3] || 1;
  return { cx: x[0] / s, bits: x[1] / s, in: x[2] / s, out: x[3] / s };
}

/** Price rounds: start from the resources' estimated totals, then shift weight to the scarcest one. */
function priceRounds(net: Network, prof: Profile, densePop: ReadonlySet<Group>, gran: Granularity, allowRelays: boolean, rounds: number): { prices: Prices; est: number }[] {
  const out: { prices: Prices; est: number }[] = [];
  let w: [number, number, number, number] = [1, 1, 1, 1];
  for (let it = 0; it < rounds; it++) {
    const prices = normPrices(w);
    const ch = chooseTilings(net, prof, densePop, gran, prices, allowRelays);
    const est = totalsCores(ch.totals);
    out.push({ prices, est });
    // Aggregate the resource totals over classes (weighted by each class's share of the estimate).
    const agg: [number, number, number, number] = [0, 0, 0, 0];
    for (const a of ch.totals.values()) for (let r = 0; r < 4; r++) agg[r]! += a[r]!;
    const m = Math.max(...agg) || 1;
    w = w.map((x, r) => x * Math.exp(4 * (agg[r]! / m - 1))) as [number, number, number, number];
  }
  return out;
}

/**
 * The granularities tried, finest last: every combination of the requested ones (γ, γ_cx), with γ_cx
 * raised to γ (a tile within 1/γ of every resource is within 1/γ of the compartments), duplicates
 * dropped. By default (1, 1), (1, 2), (1, 4), (2, 2) and (2, 4): quarter-core compartment tiles
 * pack mixed small layers tighter (Fashion-MNIST cnn-small on Loihi 1: 87 cores against 92 with
 * (1, 2); the bound is 85).
 */
export function granularities(all: readonly number[] = [1, 2], cx: readonly number[] = [1, 2, 4]): Granularity[] {
  const out: Granularity[] = [];
  for (const a of all) for (const c of cx) if (!out.some((g) => g.all === a && g.cx === Math.max(a, c))) out.push({ all: a, cx: Math.max(a, c) });
  return out.sort((x, y) => x.all - y.all || x.cx - y.cx);
}

/** Partition the network; tries granularities and price rounds, keeps the fewest cores. */
export function partitionNetwork(net: Network, prof: Profile, opts: { coreExp: boolean; granularities?: readonly Granularity[] }): Partition {
  const densePop = densePopGroups(net, prof);
  let best: Partition | undefined;
  const debug = !!process.env["TSCC_LOIHI_DEBUG"];
  for (const gran of opts.granularities ?? granularities()) {
    // Finer granularities only pay off for small mappings (their packing is coarse, and every one is
    // a full partition); skip them for big ones.
    if ((gran.all > 1 || gran.cx > 1) && !opts.granularities && best && best.cores.length > 2000) break;
    // Half- or quarter-core compartment tiles pair compartment-bound tiles with others; without
    // compartment-bound cores there is nothing to pair.
    if (gran.cx > gran.all && !opts.granularities && best && !best.cores.some((c) => cxBound(c.usage, prof))) continue;
    const rounds = priceRounds(net, prof, densePop, gran, true, 6);
    // Pack the two best-estimated price vectors (distinct estimates) and keep the better partition.
    const tried = new Set<string>();
    const ranked = [...rounds].sort((a, b) => a.est - b.est);
    let packed = 0;
    for (const r of ranked) {
      const k = r.est.toFixed(3);
      if (tried.has(k)) continue;
      tried.add(k);
      const part = partitionOnce(net, prof, gran, opts.coreExp, r.prices);
      if (debug) process.stderr.write(`loihi partition: γ=${gran.all} γ_cx=${gran.cx} prices ${JSON.stringify(r.prices, (_k, v) => (typeof v === "number" ? Number(v.toFixed(3)) : v))} est ${r.est.toFixed(1)}: ${part.cores.length} cores, ${part.tiles.length} tiles, ${part.relays.length} relay runs\n`);
      if (!best || part.cores.length < best.cores.length) best = part;
      // The second price vector rarely wins on big mappings (VGG-16: 24,627 vs 24,303 cores), where a
      // packing costs a second or more; small ones try both.
      if (++packed >= 2 || (!opts.granularities && best.cores.length > 2000)) break;
    }
  }
  countTraffic(net, prof, best!);
  return best!;
}

/** Compartment capacity per core used by the packer (for reports). */
export function coreCapacity(prof: Profile): { cx: number; bits: number; inSlots: number; outAxons: number } {
  return { cx: cxCapacity(prof), bits: prof.syn_bits_per_core, inSlots: prof.in_axons, outAxons: prof.out_axons };
}

export { bandCounts, polarities };
