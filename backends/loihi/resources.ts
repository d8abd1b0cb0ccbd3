/**
 * What a piece of a layer costs on a core: tiles and their resource usage under the nengo-loihi
 * storage model (docs/loihi.md "Storage model").
 *
 * A tile is a channel range × a rectangle of positions of one population ([C, H, W]; a flat population
 * is [N, 1, 1]). Its compartments are laid out position-major, channel-minor, `cx_per_neuron` each.
 *
 * Synapses into a tile:
 * - conv / scale / pool groups use population axons (nengo-loihi's conv): one axon per needed input
 *   position and polarity, whose atoms are the input channels (split into several axons beyond
 *   `max_atoms_per_axon`), `pop_axon_slots` axon slots each. Positions whose targets in the tile form
 *   the same pattern (the same valid kernel taps) share one weight list (axon_to_weight_map); patterns
 *   are separable into row masks × column masks. Lists are sparse (weight + index bits per entry).
 * - dense groups use discrete axons, one per source compartment, with a dense list over the tile's
 *   neurons (weight bits only); when the sources would take more than half the in-axons, population
 *   axons with up to `max_atoms_per_axon` atoms instead.
 * - Option A (Loihi 1) doubles everything per source: ON and OFF axons with +w / −w lists; an OR gate
 *   only listens to ON (its OFF comes from its clock).
 * - Loihi 1 TSC layers also receive their layer clock's axons (bias switch, ramp, end pulse) with one
 *   dense list each.
 * Every list costs nengo-loihi's bits_per_axon: blocks of ≤ 64 entries, a 10-bit header each, rounded
 * up to 64-bit words.
 */
import type { Group, Network, Pop } from "./model.js";
import { cxCapacity, idxBitsFor, listBits, polarities, type Profile } from "./profile.js";
import { decodeSplits } from "./quant.js";

/** A box of neuron coordinates: channels [c0, c1) × rows [y0, y1) × columns [x0, x1). */
export interface Box {
  readonly c0: number;
  readonly c1: number;
  readonly y0: number;
  readonly y1: number;
  readonly x0: number;
  readonly x1: number;
}

/** A tile: the box of one population's neurons that one core holds. */
export interface Tile extends Box {
  readonly pop: Pop;
  /** Index of the tile within its population (tiling order: channel group, row band, column band). */
  readonly index: number;
}

export interface Tiling {
  /** Channels, rows and columns per tile (the last tile of each dimension may be smaller). */
  readonly mc: number;
  readonly hr: number;
  readonly wr: number;
}

export interface Usage {
  cx: number;
  bits: number;
  inSlots: number;
  /** Out-axon entries at least needed (one per output compartment and consumer group). */
  outEst: number;
  /** Synapse formats, compartment profiles and threshold profiles, as keys (unions across tiles). */
  formats: Set<string>;
  cxProfiles: Set<string>;
  vthProfiles: Set<string>;
  /** Synapse entries (for reports). */
  entries: number;
  /** Input axons (not slots). */
  axons: number;
}

const NONE: Set<string> = new Set();
function NO_KEYS_USAGE(): Usage {
  return { cx: 0, bits: 0, inSlots: 0, outEst: 0, formats: NONE, cxProfiles: NONE, vthProfiles: NONE, entries: 0, axons: 0 };
}

export function emptyUsage(): Usage {
  return { cx: 0, bits: 0, inSlots: 0, outEst: 0, formats: new Set(), cxProfiles: new Set(), vthProfiles: new Set(), entries: 0, axons: 0 };
}

/** Population dims as [C, H, W] (flat populations are [N, 1, 1]). */
export function dims(p: Pop): [number, number, number] {
  return p.shape.length === 3 ? [p.shape[0]!, p.shape[1]!, p.shape[2]!] : [p.size, 1, 1];
}

export function cxPerNeuron(p: Pop, prof: Profile): number {
  return p.kind === "tsc" ? prof.tsc.neuron_cx : p.kind === "or" ? prof.tsc.or_cx : prof.tsc.readout_cx;
}

export function tilesOf(p: Pop, t: Tiling): Tile[] {
  const [C, H, W] = dims(p);
  const out: Tile[] = [];
  for (let c0 = 0; c0 < C; c0 += t.mc) {
    for (let y0 = 0; y0 < H; y0 += t.hr) {
      for (let x0 = 0; x0 < W; x0 += t.wr) {
        out.push({ pop: p, index: out.length, c0, c1: Math.min(C, c0 + t.mc), y0, y1: Math.min(H, y0 + t.hr), x0, x1: Math.min(W, x0 + t.wr) });
      }
    }
  }
  return out;
}

