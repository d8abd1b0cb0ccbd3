/**
 * Design-rule checks: every chip limit as a named rule (Rockpool-style), each with a readable message
 * naming the core and layer and a fix hint, e.g.
 *
 *   in-axons 4200 > 4096 on core 3 (layer conv2): split along input channels
 *
 * Rules with severity "error" fail the compile (nothing is written); "warning" rules are reported.
 */
import type { Network, Pop } from "./model.js";
import type { Partition } from "./partition.js";
import { cxCapacity, qMax, uMax, vMax, vthMantMax, weightMantMax, type Profile } from "./profile.js";
import { channelQuant, cxPerNeuron, splitExtra } from "./resources.js";

export interface Violation {
  readonly message: string;
  readonly core?: number;
  readonly layer?: string;
}

export interface RuleResult {
  readonly rule: string;
  readonly description: string;
  readonly severity: "error" | "warning";
  readonly pass: boolean;
  readonly hint: string;
  /** Largest used/limit ratio over what the rule checks (1 = at the limit). */
  readonly worst_ratio: number;
  readonly violations: readonly Violation[];
}

export interface LayerQuantInfo {
  readonly pop: Pop;
  /** The largest Θ the hard limits (weights at the largest exponent, q, u) allow. */
  readonly scale_limit: number;
  readonly scale: number;
  readonly vth_mant: number;
  /** The smallest threshold class Θ / 2^k the layer uses (Θ without classes) and the realisation's floor. */
  readonly min_class_scale: number;
  readonly class_floor: number;
  readonly clipped_weights: number;
  readonly clipped_bias: number;
  /** Worst case over the layer's neurons of Σ|W| + |B| (integer units). */
  readonly q_worst: number;
  /** Worst-case |v| path: span·q_worst + |Φ| (span: T per integration window, Pop.span). */
  readonly v_worst: number;
  readonly weight_exps: readonly number[];
}

export interface DrcInput {
  readonly net: Network;
  readonly prof: Profile;
  readonly part?: Partition;
  readonly quant?: readonly LayerQuantInfo[];
  readonly chips?: number;
}

