/**
 * Chip profiles as data: every limit the mapper obeys, with its source and provenance tag
 * (mapping.md §1; tags P = paper, C = public code, D = derived, S = secondary, U = unverified).
 *
 * - `loihi1` (default): Davies et al. 2018 and code written to be bit-exact with Loihi 1 (nengo-loihi,
 *   Lava `PyLifModelBitAcc`, Sandia Fugu, SANA-FE).
 * - `loihi2`: low confidence; no public datasheet (mapping.md §1.5). Figures marked S/U.
 * - a user profile: a JSON file with the same fields, optionally `"base": "loihi1"` to start from a
 *   built-in profile and override some fields. It is validated with zod; every problem is reported
 *   at once as `<file>: <field> <what is wrong>, got <value>`.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { z } from "zod";
import { fmt, M, TsccError } from "../../ir/index.js";

export type Tag = "P" | "C" | "D" | "S" | "U";

/** How TSC is realised on the chip (mapping.md §6.3), as the mapper counts it. */
export interface TscRealisation {
  /** `option-a`: ON and OFF source compartments with their own axons (+w / −w lists, Loihi 1);
   *  `graded`: one axon per source, spikes carry a signed payload ±1 (Loihi 2). */
  readonly synapse: "option-a" | "graded" | "binary";
  /** Compartments per TSC neuron (hidden layers). */
  readonly neuron_cx: number;
  /** Compartments per max-pool (OR-of-switches) unit. */
  readonly or_cx: number;
  /** Compartments per output (read-out) neuron: an integrator, read by a probe. */
  readonly readout_cx: number;
  /** Clock compartments per spiking layer (shared by all its cores; 0 when the neuron keeps time itself). */
  readonly clock_cx_per_layer: number;
  /** Clock axons (and synapse lists) each core of a TSC layer receives from its layer clock. */
  readonly clock_axons_per_core: number;
  /** Where the bias b̃·T comes from: a clock switch synapse (own synapse format) or the neuron's bias register. */
  readonly bias: "clock-synapse" | "neuron";
  /** One-shot comparators rely on the refractory delay, so the window must satisfy T + 1 ≤ refract_max. */
  readonly one_shot_by_refractory: boolean;
  /**
   * Compatibility class of relay compartments (identity neurons that forward a wide fan-out). Loihi 1:
   * `switch` (δu = δv = 4095 on a dsOffset = 0 core, see docs/loihi.md) so relays share cores with the
   * TSC tiles; `impulse` keeps them apart. Loihi 2: `tsc-program` (a relay mode of the TSC microcode,
   * U) or `or-program`.
   */
  readonly relay_class: "switch" | "impulse" | "tsc-program" | "or-program" | "cuba";
}

export interface EnergySet {
  readonly name: string;
  readonly source: string;
  readonly tag: Tag;
  /** Per synaptic operation (one weight delivered to one compartment). */
  readonly synop_pj: number;
  /** Per configured compartment per time step, inactive / active (spiking or receiving). */
  readonly update_inactive_pj: number;
  readonly update_active_pj: number;
  /** Per spike message inside a tile, per E-W hop, per N-S hop, per chip crossing. */
  readonly spike_local_pj: number;
  readonly hop_ew_pj: number;
  readonly hop_ns_pj: number;
  readonly chip_crossing_pj: number;
  /** Static power per chip (W) and time per step (s) for the static share. */
  readonly static_w_per_chip: number;
  readonly step_time_s: number;
}

