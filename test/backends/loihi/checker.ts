/**
 * An independent checker for a loihi artifact. It re-reads mapping.json and hw-profile.json and
 * recomputes every per-core resource from the layer geometry with its own implementation of the
 * storage model (it imports nothing from backends/loihi), then confirms that every core obeys every
 * limit of its profile, that every neuron of every layer sits on exactly one core, and that the
 * numbers mapping.json reports agree with the recomputed ones.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

interface Geo {
  C: number;
  H: number;
  W: number;
  M: number;
  OH: number;
  OW: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
  dh: number;
  dw: number;
  group: number;
}

export interface CheckResult {
  cores: number;
  problems: string[];
}

/** Synapse memory of one list of n entries (blocks of ≤ B entries, header bits, word rounding). */
function bitsOfList(n: number, entryBits: number, prof: any): number {
  let bits = 0;
  let left = n;
  while (left > 0) {
    const k = Math.min(prof.syn_block_entries, left);
    const raw = k * entryBits + prof.syn_header_bits;
    bits += Math.ceil(raw / prof.word_bits) * prof.word_bits;
    left -= k;
  }
  return bits;
}

function indexBits(nCx: number, prof: any): number {
  const need = nCx <= 1 ? 0 : Math.ceil(Math.log2(nCx));
  const ok = (prof.idx_bits_map as number[]).filter((b) => b >= need);
  return ok.length ? Math.min(...ok) : Math.max(...(prof.idx_bits_map as number[]));
}

/** For outputs [o0, o1) along one axis: input coordinate → mask of kernel taps reaching the range. */
function masks(n: number, o0: number, o1: number, k: number, s: number, pad: number, d: number): number[] {
  const m = new Map<number, number>();
  for (let o = o0; o < o1; o++) {
    for (let t = 0; t < k; t++) {
      const i = o * s + t * d - pad;
      if (i >= 0 && i < n) m.set(i, (m.get(i) ?? 0) | (2 ** t));
    }
  }
  return [...m.values()];
}

function ones(x: number): number {
  let c = 0;
  for (let v = x; v > 0; v = Math.floor(v / 2)) c += v % 2;
  return c;
}