export const RULES: readonly { readonly rule: string; readonly description: string; readonly severity: "error" | "warning"; readonly hint: string }[] = [
  { rule: "compartments", description: "compartments per core ≤ cx_per_core", severity: "error", hint: "a neuron of this layer needs more compartments than a core has: raise cx_per_core or use a realisation with fewer compartments per neuron" },
  { rule: "delay-slots", description: "compartments × delay slots ≤ delay_slot_budget", severity: "error", hint: "fewer delay slots (delay_slots) or a larger delay_slot_budget" },
  { rule: "synapse-memory", description: "synapse memory bits per core ≤ syn_bits_per_core (nengo-loihi storage model)", severity: "error", hint: "one neuron's fan-in does not fit a core's synapse memory: split along input channels or use fewer weight bits" },
  { rule: "in-axons", description: "input axon slots per core ≤ in_axons", severity: "error", hint: "split along input channels" },
  { rule: "out-axons", description: "output axons (compartment → core edges) per core ≤ out_axons", severity: "error", hint: "split the source layer into smaller tiles or lower its fan-out" },
  { rule: "cx-profiles", description: "distinct compartment profiles per core ≤ max_cx_profiles", severity: "error", hint: "put fewer kinds of compartments on a core (one layer per core)" },
  { rule: "vth-profiles", description: "distinct threshold profiles per core ≤ max_vth_profiles", severity: "error", hint: "put fewer layers on a core" },
  { rule: "syn-formats", description: "synapse formats per core ≤ max_syn_formats", severity: "error", hint: "put fewer synapse groups on a core or share exponents (exponent=layer)" },
  { rule: "weight-range", description: "every weight mantissa within ±(2^(weight_bits−1) − 1) without clipping", severity: "error", hint: "no legal configuration: even the smallest threshold class leaves a weight above the largest mantissa at weight_exp_max (a profile with a larger weight_exp_max is needed)" },
  { rule: "threshold-range", description: "vth_mant = Θ / 2^vth_shift an integer in [1, 2^vth_mant_bits − 1]; every threshold class Θ/2^k an integer ≥ the realisation's smallest threshold", severity: "error", hint: "no legal configuration: a channel's weights or bias need a threshold below the smallest one the realisation allows (a profile with a larger weight_exp_max, bias range or a smaller vth_shift is needed)" },
  { rule: "bias-range", description: "every bias mantissa within its range without clipping", severity: "error", hint: "no legal configuration: the bias does not fit the bias grid at any threshold class (a profile with more bias_mant_bits / bias_exp_max, or a wider weight exponent range for clock-synapse biases, is needed)" },
  { rule: "delay-range", description: "programmed synaptic delays ≤ delay_max (the mapping uses only the built-in one-step delay)", severity: "error", hint: "—" },
  { rule: "tsc-window", description: "one-shot comparators: every layer's window T + 1 ≤ refract_max (OR gates: their source's window)", severity: "error", hint: "use windows ≤ refract_max − 1 (--window, --layer-windows) or a realisation with self-inhibition (Loihi 2 microcode)" },
  { rule: "q-overflow", description: "worst-case per-step synaptic input |q| ≤ 2^q_bits − 1 per integrator compartment (all positive or all negative switches of a row, or of a split channel's part, at once, plus the bias)", severity: "error", hint: "no legal configuration: the channel is at its smallest threshold class and a single weight exceeds the register, so no fan-in split fits (a profile with more q_bits is needed)" },
  { rule: "u-overflow", description: "worst-case current |u| ≤ 2^(u_bits−1) − 1 per integrator compartment (u wraps silently)", severity: "error", hint: "no legal configuration: the channel is at its smallest threshold class and a single weight exceeds the register, so no fan-in split fits (a profile with more u_bits is needed)" },
  { rule: "v-saturation", description: "worst-case membrane path |v| ≤ vmax (v saturates)", severity: "warning", hint: "saturation is possible only for extreme inputs; tscc run reports the events that occur" },
  { rule: "chips", description: "chips used ≤ max_chips (0 = unlimited)", severity: "error", hint: "use a profile with more chips or a smaller model" },
];