export function tileNeurons(t: Tile): number {
  return (t.c1 - t.c0) * (t.y1 - t.y0) * (t.x1 - t.x0);
}

/** Number of tiles a tiling gives. */
export function tileCount(p: Pop, t: Tiling): number {
  const [C, H, W] = dims(p);
  return Math.ceil(C / t.mc) * Math.ceil(H / t.hr) * Math.ceil(W / t.wr);
}

/**
 * For one axis: the input coordinates an output range [o0, o1) reads, each with the bitmask of kernel
 * taps through which it reaches an output inside the range.
 */
export function axisNeeds(n: number, o0: number, o1: number, k: number, s: number, pad: number, d: number): Map<number, number> {
  const need = new Map<number, number>();
  for (let o = o0; o < o1; o++) {
    for (let t = 0; t < k; t++) {
      const i = o * s - pad + t * d;
      if (i < 0 || i >= n) continue;
      need.set(i, (need.get(i) ?? 0) | (1 << t));
    }
  }
  return need;
}

function popcount(x: number): number {
  let c = 0;
  while (x) {
    x &= x - 1;
    c++;
  }
  return c;
}

const classCache = new Map<string, { taps: number; positions: number }[]>();

/** Mask classes of one axis for an output range, cached (the same geometry recurs across tiles). */
export function axisClasses(n: number, o0: number, o1: number, k: number, s: number, pad: number, d: number): { taps: number; positions: number }[] {
  const key = `${n},${o0},${o1},${k},${s},${pad},${d}`;
  let c = classCache.get(key);
  if (!c) {
    if (classCache.size > 200_000) classCache.clear();
    classCache.set(key, (c = maskClasses(axisNeeds(n, o0, o1, k, s, pad, d))));
  }
  return c;
}

/** Distinct masks of an axis with their tap counts: [taps, multiplicity of positions]. */
function maskClasses(need: Map<number, number>): { taps: number; positions: number }[] {
  const m = new Map<number, number>();
  for (const mask of need.values()) m.set(mask, (m.get(mask) ?? 0) + 1);
  return [...m.entries()].sort((a, b) => a[0] - b[0]).map(([mask, positions]) => ({ taps: popcount(mask), positions }));
}

/** Atoms (input channels) a tile's channel range connects to, and Σ over atoms of connected tile channels. */
export function atomsOf(g: Group, c0: number, c1: number): { atoms: number; pairs: number } {
  const geo = g.geo!;
  const G = geo.group;
  const Cg = geo.C / G;
  const Mg = geo.M / G;
  let atoms = 0;
  let pairs = 0;
  const g0 = Math.floor(c0 / Mg);
  const g1 = Math.floor((c1 - 1) / Mg);
  for (let gr = g0; gr <= g1; gr++) {
    const m0 = Math.max(c0, gr * Mg);
    const m1 = Math.min(c1, (gr + 1) * Mg);
    atoms += Cg;
    pairs += Cg * (m1 - m0);
  }
  return { atoms, pairs };
}

export interface UsageOptions {
  /** Per group: whether its dense synapses use population axons. */
  readonly densePop: ReadonlySet<Group>;
  /** Out-axon entries each neuron of a population needs at least (one per consumer group and output compartment). */
  readonly outPerNeuron?: ReadonlyMap<Pop, number>;
}

/** Output compartments × consumer groups per neuron of each population (the out-axon lower bound). */
export function outPerNeuron(net: Network, prof: Profile): Map<Pop, number> {
  const m = new Map<Pop, number>();
  const pol = polarities(prof);
  for (const g of net.groups) {
    const perNeuron = g.kind === "pool" && prof.tsc.synapse === "option-a" ? 1 : pol;
    for (const piece of net.resolve(g.source)) m.set(piece.pop, (m.get(piece.pop) ?? 0) + perNeuron);
  }
  return m;
}

/** Decide per dense group whether discrete axons fit (sources × polarities ≤ half the in-axons). */
export function densePopGroups(net: Network, prof: Profile): Set<Group> {
  const out = new Set<Group>();
  for (const g of net.groups) if ((g.kind === "dense" || (g.kind === "scale" && !g.geo)) && g.K * polarities(prof) > prof.in_axons / 2) out.add(g);
  return out;
}

/**
 * Compartment and threshold profile keys of a population kind (docs/loihi.md, realisation tables). A
 * one-shot comparator's refractory delay is its window + 1 (an OR gate's: its source's window), so
 * layers of different windows (per-layer windows) have different comparator profiles.
 */