export function checkArtifact(dir: string): CheckResult {
  const mapping = JSON.parse(readFileSync(join(dir, "mapping.json"), "utf8"));
  const prof = JSON.parse(readFileSync(join(dir, "hw-profile.json"), "utf8"));
  const problems: string[] = [];
  const bad = (msg: string): void => {
    problems.push(msg);
  };
  const optionA = prof.tsc.synapse === "option-a";
  const pol = optionA ? 2 : 1;
  const cap = Math.min(prof.cx_per_core, Math.floor(prof.delay_slot_budget / prof.delay_slots));
  const layers = new Map<string, any>(mapping.layers.map((l: any) => [l.name, l]));
  const covered = new Map<string, number>();
  for (const core of mapping.cores) {
    const where = `core ${core.core}`;
    let cx = 0;
    let bits = 0;
    let slots = 0;
    for (const t of core.compartments.layout) {
      const L = layers.get(t.layer);
      if (!L) {
        bad(`${where}: unknown layer ${t.layer}`);
        continue;
      }
      const n = (t.channels[1] - t.channels[0]) * (t.rows[1] - t.rows[0]) * (t.cols[1] - t.cols[0]);
      if (n !== t.neurons) bad(`${where}: tile of ${t.layer} reports ${t.neurons} neurons, its ranges hold ${n}`);
      covered.set(t.layer, (covered.get(t.layer) ?? 0) + n);
      const cxn = L.kind === "tsc" ? prof.tsc.neuron_cx : L.kind === "or" ? prof.tsc.or_cx : prof.tsc.readout_cx;
      if (cxn !== t.cx_per_neuron) bad(`${where}: ${t.layer} claims ${t.cx_per_neuron} compartments per neuron, the profile's realisation gives ${cxn}`);
      // Split channels: parts − 1 more integrator compartments per neuron.
      const positions = (t.rows[1] - t.rows[0]) * (t.cols[1] - t.cols[0]);
      let extraCx = 0;
      for (const sp of (L.fanin_split ?? []) as { channel: number; parts: number }[]) if (sp.channel >= t.channels[0] && sp.channel < t.channels[1]) extraCx += (sp.parts - 1) * positions;
      const tileCx = n * cxn + extraCx;
      cx += tileCx;
      // Channels of the tile per weight exponent of a group (one block run per exponent in every list).
      const perExp = (g: any): number[] => {
        if (!g.channel_exps) return [t.channels[1] - t.channels[0]];
        const m = new Map<number, number>();
        for (let c = t.channels[0]; c < t.channels[1]; c++) m.set(g.channel_exps[c], (m.get(g.channel_exps[c]) ?? 0) + 1);
        return [...m.keys()].sort((a, b) => a - b).map((e) => m.get(e)!);
      };
      const idx = indexBits(Math.min(tileCx, cap), prof);
      let tBits = 0;
      let tSlots = 0;
      for (const g of L.groups) {
        const gp = g.kind === "pool" && optionA ? 1 : pol;
        if (g.geometry) {
          const G: Geo = g.geometry;
          const rows = masks(G.H, t.rows[0], t.rows[1], G.kh, G.sh, G.pt, G.dh);
          const cols = masks(G.W, t.cols[0], t.cols[1], G.kw, G.sw, G.pl, G.dw);
          // Atoms: input channels of the channel groups the tile's output channels belong to.
          const Mg = G.M / G.group;
          const Cg = G.C / G.group;
          let atoms = 0;
          let pairs = 0;
          for (let grp = 0; grp < G.group; grp++) {
            const lo = Math.max(t.channels[0], grp * Mg);
            const hi = Math.min(t.channels[1], (grp + 1) * Mg);
            if (hi <= lo) continue;
            atoms += Cg;
            pairs += Cg * (hi - lo);
          }
          const chunks = Math.ceil(atoms / prof.max_atoms_per_axon);
          tSlots += rows.length * cols.length * gp * chunks * prof.pop_axon_slots;
          const rowClasses = new Map<number, number>();
          for (const m of rows) rowClasses.set(m, ones(m));
          const colClasses = new Map<number, number>();
          for (const m of cols) colClasses.set(m, ones(m));
          const split = perExp(g);
          for (const tr of rowClasses.values()) {
            for (const tc of colClasses.values()) {
              const entries = (tr * tc * pairs) / chunks;
              if (split.length === 1) tBits += gp * chunks * bitsOfList(Math.ceil(entries), prof.weight_bits + idx, prof);
              else for (const ne of split) tBits += gp * chunks * bitsOfList(Math.ceil((entries * ne) / (t.channels[1] - t.channels[0])), prof.weight_bits + idx, prof);
            }
          }
        } else {
          const oneToOne = g.kind === "scale";
          const sources = oneToOne ? n : g.source_neurons;
          const per = oneToOne ? 1 : n;
          const eb = oneToOne ? prof.weight_bits + idx : prof.weight_bits;
          const split = oneToOne ? [1] : perExp(g);
          const listOf = (atoms: number): number => (split.length === 1 ? bitsOfList(atoms * per, eb, prof) : split.reduce((acc, ne) => acc + bitsOfList(atoms * ne, prof.weight_bits, prof), 0));
          if (g.dense_population_axons) {
            const chunks = Math.ceil(sources / prof.max_atoms_per_axon);
            tSlots += chunks * gp * prof.pop_axon_slots;
            for (let k = 0; k < chunks; k++) tBits += gp * listOf(Math.min(prof.max_atoms_per_axon, sources - k * prof.max_atoms_per_axon));
          } else {
            tSlots += sources * gp;
            tBits += gp * sources * listOf(1);
          }
        }
      }
      const clockAxons = L.kind === "tsc" ? prof.tsc.clock_axons_per_core : L.kind === "readout" ? Math.min(2, prof.tsc.clock_axons_per_core) : Math.min(1, prof.tsc.clock_axons_per_core);
      tSlots += clockAxons;
      tBits += clockAxons * bitsOfList(n, prof.weight_bits, prof);
      // Loihi 1 ramp lists (ramp on/off, offset) carry Θ_c: one format spans weight_bits − 1 threshold
      // classes; a tile spanning more splits those 3 lists into one block run per format.
      if (L.kind === "tsc" && optionA && L.threshold_classes) {
        const ks: number[] = L.threshold_classes.slice(t.channels[0], t.channels[1]);
        const lo = Math.min(...ks);
        const span = Math.max(...ks) - lo + 1;
        const per = prof.weight_bits - 1;
        const runs = Math.ceil(span / per);
        if (runs > 1) {
          const counts = new Array<number>(runs).fill(0);
          for (const k of ks) counts[Math.floor((k - lo) / per)] += positions;
          tBits += Math.min(3, clockAxons) * (counts.reduce((a, m) => a + bitsOfList(m, prof.weight_bits, prof), 0) - bitsOfList(n, prof.weight_bits, prof));
        }
      }
      if (tBits !== t.synapses.bits) bad(`${where}: tile ${t.tile} of ${t.layer}: mapping says ${t.synapses.bits} synapse bits, recomputed ${tBits}`);
      if (tSlots !== t.synapses.in_axon_slots) bad(`${where}: tile ${t.tile} of ${t.layer}: mapping says ${t.synapses.in_axon_slots} in-axon slots, recomputed ${tSlots}`);
      bits += tBits;
      slots += tSlots;
    }
    for (const c of core.compartments.clocks) cx += c.cx;
    for (const r of core.compartments.relays) {
      cx += r.cx;
      slots += r.cx;
      bits += r.cx * bitsOfList(1, prof.weight_bits + indexBits(cap, prof), prof);
    }
    if (cx !== core.compartments.used) bad(`${where}: mapping says ${core.compartments.used} compartments, recomputed ${cx}`);
    if (cx > prof.cx_per_core) bad(`${where}: ${cx} compartments > ${prof.cx_per_core}`);
    if (cx * prof.delay_slots > prof.delay_slot_budget) bad(`${where}: ${cx} compartments × ${prof.delay_slots} delay slots > ${prof.delay_slot_budget}`);
    if (bits !== core.synapse_bits) bad(`${where}: mapping says ${core.synapse_bits} synapse bits, recomputed ${bits}`);
    if (bits > prof.syn_bits_per_core) bad(`${where}: ${bits} synapse bits > ${prof.syn_bits_per_core}`);
    if (slots !== core.in_axons.slots) bad(`${where}: mapping says ${core.in_axons.slots} in-axon slots, recomputed ${slots}`);
    if (slots > prof.in_axons) bad(`${where}: ${slots} in-axon slots > ${prof.in_axons}`);
    if (core.out_axons > prof.out_axons) bad(`${where}: ${core.out_axons} out-axons > ${prof.out_axons}`);
    if (core.cx_profiles.length > prof.max_cx_profiles) bad(`${where}: ${core.cx_profiles.length} compartment profiles > ${prof.max_cx_profiles}`);
    if (core.vth_profiles.length > prof.max_vth_profiles) bad(`${where}: ${core.vth_profiles.length} threshold profiles > ${prof.max_vth_profiles}`);
    if (core.syn_formats.length > prof.max_syn_formats) bad(`${where}: ${core.syn_formats.length} synapse formats > ${prof.max_syn_formats}`);
    const [gx, gy] = core.mesh_xy;
    const chipOf = Math.floor(gy / prof.tiles_y) * prof.chip_grid_x + Math.floor(gx / prof.tiles_x);
    if (chipOf !== core.chip) bad(`${where}: mesh (${gx}, ${gy}) lies on chip ${chipOf}, mapping says ${core.chip}`);
    if (core.slot < 0 || core.slot >= prof.cores_per_tile) bad(`${where}: slot ${core.slot} outside the tile's ${prof.cores_per_tile} cores`);
  }
  // Slots are unique, chips within the profile.
  const seen = new Set<string>();
  for (const core of mapping.cores) {
    const k = `${core.mesh_xy[0]},${core.mesh_xy[1]},${core.slot}`;
    if (seen.has(k)) bad(`core ${core.core}: slot ${k} used twice`);
    seen.add(k);
  }
  if (prof.max_chips > 0 && mapping.chips.length > prof.max_chips) bad(`${mapping.chips.length} chips > ${prof.max_chips}`);
  for (const L of mapping.layers) {
    const n = (L.shape as number[]).reduce((a: number, b: number) => a * b, 1);
    if ((covered.get(L.name) ?? 0) !== n) bad(`layer ${L.name}: ${covered.get(L.name) ?? 0} neurons on cores, the layer has ${n}`);
  }
  // Quantisation ranges.
  const q = JSON.parse(readFileSync(join(dir, "quantization.json"), "utf8"));
  for (const l of q.layers) {
    if (!(l.vth_mant >= 1 && l.vth_mant <= 2 ** prof.vth_mant_bits - 1)) bad(`layer ${l.layer}: vth_mant ${l.vth_mant} out of range`);
    for (const g of l.groups) {
      for (const e of g.weight_exps) if (e < prof.weight_exp_min || e > prof.weight_exp_max) bad(`layer ${l.layer}: weight exponent ${e} out of [${prof.weight_exp_min}, ${prof.weight_exp_max}]`);
      if (g.clipped > 0) bad(`layer ${l.layer}: ${g.clipped} clipped weights`);
    }
  }
  return { cores: mapping.cores.length, problems };
}
