/**
 * The loihi passes keep their results in the IR (so `--dump-ir-after loihi:partition` shows them) and
 * every later stage rebuilds what it needs from there:
 *
 * module    loihi.profile (spec), loihi.profile_name, loihi.exponent, loihi.num_cores, loihi.granularity ([γ, γ_cx]),
 *           loihi.core_class (per core), loihi.classes, loihi.placement (chip, x, y, slot per core),
 *           loihi.chips, loihi.traffic_* (route summary)
 * neuron    snn.tsc / snn.decode: loihi.scale (Θ), loihi.vth_mant, loihi.phi (Φ), loihi.bias_mant (a
 *           constant), loihi.bias_exp, loihi.bound_by; with snn.max_pool: loihi.tiling = [mc, hr, wr],
 *           loihi.cores (core of each tile), loihi.clock_cores (core of each clock group)
 * synapse   snn.conv / snn.dense / snn.scale: loihi.weight_mant (a constant of integer mantissas),
 *           loihi.weight_exps (one exponent per output channel); with snn.max_pool: loihi.relays, the
 *           relay runs of a relayed group as [source layer id, source tile, first neuron, end, core]
 *           quintuples (their presence gives the group its extra step)
 */
import type { Module, Op } from "../../ir/index.js";
import { buildNetwork, type Group, type Network, type Pop } from "./model.js";
import { fanoutOf, type Fanout } from "./fanout.js";
import { canonicalRelays, clockUsage, countTraffic, relayOfRun, relayUsage, tileOut, type ClockItem, type CoreInfo, type Granularity, type Partition, type RelayItem } from "./partition.js";
import type { Placement, Slot } from "./place.js";
import { loadProfile, type Profile } from "./profile.js";
import { decodeSplits, type ChannelSplit } from "./quant.js";
import { Traffic } from "./traffic.js";
import { addUsage, densePopGroups, emptyUsage, tilesOf, tileUsage, type Tile } from "./resources.js";

export interface GroupQuant {
  readonly exps: number[];
  readonly mant: Float32Array;
}

export interface PopQuant {
  /** Layer scale Θ; channel c uses Θ / 2^shifts[c] (threshold classes), or Θ when shifts is null. */
  readonly scale: number;
  readonly shifts: readonly number[] | null;
  /** Channels whose fan-in is split over several integrator compartments. */
  readonly splits: readonly ChannelSplit[];
  readonly vth_mant: number;
  readonly phi: number;
  readonly bias_mant: Float32Array | null;
  readonly bias_exp: number;
  readonly bound_by: string;
}

export interface State {
  readonly m: Module;
  readonly net: Network;
  readonly prof: Profile;
  readonly exponent: "layer" | "core";
  readonly quant?: { pops: Map<Pop, PopQuant>; groups: Map<Group, GroupQuant> };
  readonly part?: Partition;
  readonly placement?: Placement;
}

export function profileSpec(m: Module): string {
  return (m.attrs["loihi.profile"] as string | undefined) ?? "loihi1";
}

function constData(m: Module, name: unknown): Float32Array | null {
  if (typeof name !== "string") return null;
  const c = m.consts.get(name);
  return c ? (c.data as Float32Array) : null;
}

export function neuronOp(p: Pop): Op {
  return p.op;
}

