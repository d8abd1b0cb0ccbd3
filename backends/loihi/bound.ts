/**
 * Capacity lower bound (mapping.md §3.3), per compatibility class k:
 *
 *   cores_k ≥ max(⌈N_cx,k / cx_capacity⌉, ⌈W_k / syn_bits⌉, ⌈A_in,k / in_axons⌉, ⌈A_out,k / out_axons⌉)
 *   cores ≥ Σ_k cores_k,   chips ≥ ⌈cores / cores_per_chip⌉
 *
 * with cx_capacity = min(cx_per_core, ⌊delay_slot_budget / delay_slots⌋) and partition-independent totals:
 * - N_cx: neurons × compartments per neuron (the TSC realisation's multiplier) + one set of clock
 *   compartments per layer;
 * - W: the storage model applied to each layer unsplit (one tile holding every channel and position:
 *   shared lists need the fewest boundary patterns; splitting along channels keeps the entries and only
 *   adds list headers, splitting in space adds patterns);
 * - A_in: each unsplit layer's input axon slots (a split layer duplicates its halo positions on every
 *   tile, which the bound does not charge);
 * - A_out: every source compartment needs at least one output axon per synapse group it feeds.
 */
import type { Network } from "./model.js";
import { candidates, compatClass } from "./partition.js";
import { cxCapacity, idxBitsFor, polarities, type Profile } from "./profile.js";
import { atomsOf, axisClasses, axisNeeds, cxPerNeuron, dims, outPerNeuron, tileCount, tileUsage, type Tile } from "./resources.js";
import type { Group } from "./model.js";

export interface ClassBound {
  readonly cls: string;
  readonly cx: number;
  readonly bits: number;
  readonly in_slots: number;
  readonly out_axons: number;
  readonly cores_by: { readonly cx: number; readonly bits: number; readonly in_slots: number; readonly out_axons: number };
  readonly cores: number;
  readonly binding: string;
}

export interface Bound {
  readonly classes: ClassBound[];
  readonly cores: number;
  readonly chips: number;
}

export function capacityBound(net: Network, prof: Profile, densePop: ReadonlySet<Group>): Bound {
  const acc = new Map<string, { cx: number; bits: number; in: number; out: number }>();
  const get = (cls: string) => {
    let a = acc.get(cls);
    if (!a) acc.set(cls, (a = { cx: 0, bits: 0, in: 0, out: 0 }));
    return a;
  };
  const pol = polarities(prof);
  for (const p of net.placed) {
    const cls = compatClass(p, prof);
    const [C, H, W] = dims(p);
    const whole: Tile = { pop: p, index: 0, c0: 0, c1: C, y0: 0, y1: H, x0: 0, x1: W };
    const u = tileUsage(whole, net, prof, { densePop, T: net.T });
    const a = get(cls);
    a.cx += p.size * cxPerNeuron(p, prof);
    a.bits += u.bits;
    a.in += u.inSlots;
    const clockCx = p.kind === "tsc" ? prof.tsc.clock_cx_per_layer : Math.min(2, prof.tsc.clock_cx_per_layer);
    if (clockCx > 0) {
      const clockCls = cls === "impulse" ? "switch" : cls;
      get(clockCls).cx += clockCx;
      get(clockCls).out += clockCx;
    }
  }
  for (const g of net.groups) {
    const perNeuron = g.kind === "pool" && prof.tsc.synapse === "option-a" ? 1 : pol;
    for (const piece of net.resolve(g.source)) {
      if (piece.pop.kind === "input") continue;
      get(compatClass(piece.pop, prof)).out += (g.kind === "scale" && !g.geo ? piece.count : piece.count) * perNeuron;
    }
  }
  const classes: ClassBound[] = [...acc.entries()]
    .sort((x, y) => (x[0] < y[0] ? -1 : 1))
    .map(([cls, a]) => {
      const by = { cx: Math.ceil(a.cx / cxCapacity(prof)), bits: Math.ceil(a.bits / prof.syn_bits_per_core), in_slots: Math.ceil(a.in / prof.in_axons), out_axons: Math.ceil(a.out / prof.out_axons) };
      const cores = Math.max(by.cx, by.bits, by.in_slots, by.out_axons, 1);
      const binding = (Object.entries(by) as [string, number][]).reduce((m, e) => (e[1] > m[1] ? e : m))[0];
      return { cls, cx: a.cx, bits: a.bits, in_slots: a.in, out_axons: a.out, cores_by: by, cores, binding };
    });
  const cores = classes.reduce((s, c) => s + c.cores, 0);
  return { classes, cores, chips: Math.ceil(cores / prof.cores_per_chip) };
}