export interface Profile {
  readonly name: string;
  readonly description: string;
  readonly confidence: "high" | "low";
  readonly cores_per_chip: number;
  readonly cores_per_tile: number;
  /** Tile mesh of one chip (x = E-W, y = N-S). */
  readonly tiles_x: number;
  readonly tiles_y: number;
  /** Chips laid out in a row-major grid this many chips wide. */
  readonly chip_grid_x: number;
  /** Chips available (0 = as many as needed). */
  readonly max_chips: number;
  readonly cx_per_core: number;
  readonly delay_slot_budget: number;
  readonly delay_slots: number;
  readonly syn_bits_per_core: number;
  readonly word_bits: number;
  readonly in_axons: number;
  readonly out_axons: number;
  readonly max_cx_profiles: number;
  readonly max_vth_profiles: number;
  readonly max_syn_formats: number;
  readonly weight_bits: number;
  readonly weight_exp_min: number;
  readonly weight_exp_max: number;
  readonly weight_fixed_shift: number;
  readonly u_bits: number;
  readonly v_bits: number;
  readonly q_bits: number;
  readonly vth_mant_bits: number;
  readonly vth_shift: number;
  readonly bias_mant_bits: number;
  readonly bias_exp_max: number;
  readonly decay_bits: number;
  readonly refract_max: number;
  readonly delay_max: number;
  readonly syn_block_entries: number;
  readonly syn_header_bits: number;
  readonly idx_bits_map: readonly number[];
  readonly max_atoms_per_axon: number;
  readonly pop_axon_slots: number;
  readonly tsc: TscRealisation;
  readonly energy: Readonly<Record<string, EnergySet>>;
  /** Per-step time model: ns per compartment update, per synaptic op, barrier per step. */
  readonly time_update_ns: number;
  readonly time_synop_ns: number;
  readonly time_barrier_ns: number;
  /** Source and tag of each field (built-in profiles: every field). */
  readonly sources: Readonly<Record<string, { readonly tag: Tag; readonly source: string }>>;
}

// ---------------------------------------------------------------------------------------------------
// Built-in profiles

const DAVIES = "Davies et al., IEEE Micro 38(1) 2018";
const NENGO = "nengo-loihi nengo_loihi/block.py";

const ENERGY_LOIHI1: Record<string, EnergySet> = {
  davies2018: {
    name: "davies2018",
    source: `${DAVIES}, Table 2 (pre-silicon, 0.75 V): synop 23.6 pJ, neuron update 52/81 pJ, spike in tile 1.7 pJ, hop 3.0/4.0 pJ; static 104 mW/chip (Frady et al. 2020, D); chip crossing not published (U, parameter)`,
    tag: "P",
    synop_pj: 23.6,
    update_inactive_pj: 52,
    update_active_pj: 81,
    spike_local_pj: 1.7,
    hop_ew_pj: 3.0,
    hop_ns_pj: 4.0,
    chip_crossing_pj: 100,
    static_w_per_chip: 0.104,
    step_time_s: 10e-6,
  },
  "sana-fe": {
    name: "sana-fe",
    source: "SANA-FE arch/loihi.yaml (Boyle et al., IEEE TCAD 2025; calibrated on Nahuku): synapse 35.5 pJ, neuron 51.2/72.8 pJ, axon-out 76.8 pJ per message, hop 3.0/4.2 pJ; chip crossing U",
    tag: "C",
    synop_pj: 35.5,
    update_inactive_pj: 51.2,
    update_active_pj: 72.8,
    spike_local_pj: 76.8,
    hop_ew_pj: 3.0,
    hop_ns_pj: 4.2,
    chip_crossing_pj: 100,
    static_w_per_chip: 0.104,
    step_time_s: 10e-6,
  },
};