export function loadState(m: Module, cwd?: string): State {
  const prof = loadProfile(profileSpec(m), cwd);
  const net = buildNetwork(m);
  const exponent = (m.attrs["loihi.exponent"] as "layer" | "core" | undefined) ?? "layer";
  let quant: State["quant"];
  if (m.attrs["loihi.quantized"] === true) {
    const pops = new Map<Pop, PopQuant>();
    const groups = new Map<Group, GroupQuant>();
    for (const p of net.placed) {
      if (p.kind === "or") continue;
      const a = p.op.attrs;
      pops.set(p, { scale: a["loihi.scale"] as number, shifts: (a["loihi.theta_shift"] as number[] | undefined) ?? null, splits: decodeSplits(a["loihi.fanin_split"] as number[] | undefined), vth_mant: a["loihi.vth_mant"] as number, phi: a["loihi.phi"] as number, bias_mant: constData(m, a["loihi.bias_mant"]), bias_exp: (a["loihi.bias_exp"] as number | undefined) ?? 0, bound_by: (a["loihi.bound_by"] as string | undefined) ?? "" });
      for (const g of p.groups) {
        const mant = constData(m, g.op.attrs["loihi.weight_mant"]);
        if (mant) groups.set(g, { exps: [...(g.op.attrs["loihi.weight_exps"] as number[])], mant });
      }
    }
    quant = { pops, groups };
  }
  let part: Partition | undefined;
  const numCores = m.attrs["loihi.num_cores"] as number | undefined;
  if (numCores !== undefined) {
    // The partition pass leaves its result in a cache keyed by the module and its partition attributes;
    // anything else (a reloaded or edited module) is rebuilt from the attributes.
    const hit = partitionCache.get(m);
    const sig = partitionSignature(m);
    if (hit && hit.sig === sig && hit.net.placed.length === net.placed.length) part = remapPartition(hit.part, hit.net, net);
    else part = rebuildPartition(m, net, prof, numCores, exponent === "core");
  }
  let placement: Placement | undefined;
  const pl = m.attrs["loihi.placement"] as number[] | undefined;
  if (pl && part) {
    const slots: Slot[] = [];
    for (let i = 0; i < part.cores.length; i++) slots.push({ chip: pl[4 * i]!, gx: pl[4 * i + 1]!, gy: pl[4 * i + 2]!, k: pl[4 * i + 3]! });
    placement = { slots, chips: m.attrs["loihi.chips"] as number };
  }
  return { m, net, prof, exponent, ...(quant ? { quant } : {}), ...(part ? { part } : {}), ...(placement ? { placement } : {}) };
}

/** Rebuild tiles, cores, usages and traffic from the partition attributes. */
export function rebuildPartition(m: Module, net: Network, prof: Profile, numCores: number, coreExp: boolean): Partition {
  const densePop = densePopGroups(net, prof);
  const uo = { densePop };
  const classes = (m.attrs["loihi.classes"] as string[] | undefined) ?? [];
  const coreClass = (m.attrs["loihi.core_class"] as number[] | undefined) ?? [];
  const cores: CoreInfo[] = Array.from({ length: numCores }, (_, id) => ({ id, cls: classes[coreClass[id] ?? 0] ?? "switch", tiles: [], clocks: [], relays: [], usage: emptyUsage(), outAxons: 0 }));
  const tilings = new Map<Pop, { mc: number; hr: number; wr: number }>();
  const tiles: Tile[] = [];
  const tileCore = new Map<Tile, number>();
  for (const p of net.placed) {
    const t = p.op.attrs["loihi.tiling"] as number[] | undefined;
    if (!t || !p.op.attrs["loihi.cores"]) throw new Error(`loihi: layer ${p.name} has no partition attributes (run loihi:partition)`);
    tilings.set(p, { mc: t[0]!, hr: t[1]!, wr: t[2]! });
  }
  const relayed = new Set<Group>();
  for (const g of net.groups) if (g.op.attrs["loihi.relays"]) relayed.add(g);
  const fanouts: Fanout[] = [];
  for (const g of net.groups) fanouts.push(...fanoutOf(net, prof, g, tilings.get(g.target)!));
  const tilesOfPop = new Map<Pop, Tile[]>();
  for (const p of net.placed) {
    const where = p.op.attrs["loihi.cores"] as number[];
    const list = tilesOf(p, tilings.get(p)!);
    tilesOfPop.set(p, list);
    if (list.length !== where.length) throw new Error(`loihi: layer ${p.name}: ${where.length} cores for ${list.length} tiles`);
    list.forEach((tile, i) => {
      tiles.push(tile);
      const core = cores[where[i]!]!;
      tileCore.set(tile, core.id);
      core.tiles.push(tile);
      const u = tileUsage(tile, net, prof, uo);
      u.outEst = tileOut(tile, fanouts, relayed);
      if (coreExp) for (const g of p.groups) if (g.kind !== "pool") u.formats.add(`g${g.id}:cg${tile.c0}`);
      addUsage(core.usage, u);
    });
  }
  for (const p of net.placed) {
    const cc = p.op.attrs["loihi.clock_cores"] as number[] | undefined;
    if (!cc || prof.tsc.clock_cx_per_layer === 0) continue;
    const coresOfPop = [...new Set(tiles.filter((t) => t.pop === p).map((t) => tileCore.get(t)!))].sort((a, b) => a - b);
    const cx = p.kind === "tsc" ? prof.tsc.clock_cx_per_layer : Math.min(2, prof.tsc.clock_cx_per_layer);
    const perGroup = Math.max(1, Math.floor(prof.out_axons / cx));
    cc.forEach((coreId, k) => {
      const clock: ClockItem = { pop: p, cx, cores: coresOfPop.slice(k * perGroup, (k + 1) * perGroup) };
      const core = cores[coreId]!;
      core.clocks.push(clock);
      addUsage(core.usage, clockUsage(clock));
    });
  }
  const relays: RelayItem[] = [];
  for (const g of net.groups) {
    const rs = g.op.attrs["loihi.relays"] as number[] | undefined;
    if (!rs) continue;
    for (let k = 0; k + 4 < rs.length; k += 5) {
      const pop = net.pops[rs[k]!]!;
      const tile = tilesOfPop.get(pop)?.[rs[k + 1]!];
      const f = fanouts.find((x) => x.group === g && x.src === pop);
      if (!tile || !f) throw new Error(`loihi: ${g.op.name} of ${g.target.name}: relay run ${k / 5} names no source tile`);
      const r = relayOfRun(f, g, tile, rs[k + 2]!, rs[k + 3]!);
      r.core = rs[k + 4]!;
      const core = cores[r.core]!;
      core.relays.push(r);
      addUsage(core.usage, relayUsage(r, prof));
      relays.push(r);
    }
  }
  const part: Partition = { tilings, tiles, tileCore, cores, traffic: Traffic.empty(), hostTraffic: new Map(), densePop, granularity: granularityOf(m), relayed, relays: canonicalRelays(net, relays), fanouts };
  countTraffic(net, prof, part);
  return part;
}