/**
 * Tightened bound: the same per-class formula, but each layer's synapse memory and input-axon slots
 * are the least any rectangular tiling whose tiles fit one core needs (memory counted without list
 * headers and word rounding, so it stays below what the storage model charges). When a layer's
 * unsplit lists do not fit a core, every feasible tiling splits it in space and pays for the boundary
 * patterns and halo positions of its tiles, which the unsplit bound above does not charge.
 */
export function tightenedBound(net: Network, prof: Profile, densePop: ReadonlySet<Group>): Bound {
  const base = capacityBound(net, prof, densePop);
  const acc = new Map<string, { bits: number; in: number }>();
  const o = { densePop, T: net.T, outPerNeuron: outPerNeuron(net, prof) };
  const pol = polarities(prof);
  for (const p of net.placed) {
    const cls = compatClass(p, prof);
    const [C, H, W] = dims(p);
    let bestBits = Infinity;
    let bestIn = Infinity;
    for (const cand of candidates(p, net, prof, o)) {
      if (!cand.ok) continue;
      const t = cand.t;
      const cxn = cxPerNeuron(p, prof);
      const minTile = ((C % t.mc) || t.mc) * ((H % t.hr) || t.hr) * ((W % t.wr) || t.wr);
      const idx = idxBitsFor(prof, Math.min(Math.min(minTile, t.mc * t.hr * t.wr) * cxn, cxCapacity(prof)));
      const nTiles = tileCount(p, t);
      const nChan = Math.ceil(C / t.mc);
      let bits = 0;
      let slots = 0;
      for (const g of p.groups) {
        const gp = g.kind === "pool" && prof.tsc.synapse === "option-a" ? 1 : pol;
        if (g.geo) {
          const geo = g.geo;
          let R = 0;
          let Rp = 0;
          for (let y0 = 0; y0 < H; y0 += t.hr) for (const c of axisClasses(geo.H, y0, Math.min(H, y0 + t.hr), geo.kh, geo.sh, geo.pt, geo.dh)) {
            R += c.taps;
            Rp += c.positions;
          }
          let Cc = 0;
          let Cp = 0;
          for (let x0 = 0; x0 < W; x0 += t.wr) for (const c of axisClasses(geo.W, x0, Math.min(W, x0 + t.wr), geo.kw, geo.sw, geo.pl, geo.dw)) {
            Cc += c.taps;
            Cp += c.positions;
          }
          let pairs = 0;
          let chunks = 0;
          for (let c0 = 0; c0 < C; c0 += t.mc) {
            const a = atomsOf(g, c0, Math.min(C, c0 + t.mc));
            pairs += a.pairs;
            chunks = Math.max(chunks, Math.ceil(a.atoms / prof.max_atoms_per_axon));
          }
          bits += gp * R * Cc * pairs * (prof.weight_bits + idx);
          slots += gp * Rp * Cp * nChan * chunks * prof.pop_axon_slots;
        } else {
          const oneToOne = g.kind === "scale";
          bits += gp * (oneToOne ? p.size : g.K * p.size) * (prof.weight_bits + (oneToOne ? idx : 0));
          const sources = oneToOne ? p.size : g.K;
          slots += densePop.has(g) ? nTiles * gp * Math.ceil(sources / prof.max_atoms_per_axon) * prof.pop_axon_slots : (oneToOne ? p.size : nTiles * sources) * gp;
        }
      }
      const clockAxons = p.kind === "tsc" ? prof.tsc.clock_axons_per_core : p.kind === "readout" ? Math.min(2, prof.tsc.clock_axons_per_core) : Math.min(1, prof.tsc.clock_axons_per_core);
      bits += clockAxons * p.size * prof.weight_bits;
      slots += clockAxons * nTiles;
      bestBits = Math.min(bestBits, bits);
      bestIn = Math.min(bestIn, slots);
    }
    const a = acc.get(cls) ?? { bits: 0, in: 0 };
    a.bits += Number.isFinite(bestBits) ? bestBits : 0;
    a.in += Number.isFinite(bestIn) ? bestIn : 0;
    acc.set(cls, a);
  }
  // Out-axons: each source compartment reaches at least as many cores as the least-split feasible tiling
  // of its consumer puts around it (channel groups × row bands × column bands over the coordinate
  // that needs the fewest).
  const outAcc = new Map<string, number>();
  for (const g of net.groups) {
    const per = g.kind === "pool" && prof.tsc.synapse === "option-a" ? 1 : pol;
    let minDest = Infinity;
    for (const cand of candidates(g.target, net, prof, o)) {
      if (!cand.ok) continue;
      minDest = Math.min(minDest, minDestinations(g, cand.t));
    }
    if (!Number.isFinite(minDest)) minDest = 1;
    for (const piece of net.resolve(g.source)) {
      if (piece.pop.kind === "input") continue;
      const cls = compatClass(piece.pop, prof);
      outAcc.set(cls, (outAcc.get(cls) ?? 0) + piece.count * per * minDest);
    }
  }
  const classes = base.classes.map((c) => {
    const a = acc.get(c.cls) ?? { bits: 0, in: 0 };
    const outAx = Math.max(c.out_axons, outAcc.get(c.cls) ?? 0);
    const bits = Math.max(c.bits, a.bits);
    const inSlots = Math.max(c.in_slots, a.in);
    const by = { cx: c.cores_by.cx, bits: Math.ceil(bits / prof.syn_bits_per_core), in_slots: Math.ceil(inSlots / prof.in_axons), out_axons: Math.ceil(outAx / prof.out_axons) };
    const cores = Math.max(by.cx, by.bits, by.in_slots, by.out_axons, 1);
    const binding = (Object.entries(by) as [string, number][]).reduce((m, e) => (e[1] > m[1] ? e : m))[0];
    return { cls: c.cls, cx: c.cx, bits, in_slots: inSlots, out_axons: outAx, cores_by: by, cores, binding };
  });
  const cores = classes.reduce((s, c) => s + c.cores, 0);
  return { classes, cores, chips: Math.ceil(cores / prof.cores_per_chip) };
}