export function runDrc(d: DrcInput): RuleResult[] {
  const { net, prof, part, quant } = d;
  const out = new Map<string, Violation[]>();
  const worst = new Map<string, number>();
  const push = (rule: string, v: Violation): void => {
    let l = out.get(rule);
    if (!l) out.set(rule, (l = []));
    l.push(v);
  };
  const ratio = (rule: string, used: number, limit: number): void => {
    const r = limit > 0 ? used / limit : used > 0 ? Infinity : 0;
    worst.set(rule, Math.max(worst.get(rule) ?? 0, r));
  };
  const hintOf = (rule: string): string => RULES.find((r) => r.rule === rule)!.hint;
  const layerOf = (c: { tiles: readonly { pop: Pop }[]; relays?: readonly { group: { target: Pop } }[] }): string =>
    [...new Set(c.tiles.map((t) => t.pop.name))].join(", ") || [...new Set((c.relays ?? []).map((r) => `relays to ${r.group.target.name}`))].join(", ") || "clocks";
  const check = (rule: string, used: number, limit: number, core: number, layer: string, label = rule, hint = hintOf(rule)): void => {
    ratio(rule, used, limit);
    if (used > limit) push(rule, { message: `${label} ${used} > ${limit} on core ${core} (layer ${layer}): ${hint}`, core, layer });
  };
  if (part) {
    for (const c of part.cores) {
      const layer = layerOf(c);
      const u = c.usage;
      const one = c.tiles.length === 1 && c.tiles[0]!.c1 - c.tiles[0]!.c0 === 1 && c.tiles[0]!.y1 - c.tiles[0]!.y0 === 1 && c.tiles[0]!.x1 - c.tiles[0]!.x0 === 1;
      const cxHint = one
        ? c.tiles[0]!.pop.kind !== "or" && splitExtra(channelQuant(c.tiles[0]!.pop), c.tiles[0]!.c0, c.tiles[0]!.c1) > 0
          ? `no legal configuration: a ${c.tiles[0]!.pop.kind} neuron of a split channel needs more compartments than a core has (its fan-in parts must share a core): raise cx_per_core`
          : `a ${c.tiles[0]!.pop.kind} neuron needs ${cxPerNeuron(c.tiles[0]!.pop, prof)} compartments: raise cx_per_core`
        : "split the layer into smaller tiles";
      check("compartments", u.cx, prof.cx_per_core, c.id, layer, "compartments", cxHint);
      check("delay-slots", u.cx * prof.delay_slots, prof.delay_slot_budget, c.id, layer, `delay-slots ${u.cx}×${prof.delay_slots} =`, hintOf("delay-slots"));
      check("synapse-memory", u.bits, prof.syn_bits_per_core, c.id, layer, "synapse bits");
      check("in-axons", u.inSlots, prof.in_axons, c.id, layer, "in-axons");
      check("out-axons", c.outAxons, prof.out_axons, c.id, layer, "out-axons");
      check("cx-profiles", u.cxProfiles.size, prof.max_cx_profiles, c.id, layer, "compartment profiles");
      check("vth-profiles", u.vthProfiles.size, prof.max_vth_profiles, c.id, layer, "threshold profiles");
      check("syn-formats", u.formats.size, prof.max_syn_formats, c.id, layer, "synapse formats");
    }
  }
  if (prof.tsc.one_shot_by_refractory) {
    // Per-layer windows: one line per window that does not fit, naming its layers.
    const byT = new Map<number, string[]>();
    for (const p of net.placed) {
      if (p.kind !== "tsc" && p.kind !== "or") continue;
      ratio("tsc-window", p.T + 1, prof.refract_max);
      if (p.T + 1 > prof.refract_max) byT.set(p.T, [...(byT.get(p.T) ?? []), p.name]);
    }
    for (const [T, layers] of [...byT].sort((a, b) => a[0] - b[0])) {
      push("tsc-window", { message: `tsc-window ${T + 1} > ${prof.refract_max}: window ${T} (layer${layers.length > 1 ? "s" : ""} ${layers.join(", ")}) needs a refractory delay of ${T + 1} steps for one-shot comparators (refract_max ${prof.refract_max}): ${hintOf("tsc-window")}`, layer: layers[0]! });
    }
  }
  ratio("delay-range", 0, prof.delay_max);
  for (const q of quant ?? []) {
    // A layer whose window differs from its sources' carries their gain in its weights: say so.
    const layer = q.pop.name;
    const gain = gainNote(q.pop);
    const where = `${layer}${gain}`;
    const fix = (rule: string): string => `${hintOf(rule)}${gain ? "; or give the layer a window closer to its sources' (--layer-windows) to lower the gain" : ""}`;
    ratio("threshold-range", q.vth_mant, vthMantMax(prof));
    const unit = 2 ** prof.vth_shift;
    if (q.scale_limit < q.class_floor) {
      const what = q.class_floor === unit ? `one threshold unit 2^${prof.vth_shift} = ${unit}` : `the smallest threshold class Θ/2^k = ${q.class_floor} the realisation allows`;
      push("threshold-range", { message: `threshold-range Θ ≤ ${Number(q.scale_limit.toPrecision(4))} is below ${what} (layer ${where}): ${fix("threshold-range")}`, layer });
    } else if (!(Number.isInteger(q.min_class_scale) && q.min_class_scale >= q.class_floor)) {
      push("threshold-range", { message: `threshold-range class Θ_c ${q.min_class_scale} is not an integer ≥ ${q.class_floor} (layer ${where}): ${fix("threshold-range")}`, layer });
    } else if (!(Number.isInteger(q.vth_mant) && q.vth_mant >= 1 && q.vth_mant <= vthMantMax(prof))) {
      push("threshold-range", { message: `threshold-range vth_mant ${q.vth_mant} outside [1, ${vthMantMax(prof)}] (layer ${where}): ${fix("threshold-range")}`, layer });
    }
    if (q.clipped_weights > 0) push("weight-range", { message: `weight-range ${q.clipped_weights} weight mantissa(s) clipped at ±${weightMantMax(prof)} (layer ${where}, exponent ${Math.max(...q.weight_exps)}): ${fix("weight-range")}`, layer });
    ratio("weight-range", q.clipped_weights > 0 ? 2 : 1, 1);
    if (q.clipped_bias > 0) push("bias-range", { message: `bias-range ${q.clipped_bias} bias mantissa(s) clipped (layer ${where}): ${fix("bias-range")}`, layer });
    ratio("bias-range", q.clipped_bias > 0 ? 2 : 1, 1);
    ratio("q-overflow", q.q_worst, qMax(prof));
    if (q.q_worst > qMax(prof)) push("q-overflow", { message: `q-overflow worst-case per-step input ${q.q_worst} > ${qMax(prof)} (2^${prof.q_bits} − 1) (layer ${where}): ${fix("q-overflow")}`, layer });
    ratio("u-overflow", q.q_worst, uMax(prof));
    // Where q overflows too and is the narrower register, the q-overflow line names the limit alone.
    if (q.q_worst > uMax(prof) && !(q.q_worst > qMax(prof) && qMax(prof) <= uMax(prof))) push("u-overflow", { message: `u-overflow worst-case current ${q.q_worst} > ${uMax(prof)} (2^${prof.u_bits - 1} − 1) (layer ${where}): ${fix("u-overflow")}`, layer });
    ratio("v-saturation", q.v_worst, vMax(prof));
    if (q.v_worst > vMax(prof)) push("v-saturation", { message: `v-saturation worst-case membrane ${q.v_worst} > vmax ${vMax(prof)} (layer ${where}): ${fix("v-saturation")}`, layer });
  }
  if (d.chips !== undefined && prof.max_chips > 0) {
    ratio("chips", d.chips, prof.max_chips);
    if (d.chips > prof.max_chips) push("chips", { message: `chips ${d.chips} > ${prof.max_chips}: the mapping needs ${part?.cores.length ?? "?"} cores at ${prof.cores_per_chip} per chip: ${hintOf("chips")}` });
  }
  void cxCapacity;
  return RULES.map((r) => {
    const v = out.get(r.rule) ?? [];
    return { rule: r.rule, description: r.description, severity: r.severity, pass: v.length === 0, hint: r.hint, worst_ratio: worst.get(r.rule) ?? 0, violations: v };
  });
}

/** ", window gain 16 (T 32 / T_src 2) folded into its weights" for a layer integrating sources of other windows; "" otherwise. */
export function gainNote(p: Pop): string {
  const gains = [...new Set(p.groups.filter((g) => g.kind !== "pool" && g.gain !== 1).map((g) => g.gain))].sort((a, b) => b - a);
  if (!gains.length) return "";
  const g = gains[0]!;
  return `, window gain ${Number(g.toPrecision(4))} (T ${p.T} / T_src ${Number((p.T / g).toPrecision(4))}) folded into its weights`;
}

/** Rules that apply to a stage (quantize: numeric rules; partition: per-core rules; place: chips). */
export const STAGE_RULES: Readonly<Record<string, readonly string[]>> = {
  quantize: ["weight-range", "threshold-range", "bias-range", "q-overflow", "u-overflow", "v-saturation", "tsc-window", "delay-range"],
  partition: ["compartments", "delay-slots", "synapse-memory", "in-axons", "out-axons", "cx-profiles", "vth-profiles", "syn-formats"],
  place: ["chips"],
};