const LOIHI1_SOURCES: Record<string, { tag: Tag; source: string }> = {
  cores_per_chip: { tag: "P", source: `${DAVIES} p.86` },
  cores_per_tile: { tag: "D", source: "32 tiles of 4 cores (Table 2 tile range; SANA-FE arch/loihi.yaml 8×4 mesh)" },
  tiles_x: { tag: "C", source: "SANA-FE arch/loihi.yaml (8×4 tile mesh)" },
  tiles_y: { tag: "C", source: "SANA-FE arch/loihi.yaml (8×4 tile mesh)" },
  chip_grid_x: { tag: "U", source: "layout assumption: chips in a row-major grid 8 wide (a Nahuku board holds 8–32 chips)" },
  max_chips: { tag: "D", source: "0 = unlimited (Pohoiki Springs: 768 chips, Frady et al. 2020)" },
  cx_per_core: { tag: "P", source: `${DAVIES} p.86/p.89; ${NENGO} MAX_COMPARTMENTS` },
  delay_slot_budget: { tag: "P", source: `${DAVIES} p.92 (compartments × delay slots ≤ 8192); Fugu maxNeuronsPerCore` },
  delay_slots: { tag: "C", source: "8 delay slots by default (Fugu loihi_backend.py)" },
  syn_bits_per_core: { tag: "P", source: `${DAVIES} p.89 constraint 2; ${NENGO} MAX_SYNAPSE_BITS` },
  word_bits: { tag: "C", source: `${NENGO} SynapseConfig.bits_per_axon (64-bit memory words)` },
  in_axons: { tag: "P", source: `${DAVIES} p.89 constraint 4; ${NENGO} MAX_IN_AXONS` },
  out_axons: { tag: "P", source: `${DAVIES} p.89 constraint 3; ${NENGO} MAX_OUT_AXONS` },
  max_cx_profiles: { tag: "C", source: "nengo-loihi hardware/nxsdk_objects.py (32)" },
  max_vth_profiles: { tag: "C", source: "nengo-loihi hardware/nxsdk_objects.py (8; validate.py says 16, 'TODO: check')" },
  max_syn_formats: { tag: "C", source: "nengo-loihi hardware/nxsdk_objects.py (8; validate.py says 16)" },
  weight_bits: { tag: "C", source: `${NENGO} SynapseConfig (8-bit weights, mixed sign: the −256..255 value shifted right by 1); Lava utils/weightutils.py` },
  weight_exp_min: { tag: "C", source: "Sandia Fugu loihi_backend.py; nengo SynapseConfig.get_real_weight_exp" },
  weight_exp_max: { tag: "C", source: "Sandia Fugu loihi_backend.py; nengo SynapseConfig.get_real_weight_exp" },
  weight_fixed_shift: { tag: "C", source: "hardware left shift of 6 (nengo get_real_weight_exp = 6 + weight_exp)" },
  u_bits: { tag: "C", source: "Lava lif/models.py uv_bitwidth = 24 (u wraps on overflow)" },
  v_bits: { tag: "C", source: "Lava lif/models.py uv_bitwidth = 24 (v clipped to [vmin, vmax])" },
  q_bits: { tag: "C", source: "nengo-loihi builder/discretize.py Q_BITS = 21 (+ sign)" },
  vth_mant_bits: { tag: "C", source: "nengo VTH_MAN_MAX = 131071 (17 bits)" },
  vth_shift: { tag: "C", source: "nengo VTH_EXP = 6 (vth = vThMant · 2^6)" },
  bias_mant_bits: { tag: "C", source: "nengo BIAS_MAN_MAX = 4095 (13-bit signed)" },
  bias_exp_max: { tag: "C", source: "nengo BIAS_EXP_MAX = 7" },
  decay_bits: { tag: "C", source: "Lava / nengo: δu, δv 12-bit" },
  refract_max: { tag: "C", source: "nengo hardware/validate.py REFRACT_DELAY_MAX = 63" },
  delay_max: { tag: "C", source: "6-bit delay field, 0..62 (lava-dl netx)" },
  syn_block_entries: { tag: "C", source: `${NENGO} bits_per_axon (n_synapses + 1 = 64 per block)` },
  syn_header_bits: { tag: "C", source: `${NENGO} bits_per_axon (4 format-index bits + 6 count bits per block)` },
  idx_bits_map: { tag: "C", source: `${NENGO} SynapseConfig.INDEX_BITS_MAP` },
  max_atoms_per_axon: { tag: "C", source: `${NENGO} Synapse.atom_bits_extra (≤ 9 atom bits; assumed for pop32 as well, U)` },
  pop_axon_slots: { tag: "C", source: `${NENGO} Axon.slots_per_axon (pop32 axons take 2 axon_cfg slots)` },
  tsc: { tag: "D", source: "mapping.md §6.3 Option A and the Loihi 1 design sketch (realised in docs/loihi.md); needs validation on silicon. Relays: δu = δv = 4095 compartments on switch (dsOffset = 0) cores, one input weight ≥ vth, residual ⌊W/4096⌋ below vth (D)" },
  energy: { tag: "P", source: `${DAVIES} Table 2; SANA-FE arch/loihi.yaml` },
  time_update_ns: { tag: "P", source: `${DAVIES} Table 2: neuron update 5.3–8.4 ns (active value)` },
  time_synop_ns: { tag: "P", source: `${DAVIES} Table 2: synaptic op 3.5 ns (max)` },
  time_barrier_ns: { tag: "P", source: `${DAVIES} Table 2: mesh-wide barrier 113–465 ns (upper value)` },
};