/** The partition's tile granularity [γ, γ_cx] as stored by storePartition. */
function granularityOf(m: Module): Granularity {
  const g = m.attrs["loihi.granularity"] as number[] | number | undefined;
  // Modules written before γ_cx existed hold one γ for every resource.
  if (typeof g === "number") return { all: g, cx: g };
  return { all: g?.[0] ?? 1, cx: g?.[1] ?? 1 };
}

/** Write a partition into the IR. */
export function storePartition(m: Module, net: Network, part: Partition): void {
  const classes = [...new Set(part.cores.map((c) => c.cls))].sort();
  m.attrs["loihi.num_cores"] = part.cores.length;
  m.attrs["loihi.granularity"] = [part.granularity.all, part.granularity.cx];
  m.attrs["loihi.classes"] = classes;
  m.attrs["loihi.core_class"] = part.cores.map((c) => classes.indexOf(c.cls));
  for (const p of net.placed) {
    const t = part.tilings.get(p)!;
    p.op.attrs["loihi.tiling"] = [t.mc, t.hr, t.wr];
    p.op.attrs["loihi.cores"] = part.tiles.filter((x) => x.pop === p).map((x) => part.tileCore.get(x)!);
    const clockCores: { core: number; first: number }[] = [];
    for (const c of part.cores) for (const ck of c.clocks) if (ck.pop === p) clockCores.push({ core: c.id, first: ck.cores[0] ?? 0 });
    clockCores.sort((a, b) => a.first - b.first);
    if (clockCores.length) p.op.attrs["loihi.clock_cores"] = clockCores.map((x) => x.core);
  }
  for (const g of net.groups) {
    delete g.op.attrs["loihi.relay_cores"];
    if (part.relayed.has(g)) g.op.attrs["loihi.relays"] = part.relays.filter((r) => r.group === g).flatMap((r) => [r.tile.pop.id, r.tile.index, r.i0, r.i1, r.core]);
    else delete g.op.attrs["loihi.relays"];
  }
}

