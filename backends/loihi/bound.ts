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
 * - A_out: every source compartment that some consumer tile reads needs at least one output axon per
 *   synapse group it feeds, on its own core (a relayed one points at its relay), so it is charged to
 *   the source's class.
 */
import type { Network } from "./model.js";
import { candidates, compatClass, fanTotals, relayClass } from "./partition.js";
import { cxCapacity, idxBitsFor, polarities, type Profile } from "./profile.js";
import { atomsOf, axisClasses, cxPerNeuron, dims, tileCount, tileUsage, type Tile, type Tiling } from "./resources.js";
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
  /** Tightened bound: the prices λ at which the bound was found (the binding resource has the largest). */
  readonly prices?: Record<string, number>;
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
  for (const p of net.placed) {
    const cls = compatClass(p, prof);
    const [C, H, W] = dims(p);
    const whole: Tile = { pop: p, index: 0, c0: 0, c1: C, y0: 0, y1: H, x0: 0, x1: W };
    const u = tileUsage(whole, net, prof, { densePop });
    const a = get(cls);
    a.cx += u.cx;
    a.bits += u.bits;
    a.in += u.inSlots;
    const clockCx = p.kind === "tsc" ? prof.tsc.clock_cx_per_layer : Math.min(2, prof.tsc.clock_cx_per_layer);
    if (clockCx > 0) {
      const clockCls = cls === "impulse" ? "switch" : cls;
      get(clockCls).cx += clockCx;
      get(clockCls).out += clockCx;
    }
  }
  // Out-axons: one entry per source compartment that some consumer tile reads (per × reached; a
  // neuron no output reads, e.g. a row a floor-mode pool drops, needs none). Reached is the same for
  // every consumer tiling, so the whole-layer tiling counts it. The entry sits on the source's own
  // core whether the group is direct or relayed (then it drives the relay).
  for (const g of net.groups) {
    const [C, H, W] = dims(g.target);
    for (const s of fanTotals(net, prof, g, { mc: C, hr: H, wr: W }).bySrc) get(compatClass(s.pop, prof)).out += s.reached;
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

/** Least synapse bits and input-axon slots of a tiling: entries × (weight + index bits), no list headers. */
function leastUsage(p: import("./model.js").Pop, t: Tiling, prof: Profile, densePop: ReadonlySet<Group>): { bits: number; slots: number } {
  const pol = polarities(prof);
  const [C, H, W] = dims(p);
  const cxn = cxPerNeuron(p, prof);
  const minTile = (C % t.mc || t.mc) * (H % t.hr || t.hr) * (W % t.wr || t.wr);
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
  return { bits, slots };
}

const RES = ["cx", "bits", "in_slots", "out_axons"] as const;

/**
 * Tightened bound: the §3.3 formula over the mappings tscc can produce, where each layer is tiled
 * uniformly into rectangles that fit a core, so every layer's resources depend on its tiling T:
 *
 * - synapse memory and input-axon slots: the least T needs (entries × (weight + index bits), no list
 *   headers or word rounding; population-axon slots of every tile, halo positions included), so a
 *   layer too big for one core pays the boundary patterns and halos of its split;
 * - output axons of its sources: one entry per consumer tile that reads a source compartment, counted
 *   exactly for T (fanout.ts). Held directly, they sit on the source's class; relayed, the source's
 *   class holds one pointer per reached compartment and the relay class (profile `tsc.relay_class`)
 *   holds the entries plus the relay compartments (one input axon and at least one synapse each). When
 *   the two classes differ (OR-gate sources) both options are priced and the cheaper is charged, since
 *   whichever the mapping does dominates one of them resource by resource; otherwise relaying only adds
 *   to the direct usage;
 * - compartments: the realisation's multiplier, one clock set per layer.
 *
 * The tilings trade these resources against each other, so the bound is a Lagrangian dual: for prices
 * λ_k (one non-negative weight per resource, summing to 1, per compatibility class k),
 *
 *   cores ≥ Σ_k max_r U_k,r / cap_r ≥ Σ_k λ_k · U_k / cap ≥ Σ_layers min_T [λ · usage(T) / cap] + fixed,
 *
 * which holds for every λ and every choice of tilings; the bound is the largest value found by an
 * exponentiated subgradient search over λ (the per-resource bounds, λ = a unit vector, are included).
 * Tilings whose sampled tiles do not fit a core are excluded (such a tile exists in that tiling).
 */
export function tightenedBound(net: Network, prof: Profile, densePop: ReadonlySet<Group>): Bound {
  const base = capacityBound(net, prof, densePop);
  const caps = [cxCapacity(prof), prof.syn_bits_per_core, prof.in_axons, prof.out_axons];
  const classes = base.classes.map((c) => c.cls);
  for (const p of net.placed) if (!classes.includes(compatClass(p, prof))) classes.push(compatClass(p, prof));
  const K = classes.length;
  const kOf = (cls: string): number => classes.indexOf(cls);
  // Fixed usage per class: compartments and the clocks' out-axons (as in the §3.3 bound).
  const fixed = new Float64Array(K * 4);
  for (const c of base.classes) {
    fixed[kOf(c.cls) * 4] = c.cx / caps[0]!;
  }
  for (const p of net.placed) {
    const clockCx = p.kind === "tsc" ? prof.tsc.clock_cx_per_layer : Math.min(2, prof.tsc.clock_cx_per_layer);
    if (clockCx > 0) {
      const cls = compatClass(p, prof);
      fixed[kOf(cls === "impulse" ? "switch" : cls) * 4 + 3] += clockCx / caps[3]!;
    }
  }
  // Relays sit on cores of the relay class, which differs from the source's class for OR-gate sources.
  const rcls = relayClass(prof);
  if (!classes.includes(rcls)) classes.push(rcls);
  const rk = kOf(rcls);
  // Per layer: the feasible tilings as sparse usage vectors (class·4 + resource → cores' worth), plus,
  // per (group, source) pair whose source class is not the relay class, the two ways its fan-out can
  // be held: direct (the entries on the source's class) or relayed (the relay pointers on the
  // source's class; the entries, relay compartments, their input axons and one synapse each on the
  // relay class). Whichever the mapping does dominates one of the two, so each λ charges the cheaper.
  type Vec = { idx: number[]; val: number[] };
  type Option = Vec & { pairs: [Vec, Vec][] };
  const options: Option[][] = [];
  for (const p of net.placed) {
    const k = kOf(compatClass(p, prof));
    const list: Option[] = [];
    for (const cand of candidates(p, net, prof, densePop)) {
      if (cand.ownWorst > 1 + 1e-9) continue;
      const lu = leastUsage(p, cand.t, prof, densePop);
      const acc = new Map<number, number>();
      const put = (i: number, v: number): void => void acc.set(i, (acc.get(i) ?? 0) + v);
      put(k * 4 + 1, lu.bits / caps[1]!);
      put(k * 4 + 2, lu.slots / caps[2]!);
      const pairs: [Vec, Vec][] = [];
      for (const g of p.groups)
        for (const s of fanTotals(net, prof, g, cand.t).bySrc) {
          const sk = kOf(compatClass(s.pop, prof));
          // Same class: relaying only adds (pointers, relay compartments), so direct is the cheaper.
          if (sk === rk) put(sk * 4 + 3, s.entries / caps[3]!);
          else
            pairs.push([
              { idx: [sk * 4 + 3], val: [s.entries / caps[3]!] },
              { idx: [sk * 4 + 3, rk * 4 + 3, rk * 4, rk * 4 + 1, rk * 4 + 2], val: [s.reached / caps[3]!, s.entries / caps[3]!, s.reached / caps[0]!, (s.reached * prof.weight_bits) / caps[1]!, s.reached / caps[2]!] },
            ]);
        }
      list.push({ idx: [...acc.keys()], val: [...acc.values()], pairs });
    }
    if (list.length) options.push(list);
  }
  const U = new Float64Array(K * 4);
  const dot = (lam: Float64Array, v: Vec): number => {
    let c = 0;
    for (let j = 0; j < v.idx.length; j++) c += lam[v.idx[j]!]! * v.val[j]!;
    return c;
  };
  const add = (v: Vec): void => {
    for (let j = 0; j < v.idx.length; j++) U[v.idx[j]!]! += v.val[j]!;
  };
  const evaluate = (lam: Float64Array): number => {
    U.set(fixed);
    let L = 0;
    for (let i = 0; i < fixed.length; i++) L += lam[i]! * fixed[i]!;
    for (const list of options) {
      let best = Infinity;
      let arg = list[0]!;
      for (const o of list) {
        let c = dot(lam, o);
        for (const [d, r] of o.pairs) c += Math.min(dot(lam, d), dot(lam, r));
        if (c < best) {
          best = c;
          arg = o;
        }
      }
      L += best;
      add(arg);
      for (const [d, r] of arg.pairs) add(dot(lam, d) <= dot(lam, r) ? d : r);
    }
    return L;
  };
  const lam = new Float64Array(K * 4).fill(0.25);
  let bestL = 0;
  let bestLam = Float64Array.from(lam);
  // Unit vectors first (per class, every resource): the classic per-resource bounds.
  for (let r = 0; r < 4; r++) {
    const v = new Float64Array(K * 4);
    for (let k = 0; k < K; k++) v[k * 4 + r] = 1;
    const L = evaluate(v);
    if (L > bestL) {
      bestL = L;
      bestLam = v;
    }
  }
  for (let it = 0; it < 300; it++) {
    const L = evaluate(lam);
    if (L > bestL) {
      bestL = L;
      bestLam = Float64Array.from(lam);
    }
    const eta = 2 / Math.sqrt(it + 1);
    for (let k = 0; k < K; k++) {
      let m = 0;
      for (let r = 0; r < 4; r++) m = Math.max(m, U[k * 4 + r]!);
      let s = 0;
      for (let r = 0; r < 4; r++) {
        lam[k * 4 + r] = lam[k * 4 + r]! * Math.exp((eta * U[k * 4 + r]!) / (m || 1));
        s += lam[k * 4 + r]!;
      }
      for (let r = 0; r < 4; r++) lam[k * 4 + r] = Math.max(1e-12, lam[k * 4 + r]! / s);
    }
  }
  evaluate(bestLam);
  // Report per class the usage of the minimising tilings at the best prices, and the class's share of the bound.
  const out: ClassBound[] = classes.map((cls, k) => {
    const by = { cx: Math.ceil(U[k * 4]! - 1e-9), bits: Math.ceil(U[k * 4 + 1]! - 1e-9), in_slots: Math.ceil(U[k * 4 + 2]! - 1e-9), out_axons: Math.ceil(U[k * 4 + 3]! - 1e-9) };
    let share = 0;
    for (let r = 0; r < 4; r++) share += bestLam[k * 4 + r]! * U[k * 4 + r]!;
    const binding = RES[[0, 1, 2, 3].reduce((a, r) => (bestLam[k * 4 + r]! > bestLam[k * 4 + a]! ? r : a), 0)]!;
    return { cls, cx: U[k * 4]! * caps[0]!, bits: U[k * 4 + 1]! * caps[1]!, in_slots: U[k * 4 + 2]! * caps[2]!, out_axons: U[k * 4 + 3]! * caps[3]!, cores_by: by, cores: share, binding, prices: Object.fromEntries(RES.map((r, i) => [r, Number(bestLam[k * 4 + i]!.toFixed(4))])) };
  });
  // The Lagrangian value is a bound on the sum; it is never below the §3.3 bound's per-class terms of
  // partition-independent totals, so take the larger.
  const cores = Math.max(base.cores, Math.ceil(bestL - 1e-6));
  return { classes: out.map((c) => ({ ...c, cores: Number(c.cores.toFixed(2)) })), cores, chips: Math.ceil(cores / prof.cores_per_chip) };
}