export const LOIHI1: Profile = {
  name: "loihi1",
  description: "Intel Loihi 1 (Davies et al. 2018), limits from the paper and from code written to be bit-exact with the chip",
  confidence: "high",
  cores_per_chip: 128,
  cores_per_tile: 4,
  tiles_x: 8,
  tiles_y: 4,
  chip_grid_x: 8,
  max_chips: 0,
  cx_per_core: 1024,
  delay_slot_budget: 8192,
  delay_slots: 8,
  syn_bits_per_core: 1_048_576,
  word_bits: 64,
  in_axons: 4096,
  out_axons: 4096,
  max_cx_profiles: 32,
  max_vth_profiles: 8,
  max_syn_formats: 8,
  weight_bits: 8,
  weight_exp_min: -8,
  weight_exp_max: 7,
  weight_fixed_shift: 6,
  u_bits: 24,
  v_bits: 24,
  q_bits: 21,
  vth_mant_bits: 17,
  vth_shift: 6,
  bias_mant_bits: 13,
  bias_exp_max: 7,
  decay_bits: 12,
  refract_max: 63,
  delay_max: 62,
  syn_block_entries: 64,
  syn_header_bits: 10,
  idx_bits_map: [0, 6, 7, 8, 9, 10, 11, 12],
  max_atoms_per_axon: 512,
  pop_axon_slots: 2,
  tsc: {
    synapse: "option-a",
    neuron_cx: 4,
    or_cx: 2,
    readout_cx: 1,
    clock_cx_per_layer: 6,
    clock_axons_per_core: 6,
    bias: "clock-synapse",
    one_shot_by_refractory: true,
    relay_class: "switch",
  },
  energy: ENERGY_LOIHI1,
  time_update_ns: 8.4,
  time_synop_ns: 3.5,
  time_barrier_ns: 465,
  sources: LOIHI1_SOURCES,
};

const LOIHI2_SOURCES: Record<string, { tag: Tag; source: string }> = {
  ...LOIHI1_SOURCES,
  cores_per_chip: { tag: "S", source: "128 nominal (Hala Point: 140,544 cores / 1,152 chips = 122 usable), mapping.md §1.5" },
  cx_per_core: { tag: "S", source: "≈8,192 neurons per core (1 M neurons / 128 cores), mapping.md §1.5; depends on the neuron program" },
  delay_slot_budget: { tag: "U", source: "not public; assumed not binding (cx_per_core × delay_slots)" },
  syn_bits_per_core: { tag: "S", source: "≈128 KB SRAM per core shared between synapses, state and routing; split U (assumed all synapses)" },
  in_axons: { tag: "U", source: "not public; Loihi 1 value kept" },
  out_axons: { tag: "U", source: "not public; Loihi 1 value kept" },
  weight_bits: { tag: "C", source: "Lava Dense (num_weight_bits 8, sign_mode mixed; w_scale = 8 − bits + exp + isMixed)" },
  u_bits: { tag: "C", source: "Lava sign_extend_24bit; graded payload up to 24 bits" },
  v_bits: { tag: "C", source: "Lava sign_extend_24bit" },
  q_bits: { tag: "U", source: "not public; 23 assumed (24-bit signed accumulator)" },
  tsc: { tag: "D", source: "mapping.md §6.3 Option C: graded ±1 payloads, microcode TSC neuron (1 compartment, keeps its own phase and bias); relays as a forwarding mode of the same program (U)" },
  energy: { tag: "U", source: "not public for Loihi 2: Loihi 1 figures reused as placeholders" },
};

export const LOIHI2: Profile = {
  ...LOIHI1,
  name: "loihi2",
  description: "Intel Loihi 2 (LOW CONFIDENCE: no public datasheet; Lava, press and derived figures, mapping.md §1.5)",
  confidence: "low",
  cx_per_core: 8192,
  delay_slot_budget: 65536,
  q_bits: 23,
  tsc: {
    synapse: "graded",
    neuron_cx: 1,
    or_cx: 1,
    readout_cx: 1,
    clock_cx_per_layer: 0,
    clock_axons_per_core: 0,
    bias: "neuron",
    one_shot_by_refractory: false,
    relay_class: "tsc-program",
  },
  energy: Object.fromEntries(
    Object.entries(ENERGY_LOIHI1).map(([k, e]) => [k, { ...e, tag: "U" as Tag, source: `placeholder: Loihi 1 ${e.name} figures (Loihi 2 energy per op is not public)` }]),
  ),
  sources: LOIHI2_SOURCES,
};