export function usageTotals(part: Partition): { cx: number; bits: number; inSlots: number; outAxons: number } {
  const t = { cx: 0, bits: 0, inSlots: 0, outAxons: 0 };
  for (const c of part.cores) {
    t.cx += c.usage.cx;
    t.bits += c.usage.bits;
    t.inSlots += c.usage.inSlots;
    t.outAxons += c.outAxons;
  }
  return t;
}

export { addUsage };

const partitionCache = new WeakMap<Module, { sig: string; part: Partition; net: Network }>();

function partitionSignature(m: Module): string {
  const parts: string[] = [String(m.attrs["loihi.num_cores"]), String(m.attrs["loihi.granularity"]), String(m.attrs["loihi.profile"])];
  for (const op of m.ops) {
    const t = op.attrs["loihi.tiling"];
    const c = op.attrs["loihi.cores"] as number[] | undefined;
    const r = op.attrs["loihi.relays"] as number[] | undefined;
    if (t || c || r) parts.push(`${op.name}:${String(t)}:${c?.length ?? 0}:${c?.[0] ?? ""}:${c?.[c.length - 1] ?? ""}:${r?.length ?? 0}:${r?.[r.length - 1] ?? ""}`);
  }
  return parts.join("|");
}

/** Remember the partition a pass computed for this module (see loadState). */
export function cachePartition(m: Module, net: Network, part: Partition): void {
  // The order a rebuild from the attributes gives: tiles by layer and index, clocks and relays likewise.
  for (const c of part.cores) {
    c.tiles.sort((a, b) => a.pop.id - b.pop.id || a.index - b.index);
    c.clocks.sort((a, b) => a.pop.id - b.pop.id || (a.cores[0] ?? 0) - (b.cores[0] ?? 0));
    c.relays.sort((a, b) => a.group.id - b.group.id || a.tile.pop.id - b.tile.pop.id || a.tile.index - b.tile.index || a.i0 - b.i0);
  }
  partitionCache.set(m, { sig: partitionSignature(m), part, net });
}

/**
 * The cached partition refers to the populations of the network it was computed on; a fresh network
 * of the same module has the same populations in the same order, so map them across.
 */
function remapPartition(part: Partition, from: Network, to: Network): Partition {
  if (from === to) return part;
  const popMap = new Map<Pop, Pop>(from.pops.map((p, i) => [p, to.pops[i]!]));
  const groupMap = new Map<Group, Group>(from.groups.map((g, i) => [g, to.groups[i]!]));
  const tileMap = new Map<Tile, Tile>();
  const tiles = part.tiles.map((t) => {
    const n = { ...t, pop: popMap.get(t.pop)! };
    tileMap.set(t, n);
    return n;
  });
  const tileCore = new Map<Tile, number>();
  for (const [t, c] of part.tileCore) tileCore.set(tileMap.get(t)!, c);
  const tilings = new Map<Pop, { mc: number; hr: number; wr: number }>();
  for (const [p, t] of part.tilings) tilings.set(popMap.get(p)!, t);
  const relays: RelayItem[] = part.relays.map((r) => ({ ...r, group: groupMap.get(r.group)!, tile: tileMap.get(r.tile)! }));
  const relayMap = new Map<RelayItem, RelayItem>(part.relays.map((r, i) => [r, relays[i]!]));
  const cores: CoreInfo[] = part.cores.map((c) => ({
    ...c,
    tiles: c.tiles.map((t) => tileMap.get(t)!),
    clocks: c.clocks.map((k) => ({ ...k, pop: popMap.get(k.pop)! })),
    relays: c.relays.map((r) => relayMap.get(r)!),
  }));
  const fanouts = part.fanouts.map((f) => ({ ...f, group: groupMap.get(f.group)!, src: popMap.get(f.src)! }));
  return { ...part, tilings, tiles, tileCore, cores, relays, fanouts, relayed: new Set([...part.relayed].map((g) => groupMap.get(g)!)), densePop: new Set([...part.densePop].map((g) => groupMap.get(g)!)) };
}