export function profileKeys(p: Pop, prof: Profile, layerScale: number): { cx: string[]; vth: string[] } {
  if (prof.tsc.synapse === "option-a") {
    switch (p.kind) {
      case "tsc":
        return { cx: ["integrator", `comparator-refract-${p.T + 1}`, "off-latch", "clock"], vth: ["never", "comparator", "latch", "clock"] };
      case "or":
        return { cx: [`or-gate-refract-${p.T + 1}`, "off-latch"], vth: ["or-gate", "latch"] };
      default:
        return { cx: ["integrator", "clock"], vth: ["never", "clock"] };
    }
  }
  // Microcode neurons: one program state per kind; the threshold is the layer's Θ.
  return { cx: [`microcode-${p.kind}`], vth: p.kind === "tsc" ? [`vth-${layerScale}`] : [`${p.kind}`] };
}

/**
 * Per-channel quantisation facts that change a tile's resources (read from the IR attributes that
 * loihi:quantize writes, cached per op): threshold classes (Loihi 1: extra ramp synapse formats when
 * a tile spans more classes than one format holds; Loihi 2: one threshold profile per class) and
 * fan-in splits (P − 1 extra integrator compartments per neuron of a split channel).
 */
interface ChannelQuant {
  /** Prefix counts per class k: count[k][c] = channels < c in class k. */
  readonly classCount: Int32Array[];
  /** Prefix sums of the extra compartments per neuron (parts − 1) over channels. */
  readonly extra: Int32Array;
}

const channelQuantCache = new WeakMap<object, { shifts: unknown; split: unknown; q: ChannelQuant | null }>();

export function channelQuant(p: Pop): ChannelQuant | null {
  const a = p.op.attrs;
  const shifts = a["loihi.theta_shift"] as number[] | undefined;
  const split = a["loihi.fanin_split"] as number[] | undefined;
  const hit = channelQuantCache.get(p.op);
  if (hit && hit.shifts === shifts && hit.split === split) return hit.q;
  let q: ChannelQuant | null = null;
  if (shifts || split) {
    const C = dims(p)[0];
    const K = shifts ? Math.max(...shifts) + 1 : 1;
    const classCount: Int32Array[] = [];
    for (let k = 0; k < K; k++) {
      const pre = new Int32Array(C + 1);
      for (let c = 0; c < C; c++) pre[c + 1] = pre[c]! + ((shifts ? shifts[c]! : 0) === k ? 1 : 0);
      classCount.push(pre);
    }
    const per = new Int32Array(C);
    for (const sp of decodeSplits(split)) per[sp.channel] = sp.parts - 1;
    const extra = new Int32Array(C + 1);
    for (let c = 0; c < C; c++) extra[c + 1] = extra[c]! + per[c]!;
    q = { classCount, extra };
  }
  channelQuantCache.set(p.op, { shifts, split, q });
  return q;
}

/** Threshold classes present among channels [c0, c1) (ascending). */
export function classesIn(q: ChannelQuant | null, c0: number, c1: number): number[] {
  if (!q) return [0];
  const out: number[] = [];
  q.classCount.forEach((pre, k) => {
    if (pre[c1]! - pre[c0]! > 0) out.push(k);
  });
  return out;
}

/** Extra integrator compartments of the split channels among [c0, c1), per position. */
export function splitExtra(q: ChannelQuant | null, c0: number, c1: number): number {
  return q ? q.extra[c1]! - q.extra[c0]! : 0;
}

/**
 * Rows of a synapse group by weight exponent, when its rows use more than one (quant.ts
 * medianTailExponents): prefix counts over rows per distinct exponent. A list's entries of different
 * exponents go to separate blocks (a format index per block), each exponent is a synapse format.
 */
interface ExpGroups {
  readonly values: number[];
  readonly count: Int32Array[];
}

const expGroupsCache = new WeakMap<object, { exps: unknown; g: ExpGroups | null }>();

export function expGroups(g: Group): ExpGroups | null {
  const exps = g.op.attrs["loihi.weight_exps"] as number[] | undefined;
  const hit = expGroupsCache.get(g.op);
  if (hit && hit.exps === exps) return hit.g;
  let out: ExpGroups | null = null;
  if (exps && exps.length > 1) {
    const values = [...new Set(exps)].sort((a, b) => a - b);
    if (values.length > 1) {
      const count = values.map((v) => {
        const pre = new Int32Array(exps.length + 1);
        for (let r = 0; r < exps.length; r++) pre[r + 1] = pre[r]! + (exps[r] === v ? 1 : 0);
        return pre;
      });
      out = { values, count };
    }
  }
  expGroupsCache.set(g.op, { exps, g: out });
  return out;
}