export const BUILTIN_PROFILES: Readonly<Record<string, Profile>> = { loihi1: LOIHI1, loihi2: LOIHI2 };

// ---------------------------------------------------------------------------------------------------
// User profiles (zod schema)

const POS_INT = "must be a positive integer";
const NONNEG_INT = "must be a non-negative integer";
const POS_NUM = "must be a positive number";
const NONNEG_NUM = "must be a non-negative number";

const posInt = () => z.number({ error: POS_INT }).int({ error: POS_INT }).min(1, { error: POS_INT });
const nonnegInt = () => z.number({ error: NONNEG_INT }).int({ error: NONNEG_INT }).min(0, { error: NONNEG_INT });
const posNum = () => z.number({ error: POS_NUM }).positive({ error: POS_NUM });
const nonnegNum = () => z.number({ error: NONNEG_NUM }).min(0, { error: NONNEG_NUM });
/** An integer in [lo, hi]: register widths, shifts and exponents (2^x must stay a finite, exact number). */
const intIn = (lo: number, hi: number) => {
  const error = `must be an integer from ${lo} to ${hi}`;
  return z.number({ error }).int({ error }).min(lo, { error }).max(hi, { error });
};
const bits = (max: number) => intIn(1, max);
const text = () => z.string({ error: "must be a string" });

const energySchema = z.strictObject({
  name: text(),
  source: text(),
  tag: z.enum(["P", "C", "D", "S", "U"], { error: "must be one of P, C, D, S, U" }),
  synop_pj: nonnegNum(),
  update_inactive_pj: nonnegNum(),
  update_active_pj: nonnegNum(),
  spike_local_pj: nonnegNum(),
  hop_ew_pj: nonnegNum(),
  hop_ns_pj: nonnegNum(),
  chip_crossing_pj: nonnegNum(),
  static_w_per_chip: nonnegNum(),
  step_time_s: nonnegNum(),
});

const tscSchema = z.strictObject({
  synapse: z.enum(["option-a", "graded"], { error: 'must be "option-a" or "graded"' }),
  neuron_cx: posInt(),
  or_cx: posInt(),
  readout_cx: posInt(),
  clock_cx_per_layer: nonnegInt(),
  clock_axons_per_core: nonnegInt(),
  bias: z.enum(["clock-synapse", "neuron"], { error: 'must be "clock-synapse" or "neuron"' }),
  one_shot_by_refractory: z.boolean({ error: "must be true or false" }),
  relay_class: z.enum(["switch", "impulse", "tsc-program", "or-program"], { error: 'must be "switch", "impulse", "tsc-program" or "or-program"' }),
});

/** Every field optional: a user profile starts from `base` (default loihi1) and overrides. */
const userSchema = z.strictObject({
  base: z.enum(["loihi1", "loihi2"], { error: 'must be "loihi1" or "loihi2"' }),
  name: text(),
  description: text(),
  confidence: z.enum(["high", "low"], { error: 'must be "high" or "low"' }),
  cores_per_chip: posInt(),
  cores_per_tile: posInt(),
  tiles_x: posInt(),
  tiles_y: posInt(),
  chip_grid_x: posInt(),
  max_chips: nonnegInt(),
  cx_per_core: posInt(),
  delay_slot_budget: posInt(),
  delay_slots: posInt(),
  syn_bits_per_core: posInt(),
  word_bits: posInt(),
  in_axons: posInt(),
  out_axons: posInt(),
  max_cx_profiles: posInt(),
  max_vth_profiles: posInt(),
  max_syn_formats: posInt(),
  weight_bits: bits(9),
  weight_exp_min: intIn(-32, 32),
  weight_exp_max: intIn(-32, 32),
  weight_fixed_shift: intIn(0, 32),
  u_bits: bits(32),
  v_bits: bits(32),
  q_bits: bits(31),
  vth_mant_bits: bits(24),
  vth_shift: intIn(0, 32),
  bias_mant_bits: bits(24),
  bias_exp_max: intIn(0, 32),
  decay_bits: bits(16),
  refract_max: posInt(),
  delay_max: nonnegInt(),
  syn_block_entries: posInt(),
  syn_header_bits: intIn(0, 64),
  idx_bits_map: z.array(intIn(0, 32), { error: "must be a list of integers from 0 to 32" }).min(1, { error: "must not be empty" }),
  max_atoms_per_axon: posInt(),
  pop_axon_slots: posInt(),
  tsc: tscSchema.partial(),
  energy: z.record(z.string(), energySchema, { error: "must be an object of energy sets" }),
  time_update_ns: posNum(),
  time_synop_ns: posNum(),
  time_barrier_ns: nonnegNum(),
  sources: z.record(z.string(), z.strictObject({ tag: z.enum(["P", "C", "D", "S", "U"], { error: "must be one of P, C, D, S, U" }), source: text() }), { error: "must be an object" }),
}).partial();