/** Fewest tiles of tiling t that read one source neuron of group g (over the neurons that are read at all). */
function minDestinations(g: Group, t: { mc: number; hr: number; wr: number }): number {
  const [C, H, W] = dims(g.target);
  if (!g.geo) return g.kind === "scale" ? 1 : tileCount(g.target, t);
  const geo = g.geo;
  const minBands = (n: number, O: number, r: number, k: number, s: number, pad: number, d: number): number => {
    const count = new Int32Array(n);
    for (let o0 = 0; o0 < O; o0 += r) for (const i of axisNeeds(n, o0, Math.min(O, o0 + r), k, s, pad, d).keys()) count[i]!++;
    let m = Infinity;
    for (let i = 0; i < n; i++) if (count[i]! > 0) m = Math.min(m, count[i]!);
    return Number.isFinite(m) ? m : 1;
  };
  const Mg = geo.M / geo.group;
  const chanGroups = geo.group === 1 ? Math.ceil(C / t.mc) : Math.max(1, Math.ceil(Math.min(Mg, C) / t.mc));
  return chanGroups * minBands(geo.H, H, t.hr, geo.kh, geo.sh, geo.pt, geo.dh) * minBands(geo.W, W, t.wr, geo.kw, geo.sw, geo.pl, geo.dw);
}