/** Rows [r0, r1) per exponent present (the whole range as one when the group uses one exponent). */
function rowsByExp(eg: ExpGroups | null, r0: number, r1: number): number[] {
  if (!eg) return [r1 - r0];
  const out: number[] = [];
  for (const pre of eg.count) {
    const n = pre[r1]! - pre[r0]!;
    if (n > 0) out.push(n);
  }
  return out;
}

/** Resource usage of one tile (additive across tiles on a core, except the key sets, which unite). */
export function tileUsage(t: Tile, net: Network, prof: Profile, o: UsageOptions, layerScale = 0, exps?: ReadonlyMap<Group, number>, keys = true): Usage {
  const u = keys ? emptyUsage() : NO_KEYS_USAGE();
  const p = t.pop;
  const n = tileNeurons(t);
  const cxn = cxPerNeuron(p, prof);
  const cq = p.kind === "or" ? null : channelQuant(p);
  u.cx = n * cxn + splitExtra(cq, t.c0, t.c1) * (t.y1 - t.y0) * (t.x1 - t.x0);
  // List indices are relative to the axon's compartment base, so they address at most one core.
  const idx = idxBitsFor(prof, Math.min(u.cx, cxCapacity(prof)));
  const wb = prof.weight_bits;
  const pol = polarities(prof);
  const maxAtoms = prof.max_atoms_per_axon;
  for (const g of p.groups) {
    const gp = g.kind === "pool" && prof.tsc.synapse === "option-a" ? 1 : pol;
    const exp = exps?.get(g) ?? 0;
    if (g.geo) {
      const geo = g.geo;
      const rows = axisClasses(geo.H, t.y0, t.y1, geo.kh, geo.sh, geo.pt, geo.dh);
      const cols = axisClasses(geo.W, t.x0, t.x1, geo.kw, geo.sw, geo.pl, geo.dw);
      const positions = rows.reduce((s, r) => s + r.positions, 0) * cols.reduce((s, c) => s + c.positions, 0);
      const { atoms, pairs } = atomsOf(g, t.c0, t.c1);
      const chunks = Math.ceil(atoms / maxAtoms);
      u.axons += positions * gp * chunks;
      u.inSlots += positions * gp * chunks * prof.pop_axon_slots;
      // One shared list per (row class, column class, atom chunk, polarity); with several weight
      // exponents among the tile's channels, each exponent's entries fill their own blocks.
      const perChunk = pairs / chunks;
      const eg = g.kind === "conv" ? expGroups(g) : null;
      const byExp = rowsByExp(eg, t.c0, t.c1);
      for (const r of rows) {
        for (const c of cols) {
          const entries = r.taps * c.taps * perChunk;
          if (byExp.length === 1) u.bits += gp * chunks * listBits(prof, Math.ceil(entries), wb + idx);
          else for (const ne of byExp) u.bits += gp * chunks * listBits(prof, Math.ceil((entries * ne) / (t.c1 - t.c0)), wb + idx);
          u.entries += gp * chunks * entries;
        }
      }
      if (keys) {
        u.formats.add(`g${g.id}:sparse:e${exp}`);
        for (let k = 1; k < byExp.length; k++) u.formats.add(`g${g.id}:sparse:e${exp}:x${k}`);
      }
    } else {
      // Dense (or flat one-to-one) synapses: every source reaches every tile neuron (dense) or one.
      const oneToOne = g.kind === "scale";
      const perSource = oneToOne ? 1 : n;
      const sources = oneToOne ? n : g.K;
      // Dense lists run over the tile's neurons: with several weight exponents, one block run per exponent.
      const byExp = oneToOne ? [1] : rowsByExp(expGroups(g), t.c0, t.c1);
      const per = (m: number): number => (byExp.length === 1 ? listBits(prof, m * perSource, oneToOne ? wb + idx : wb) : byExp.reduce((acc, ne) => acc + listBits(prof, m * ne, wb), 0));
      if (o.densePop.has(g)) {
        const chunks = Math.ceil(sources / maxAtoms);
        u.axons += chunks * gp;
        u.inSlots += chunks * gp * prof.pop_axon_slots;
        for (let k = 0; k < chunks; k++) {
          const a = Math.min(maxAtoms, sources - k * maxAtoms);
          u.bits += gp * per(a);
        }
      } else {
        u.axons += sources * gp;
        u.inSlots += sources * gp;
        u.bits += gp * sources * per(1);
      }
      u.entries += gp * sources * perSource;
      if (keys) {
        u.formats.add(`g${g.id}:${oneToOne ? "sparse" : "dense"}:e${exp}`);
        for (let k = 1; k < byExp.length; k++) u.formats.add(`g${g.id}:dense:e${exp}:x${k}`);
      }
    }
  }
  // Layer clock (Loihi 1): bias switch (TSC and read-out), ramp and end pulses (TSC), end pulse (OR).
  const clockAxons = p.kind === "tsc" ? prof.tsc.clock_axons_per_core : p.kind === "readout" ? Math.min(2, prof.tsc.clock_axons_per_core) : Math.min(1, prof.tsc.clock_axons_per_core);
  if (clockAxons > 0) {
    u.axons += clockAxons;
    u.inSlots += clockAxons;
    u.bits += clockAxons * listBits(prof, n, wb);
    u.entries += clockAxons * n;
    if (keys) u.formats.add(`clock:${p.kind}:${p.id}`);
  }
  const classes = classesIn(cq, t.c0, t.c1);
  if (p.kind === "tsc" && prof.tsc.synapse === "option-a" && classes.length > 1) {
    // The ramp on/off and offset lists carry Θ_c and Φ_c: one format holds classes spanning
    // weight_bits − 1 powers of two; beyond that the lists split into blocks of further formats.
    const per = prof.weight_bits - 1;
    const groups = Math.ceil((classes[classes.length - 1]! - classes[0]! + 1) / per);
    if (groups > 1) {
      const counts = new Array<number>(groups).fill(0);
      const pos = (t.y1 - t.y0) * (t.x1 - t.x0);
      for (const k of classes) counts[Math.floor((k - classes[0]!) / per)]! += (cq!.classCount[k]![t.c1]! - cq!.classCount[k]![t.c0]!) * pos;
      const ramp = Math.min(3, clockAxons);
      u.bits += ramp * (counts.reduce((a, m) => a + listBits(prof, m, wb), 0) - listBits(prof, n, wb));
      if (keys) for (let j = 1; j < groups; j++) u.formats.add(`clock:${p.kind}:${p.id}:ramp${j}`);
    }
  }
  u.outEst = n * (o.outPerNeuron?.get(p) ?? 0);
  if (keys) {
    const pk = profileKeys(p, prof, layerScale);
    pk.cx.forEach((k) => u.cxProfiles.add(k));
    pk.vth.forEach((k) => u.vthProfiles.add(k));
    // Loihi 2: a threshold profile per further class (class 0 keeps the layer's key).
    if (prof.tsc.synapse !== "option-a" && p.kind === "tsc") for (const k of classes) if (k > 0) u.vthProfiles.add(`vth-${p.id}:k${k}`);
  }
  return u;
}