function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Cross-field checks of a complete profile (also applied to built-ins in the tests). */
export function profileProblems(p: Profile): string[] {
  const out: string[] = [];
  if (p.weight_exp_min > p.weight_exp_max) out.push(`weight_exp_min (${p.weight_exp_min}) must not exceed weight_exp_max (${p.weight_exp_max})`);
  if (p.syn_bits_per_core % p.word_bits !== 0) out.push(`syn_bits_per_core (${p.syn_bits_per_core}) must be a multiple of word_bits (${p.word_bits})`);
  if (p.cores_per_tile * p.tiles_x * p.tiles_y !== p.cores_per_chip) out.push(`cores_per_chip (${p.cores_per_chip}) must equal cores_per_tile × tiles_x × tiles_y (${p.cores_per_tile} × ${p.tiles_x} × ${p.tiles_y})`);
  if ([...p.idx_bits_map].some((v, i, a) => i > 0 && v < a[i - 1]!)) out.push("idx_bits_map must be non-decreasing");
  // One threshold unit must fit the membrane register, or no threshold is representable at all (the
  // other ranges are the DRC's: a weight or bias too large for u is a u-overflow of the network).
  if (p.vth_shift >= p.v_bits) out.push(`vth_shift (${p.vth_shift}) must be less than v_bits (${p.v_bits}): the threshold unit 2^vth_shift must fit the membrane register`);
  if (p.weight_bits < 2) out.push(`weight_bits (${p.weight_bits}) must be at least 2 (mixed-sign weights)`);
  if (Object.keys(p.energy).length === 0) out.push("energy must hold at least one energy set");
  return out;
}

/** Resolve `--profile`: a built-in name, or a path to a JSON profile (relative to `cwd`). */
export function loadProfile(spec: string, cwd = process.cwd()): Profile {
  const builtin = BUILTIN_PROFILES[spec];
  if (builtin) return builtin;
  const path = spec.startsWith("/") ? spec : `${cwd}/${spec}`;
  const file = basename(spec);
  if (!existsSync(path)) {
    throw new TsccError(fmt(M.Usage, [`profile '${spec}' is neither a built-in profile (${Object.keys(BUILTIN_PROFILES).join(", ")}) nor an existing JSON file`]));
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new TsccError(fmt(M.DataFile, [spec, `not valid JSON: ${(e as Error).message}`]));
  }
  return parseProfile(raw, file);
}

/** Validate a parsed user profile; throws a TsccError listing every problem. */
export function parseProfile(raw: unknown, file: string): Profile {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new TsccError(fmt(M.DataFile, [file, "a profile must be a JSON object"]));
  const r = userSchema.safeParse(raw, { reportInput: true });
  if (!r.success) {
    const problems = r.error.issues.map((iss) => {
      const path = iss.path.map(String).join(".");
      if (iss.code === "unrecognized_keys") {
        return `${file}: ${iss.keys.map((k) => (path ? `${path}.${k}` : k)).join(", ")}: unknown field${iss.keys.length > 1 ? "s" : ""}`;
      }
      return `${file}: ${path || "profile"} ${iss.message}, got ${describeValue(iss.input)}`;
    });
    // One line per distinct problem (2^53 is both not a safe integer and out of range: said once).
    throw new TsccError([...new Set(problems)].map((p) => fmt(M.Usage, [p])));
  }
  const u = r.data;
  const base = BUILTIN_PROFILES[u.base ?? "loihi1"]!;
  const { base: _b, tsc, ...rest } = u;
  const p: Profile = {
    ...base,
    ...rest,
    name: u.name ?? `${file}`,
    description: u.description ?? `user profile ${file} (based on ${base.name})`,
    tsc: { ...base.tsc, ...tsc },
    sources: { ...base.sources, ...Object.fromEntries(Object.keys(rest).filter((k) => k !== "sources").map((k) => [k, { tag: "U" as Tag, source: `user profile ${file}` }])), ...(u.sources ?? {}) },
  } as Profile;
  const cross = profileProblems(p);
  if (cross.length) throw new TsccError(cross.map((c) => fmt(M.Usage, [`${file}: ${c}`])));
  return p;
}

// ---------------------------------------------------------------------------------------------------
// Derived quantities

/** Largest weight mantissa (mixed sign: one of the stored bits is the sign). */
export function weightMantMax(p: Profile): number {
  return 2 ** (p.weight_bits - 1) - 1;
}

/** Left shift applied to a weight mantissa on top of the exponent: fixed shift + mixed-sign shift. */
export function weightShift(p: Profile): number {
  return p.weight_fixed_shift + (9 - p.weight_bits);
}

/** Smallest weight exponent that keeps integer weights (total shift ≥ 0). */
export function weightExpMin(p: Profile): number {
  return Math.max(p.weight_exp_min, -weightShift(p));
}

export function vthMantMax(p: Profile): number {
  return 2 ** p.vth_mant_bits - 1;
}

export function biasMantMax(p: Profile): number {
  return 2 ** (p.bias_mant_bits - 1) - 1;
}

/** Largest |q| (per-step synaptic input). */
export function qMax(p: Profile): number {
  return 2 ** p.q_bits - 1;
}

/** u and v are signed registers of u_bits / v_bits. */
export function uMax(p: Profile): number {
  return 2 ** (p.u_bits - 1) - 1;
}

export function vMax(p: Profile): number {
  return 2 ** (p.v_bits - 1) - 1;
}

/** Compartments a core can use: cx_per_core, or fewer when delay slots bind (cx × slots ≤ budget). */
export function cxCapacity(p: Profile): number {
  return Math.min(p.cx_per_core, Math.floor(p.delay_slot_budget / p.delay_slots));
}

/** Index bits for a list addressing up to `n` compartments (smallest entry of idx_bits_map that suffices). */
export function idxBitsFor(p: Profile, n: number): number {
  const need = n <= 1 ? 0 : Math.ceil(Math.log2(n));
  for (const b of p.idx_bits_map) if (b >= need) return b;
  return p.idx_bits_map[p.idx_bits_map.length - 1]!;
}

/** Synapse-memory bits of one list of `n` entries of `entryBits` each (nengo-loihi bits_per_axon). */
export function listBits(p: Profile, n: number, entryBits: number): number {
  if (n <= 0) return 0;
  const per = p.syn_block_entries;
  const wbits = p.word_bits;
  const full = Math.floor(n / per);
  const rest = n - full * per;
  let bits = full * Math.ceil((per * entryBits + p.syn_header_bits) / wbits) * wbits;
  if (rest > 0) bits += Math.ceil((rest * entryBits + p.syn_header_bits) / wbits) * wbits;
  return bits;
}

/** Source-side polarities: ON and OFF axons on Option A, one signed axon on graded spikes. */
export function polarities(p: Profile): number {
  return p.tsc.synapse === "option-a" ? 2 : 1;
}

/** The profile as JSON for hw-profile.json and `tscc backends --json`. */
export function profileJson(p: Profile): Record<string, unknown> {
  return { ...p, derived: { weight_mant_max: weightMantMax(p), weight_shift: weightShift(p), weight_exp_min_effective: weightExpMin(p), vth_mant_max: vthMantMax(p), bias_mant_max: biasMantMax(p), q_max: qMax(p), u_max: uMax(p), v_max: vMax(p), cx_capacity: cxCapacity(p), polarities: polarities(p) } };
}