/** Add b into a (in place). */
export function addUsage(a: Usage, b: Usage): void {
  a.cx += b.cx;
  a.bits += b.bits;
  a.inSlots += b.inSlots;
  a.outEst += b.outEst;
  a.entries += b.entries;
  a.axons += b.axons;
  b.formats.forEach((k) => a.formats.add(k));
  b.cxProfiles.forEach((k) => a.cxProfiles.add(k));
  b.vthProfiles.forEach((k) => a.vthProfiles.add(k));
}

/** Whether `b` fits on a core that already holds `a` (out-axons are checked after packing). */
export function fits(a: Usage, b: Usage, prof: Profile): boolean {
  if (a.cx + b.cx > cxCapacity(prof)) return false;
  if (a.bits + b.bits > prof.syn_bits_per_core) return false;
  if (a.inSlots + b.inSlots > prof.in_axons) return false;
  if (a.outEst + b.outEst > prof.out_axons) return false;
  const union = (x: Set<string>, y: Set<string>): number => {
    let n = x.size;
    for (const k of y) if (!x.has(k)) n++;
    return n;
  };
  if (union(a.formats, b.formats) > prof.max_syn_formats) return false;
  if (union(a.cxProfiles, b.cxProfiles) > prof.max_cx_profiles) return false;
  if (union(a.vthProfiles, b.vthProfiles) > prof.max_vth_profiles) return false;
  return true;
}

/** Fraction of each capacity used (cx, synapse bits, in-axon slots, out-axons (estimate)). */
export function shares(u: Usage, prof: Profile): [number, number, number, number] {
  return [u.cx / cxCapacity(prof), u.bits / prof.syn_bits_per_core, u.inSlots / prof.in_axons, u.outEst / prof.out_axons];
}
