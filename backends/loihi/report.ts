/**
 * The mapping's report data (resource-report.json) and its Markdown and SVG renderings, computed from
 * the state the passes left in the IR.
 */
import { capacityBound, tightenedBound, type Bound } from "./bound.js";
import { runDrc, type RuleResult } from "./drc.js";
import { layerWindows, type Pop } from "./model.js";
import { CLASS_WHY, classConfig, spikesPerCompartment } from "./partition.js";
import { naivePlacement, placementCost2 } from "./place.js";
import { cxCapacity, polarities, qMax, uMax, vMax } from "./profile.js";
import { quantInfo } from "./passes.js";
import { layerPrecision, precisionSummary } from "./precision.js";
import { cxPerNeuron, tileNeurons } from "./resources.js";
import { routeAll, type TrafficSummary } from "./route.js";
import type { State } from "./state.js";

export interface CoreReport {
  readonly core: number;
  readonly chip: number;
  readonly mesh_xy: [number, number];
  readonly slot: number;
  readonly compat_class: string;
  readonly layers: string[];
  readonly used: Record<string, number>;
  readonly limit: Record<string, number>;
  readonly binding: string;
  readonly utilisation: number;
}

export interface Report {
  readonly data: Record<string, unknown>;
  readonly traffic: TrafficSummary;
  readonly drc: RuleResult[];
  readonly bound: Bound;
  readonly tightened: Bound;
  readonly perCore: CoreReport[];
}

/** Σ synapses (connections) of each synapse group, for synaptic-operation estimates. */
function connections(state: State): Map<number, number> {
  const out = new Map<number, number>();
  for (const g of state.net.groups) {
    let n = 0;
    if (g.geo) {
      const geo = g.geo;
      const taps = (n0: number, k: number, s: number, pad: number, d: number, o: number): number => {
        let c = 0;
        for (let oo = 0; oo < o; oo++) for (let t = 0; t < k; t++) {
          const i = oo * s - pad + t * d;
          if (i >= 0 && i < n0) c++;
        }
        return c;
      };
      const Cg = geo.C / geo.group;
      n = geo.M * Cg * taps(geo.H, geo.kh, geo.sh, geo.pt, geo.dh, geo.OH) * taps(geo.W, geo.kw, geo.sw, geo.pl, geo.dw, geo.OW);
      if (g.kind === "pool" || g.kind === "scale") n = geo.M * taps(geo.H, geo.kh, geo.sh, geo.pt, geo.dh, geo.OH) * taps(geo.W, geo.kw, geo.sw, geo.pl, geo.dw, geo.OW);
    } else n = g.kind === "scale" ? g.K : g.K * g.target.size;
    out.set(g.id, n);
  }
  return out;
}

export function buildReport(state: State): Report {
  const { net, prof, part, placement } = state;
  if (!part || !placement) throw new Error("loihi: the module is not partitioned and placed");
  const energyName = (state.m.attrs["loihi.energy"] as string | undefined) ?? Object.keys(prof.energy)[0]!;
  const energy = prof.energy[energyName] ?? Object.values(prof.energy)[0]!;
  const { summary } = routeAll(part, placement, prof);
  const quant = quantInfo(state);
  const drc = runDrc({ net, prof, part, quant, chips: placement.chips });
  const bound = capacityBound(net, prof, part.densePop);
  const tightened = tightenedBound(net, prof, part.densePop);
  const capCx = cxCapacity(prof);
  const perCore: CoreReport[] = part.cores.map((c) => {
    const s = placement.slots[c.id]!;
    const used = { compartments: c.usage.cx, synapse_bits: c.usage.bits, in_axon_slots: c.usage.inSlots, out_axons: c.outAxons, cx_profiles: c.usage.cxProfiles.size, vth_profiles: c.usage.vthProfiles.size, syn_formats: c.usage.formats.size };
    const limit = { compartments: capCx, synapse_bits: prof.syn_bits_per_core, in_axon_slots: prof.in_axons, out_axons: prof.out_axons, cx_profiles: prof.max_cx_profiles, vth_profiles: prof.max_vth_profiles, syn_formats: prof.max_syn_formats };
    let binding = "compartments";
    let util = 0;
    for (const k of Object.keys(used) as (keyof typeof used)[]) {
      const r = used[k] / limit[k];
      if (r > util) {
        util = r;
        binding = k;
      }
    }
    return { core: c.id, chip: s.chip, mesh_xy: [s.gx, s.gy], slot: s.k, compat_class: c.cls, layers: [...new Set([...c.tiles.map((t) => t.pop.name), ...c.clocks.map((k) => `${k.pop.name} (clock)`)])], used, limit, binding, utilisation: util };
  });
  const conns = connections(state);
  // Worst case: every neuron active (spikes ON and OFF), every synapse delivers twice (Option A: once per polarity list).
  let synops = 0;
  for (const g of net.groups) synops += (conns.get(g.id) ?? 0) * 2;
  const cxTotal = part.cores.reduce((s, c) => s + c.usage.cx, 0);
  const steps = net.latency;
  const updates = cxTotal * steps * energy.update_inactive_pj;
  const synE = synops * energy.synop_pj;
  const localMsgs = summary.intra_core + summary.intra_tile + summary.inter_tile + summary.inter_chip + summary.host;
  const msgE = localMsgs * energy.spike_local_pj + summary.hops_ew * energy.hop_ew_pj + summary.hops_ns * energy.hop_ns_pj + summary.chip_crossings * energy.chip_crossing_pj;
  const staticE = placement.chips * energy.static_w_per_chip * steps * energy.step_time_s * 1e12;
  const naive = naivePlacement(part, prof);
  const naiveRoutes = routeAll(part, naive, prof).summary;
  const w = { ew: energy.hop_ew_pj, ns: energy.hop_ns_pj, chip: energy.chip_crossing_pj };
  const [placedEnergy, naiveEnergy] = placementCost2(part, placement.slots, naive.slots, prof, w);
  const perLayer = net.placed.map((p) => {
    const tiles = part.tiles.filter((t) => t.pop === p);
    const cores = [...new Set(tiles.map((t) => part.tileCore.get(t)!))].sort((a, b) => a - b);
    const q = quant.find((x) => x.pop === p);
    const lp = p.kind === "or" ? null : layerPrecision(state, p);
    return {
      layer: p.name,
      kind: p.kind,
      shape: [...p.shape],
      neurons: p.size,
      cx_per_neuron: cxPerNeuron(p, prof),
      compartments: p.size * cxPerNeuron(p, prof),
      tiling: part.tilings.get(p),
      tiles: tiles.length,
      cores: cores.length,
      cores_list: cores,
      neurons_per_tile_max: Math.max(...tiles.map(tileNeurons)),
      window: { fire_start: p.F, window_end: p.E, integration_window_ends: p.windows, steps: p.T },
      ...(q ? { scale: q.scale, vth_mant: q.vth_mant } : {}),
      ...(lp ? { precision: precisionSummary(lp), threshold_classes: lp.threshold_classes.length, split_channels: lp.split_channels } : {}),
    };
  });
  const maxStepNs = Math.max(...part.cores.map((c) => c.usage.cx * prof.time_update_ns)) + prof.time_barrier_ns;
  const overflow = quant.map((q) => ({ layer: q.pop.name, q_worst: q.q_worst, q_limit: qMax(prof), u_worst: q.q_worst, u_limit: uMax(prof), v_worst: q.v_worst, v_limit: vMax(prof), q_ok: q.q_worst <= qMax(prof), u_ok: q.q_worst <= uMax(prof), v_ok: q.v_worst <= vMax(prof) }));
  const classes = [...new Set(part.cores.map((c) => c.cls))].sort();
  const gap = bound.cores > 0 ? part.cores.length / bound.cores : 1;
  const tgap = tightened.cores > 0 ? part.cores.length / tightened.cores : 1;
  const data: Record<string, unknown> = {
    format: "tscc-loihi-report",
    version: 1,
    profile: prof.name,
    profile_confidence: prof.confidence,
    window: net.T,
    ...(layerWindows(net) ? { layer_windows: layerWindows(net), schedule_lead: net.lead } : {}),
    cores: part.cores.length,
    chips: placement.chips,
    lower_bound: {
      cores: bound.cores,
      chips: bound.chips,
      per_class: bound.classes,
      gap: gap,
      tightened: { cores: tightened.cores, chips: tightened.chips, per_class: tightened.classes, gap: tgap, why: "rectangular tiles that fit one core: a layer whose unsplit synapse lists do not fit a core must be split in space, which costs boundary patterns and halo axons that the unsplit bound does not charge (docs/loihi.md)" },
    },
    tsc_realisation: {
      synapse: prof.tsc.synapse,
      compartments_per_tsc_neuron: prof.tsc.neuron_cx,
      compartments_per_or_gate: prof.tsc.or_cx,
      compartments_per_readout: prof.tsc.readout_cx,
      clock_compartments_per_layer: prof.tsc.clock_cx_per_layer,
      clock_axons_per_core: prof.tsc.clock_axons_per_core,
      source_polarities: polarities(prof),
      bias: prof.tsc.bias,
      multiplier_note:
        prof.tsc.synapse === "option-a"
          ? `Option A: every TSC neuron is ${prof.tsc.neuron_cx} compartments (integrator X, ramp R, comparator/ON soma C, OFF latch F) plus ${prof.tsc.clock_cx_per_layer} clock compartments per layer; ON and OFF axons with +w/−w lists double input axons and synapse memory`
          : "graded spikes: one axon per source with ±1 payloads; a microcode TSC neuron is 1 compartment",
    },
    compat_classes: Object.fromEntries(classes.map((c) => [c, { shared_cfg: classConfig(c), why: CLASS_WHY[c] ?? "", cores: part.cores.filter((x) => x.cls === c).length }])),
    per_core: perCore,
    per_layer: perLayer,
    traffic: {
      assumption: "worst case: every neuron active (ON and OFF spikes); tscc run reports measured spike counts",
      messages: { intra_core: summary.intra_core, intra_tile: summary.intra_tile, inter_tile: summary.inter_tile, inter_chip: summary.inter_chip, host_injected: summary.host, total: summary.total },
      hop_weighted: summary.hop_weighted,
      hops_ew: summary.hops_ew,
      hops_ns: summary.hops_ns,
      chip_crossings: summary.chip_crossings,
      max_link_load: summary.max_link_load,
      naive_sequential: { hop_weighted: naiveRoutes.hop_weighted, hops_ew: naiveRoutes.hops_ew, hops_ns: naiveRoutes.hops_ns, chip_crossings: naiveRoutes.chip_crossings, energy_weighted: naiveEnergy },
      energy_weighted: placedEnergy,
      vs_naive: naiveRoutes.hop_weighted > 0 ? summary.hop_weighted / naiveRoutes.hop_weighted : 1,
      spikes_per_source_compartment: spikesPerCompartment(prof),
    },
    energy_per_inference_pj: {
      total: updates + synE + msgE + staticE,
      compartment_updates: updates,
      synaptic_ops: synE,
      messages: msgE,
      static: staticE,
      synaptic_ops_count: synops,
      parameter_set: energy.name,
      parameter_source: energy.source,
      activity: "worst case (every neuron active); `tscc run` reports the measured value",
    },
    latency_steps: steps,
    latency: { steps, per_step_ns_bound: maxStepNs, per_inference_us: (steps * maxStepNs) / 1000, parameter_set: "profile time_update_ns, time_barrier_ns" },
    overflow,
    drc: drc.map((r) => ({ rule: r.rule, description: r.description, severity: r.severity, pass: r.pass, worst_ratio: r.worst_ratio, hint: r.hint, violations: r.violations.map((v) => v.message) })),
  };
  return { data, traffic: summary, drc, bound, tightened, perCore };
}

function fmtN(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 1e6) return x.toExponential(3);
  return Number.isInteger(x) ? x.toLocaleString("en-US") : x.toFixed(3);
}

export function reportMarkdown(state: State, r: Report): string {
  const d = r.data as Record<string, any>;
  const L: string[] = [];
  L.push(`# Loihi mapping report: ${md(String(state.m.attrs["source"] ?? state.m.name))}`, "");
  const lw = d.layer_windows as Record<string, number> | undefined;
  L.push(`Profile **${d.profile}** (confidence: ${d.profile_confidence}), ${lw ? `TSC windows per layer: ${Object.entries(lw).map(([k, v]) => `${md(k)} ${v}`).join(", ")}` : `TSC window T = ${d.window}`}.`, "");
  L.push("![cores per layer](mapping.svg)", "");
  L.push("## Will it fit?", "");
  const failed = r.drc.filter((x) => !x.pass && x.severity === "error");
  L.push(failed.length ? `**No**: ${failed.length} rule(s) fail.` : `**Yes**: ${d.cores} cores on ${d.chips} chip(s); every design rule passes.`, "");
  L.push("| | achieved | capacity bound (§3.3) | gap | tightened bound | gap |", "|---|---:|---:|---:|---:|---:|");
  L.push(`| cores | ${d.cores} | ${d.lower_bound.cores} | ${(d.lower_bound.gap * 100 - 100).toFixed(1)}% | ${d.lower_bound.tightened.cores} | ${(d.lower_bound.tightened.gap * 100 - 100).toFixed(1)}% |`);
  L.push(`| chips | ${d.chips} | ${d.lower_bound.chips} | | ${d.lower_bound.tightened.chips} | |`, "");
  L.push("Bound per compatibility class (cores needed by each resource):", "", "| class | compartments | synapse memory | in-axons | out-axons | bound | binding |", "|---|---:|---:|---:|---:|---:|---|");
  for (const c of r.bound.classes) L.push(`| ${c.cls} | ${c.cores_by.cx} | ${c.cores_by.bits} | ${c.cores_by.in_slots} | ${c.cores_by.out_axons} | ${c.cores} | ${c.binding} |`);
  L.push("", `Tightened: ${d.lower_bound.tightened.why}.`, "");
  L.push("## TSC on the chip", "", d.tsc_realisation.multiplier_note + ".", "");
  L.push("| compatibility class | cores | shared configuration | why |", "|---|---:|---|---|");
  for (const [k, v] of Object.entries(d.compat_classes as Record<string, any>)) L.push(`| ${k} | ${v.cores} | ${Object.entries(v.shared_cfg).map(([a, b]) => `${a}=${b}`).join(", ")} | ${v.why} |`);
  L.push("", "## Layers", "", "| layer | kind | neurons | cx/neuron | tiling (ch×rows×cols) | tiles | cores |", "|---|---|---:|---:|---|---:|---:|");
  for (const l of d.per_layer) L.push(`| ${md(l.layer)} | ${l.kind} | ${fmtN(l.neurons)} | ${l.cx_per_neuron} | ${l.tiling.mc}×${l.tiling.hr}×${l.tiling.wr} | ${l.tiles} | ${l.cores} |`);
  L.push("", "## Cores", "");
  const byBinding = new Map<string, number>();
  for (const c of r.perCore) byBinding.set(c.binding, (byBinding.get(c.binding) ?? 0) + 1);
  L.push(`Binding resource: ${[...byBinding.entries()].map(([k, v]) => `${k} on ${v} core(s)`).join(", ")}. Mean utilisation of the binding resource: ${((r.perCore.reduce((s, c) => s + c.utilisation, 0) / Math.max(1, r.perCore.length)) * 100).toFixed(1)}%.`, "");
  L.push("| core | chip | mesh x,y | class | layers | compartments | synapse bits | in-axon slots | out-axons | binding |", "|---:|---:|---|---|---|---:|---:|---:|---:|---|");
  const show = r.perCore.length > 64 ? r.perCore.slice(0, 64) : r.perCore;
  for (const c of show) L.push(`| ${c.core} | ${c.chip} | ${c.mesh_xy.join(",")} | ${c.compat_class} | ${md(c.layers.join(", "))} | ${c.used["compartments"]}/${c.limit["compartments"]} | ${c.used["synapse_bits"]}/${c.limit["synapse_bits"]} | ${c.used["in_axon_slots"]}/${c.limit["in_axon_slots"]} | ${c.used["out_axons"]}/${c.limit["out_axons"]} | ${c.binding} (${(c.utilisation * 100).toFixed(0)}%) |`);
  if (show.length < r.perCore.length) L.push("", `(first 64 of ${r.perCore.length} cores; all of them are in resource-report.json)`);
  const t = d.traffic;
  L.push("", "## Traffic (per inference, worst case: every neuron active)", "");
  L.push("| messages | intra-core | intra-tile | inter-tile | inter-chip | host-injected | total |", "|---|---:|---:|---:|---:|---:|---:|");
  L.push(`| | ${fmtN(t.messages.intra_core)} | ${fmtN(t.messages.intra_tile)} | ${fmtN(t.messages.inter_tile)} | ${fmtN(t.messages.inter_chip)} | ${fmtN(t.messages.host_injected)} | ${fmtN(t.messages.total)} |`, "");
  L.push(`Hop-weighted traffic ${fmtN(t.hop_weighted)} message-hops (E-W ${fmtN(t.hops_ew)}, N-S ${fmtN(t.hops_ns)}, chip crossings ${fmtN(t.chip_crossings)}); naive sequential placement: ${fmtN(t.naive_sequential.hop_weighted)} (ratio ${t.vs_naive.toFixed(3)}). Most loaded mesh link: ${fmtN(t.max_link_load)} messages.`, "");
  const e = d.energy_per_inference_pj;
  L.push("## Energy and latency", "", `Energy per inference (${e.activity}; parameter set **${e.parameter_set}**: ${e.parameter_source}):`, "");
  L.push("| total | compartment updates | synaptic ops | messages | static |", "|---:|---:|---:|---:|---:|");
  L.push(`| ${fmtN(e.total)} pJ | ${fmtN(e.compartment_updates)} | ${fmtN(e.synaptic_ops)} | ${fmtN(e.messages)} | ${fmtN(e.static)} |`, "");
  L.push(`Latency: ${d.latency_steps} steps (${lw ? `each layer's window on the longest path plus one step per hop${d.schedule_lead ? `; the input enters at step ${d.schedule_lead} so that every layer's bias and ramp clock starts at a step ≥ 0` : ""}` : `T = ${d.window} per layer plus one step per hop`}); at most ${fmtN(d.latency.per_step_ns_bound)} ns per step (largest core's updates + barrier) → ${fmtN(d.latency.per_inference_us)} µs per inference.`, "");
  L.push("## Precision chosen per layer", "", "Θ and its threshold classes Θ/2^k, weight exponents, bits (sign included) of each row's largest weight mantissa (median, smallest), non-zero weights flushed to 0, channels whose fan-in is split (docs/loihi.md \"Fitting ordinary networks\"). `tscc run` measures what they cost against the float TSC network.", "");
  L.push("| layer | precision |", "|---|---|");
  for (const l of d.per_layer as { layer: string; precision?: string }[]) if (l.precision) L.push(`| ${md(l.layer)} | ${l.precision} |`);
  L.push("");
  L.push("## Overflow checks", "", "| layer | worst |q| | limit 2^q_bits−1 | worst |u| | limit | worst |v| path | vmax |", "|---|---:|---:|---:|---:|---:|---:|");
  for (const o of d.overflow) L.push(`| ${md(o.layer)} | ${fmtN(o.q_worst)} | ${fmtN(o.q_limit)} | ${fmtN(o.u_worst)} | ${fmtN(o.u_limit)} | ${fmtN(o.v_worst)} | ${fmtN(o.v_limit)} |`);
  L.push("", "## Design rules", "", "| rule | result | worst used/limit | hint |", "|---|---|---:|---|");
  for (const x of r.drc) L.push(`| ${x.rule} | ${x.pass ? "pass" : x.severity === "error" ? "**FAIL**" : "warning"} | ${x.worst_ratio.toFixed(3)} | ${x.pass ? "" : x.hint} |`);
  for (const x of r.drc) for (const v of x.violations.slice(0, 10)) L.push(`- ${md(v.message)}`);
  L.push("");
  return L.join("\n");
}

/** Cores per layer and their utilisation: one row per layer, one cell per core (colour = binding resource's use). */
export function mappingSvg(state: State, r: Report): string {
  const { net, part } = state;
  const rows = net.placed;
  const cell = 6;
  const perRow = 96;
  const label = 260;
  let y = 40;
  const parts: string[] = [];
  const util = new Map(r.perCore.map((c) => [c.core, c.utilisation]));
  const colour = (u: number): string => {
    const v = Math.max(0, Math.min(1, u));
    const hue = Math.round(220 - 220 * v);
    return `hsl(${hue},70%,50%)`;
  };
  for (const p of rows) {
    const cores = [...new Set(part!.tiles.filter((t) => t.pop === p).map((t) => part!.tileCore.get(t)!))].sort((a, b) => a - b);
    const lines = Math.max(1, Math.ceil(cores.length / perRow));
    parts.push(`<text x="4" y="${y + 9}" font-size="10" font-family="monospace">${escapeXml(p.name.slice(-36))} (${p.kind}, ${cores.length})</text>`);
    cores.forEach((c, i) => {
      const cx = label + (i % perRow) * cell;
      const cy = y + Math.floor(i / perRow) * cell;
      parts.push(`<rect x="${cx}" y="${cy}" width="${cell - 1}" height="${cell - 1}" fill="${colour(util.get(c) ?? 0)}"><title>core ${c}: ${((util.get(c) ?? 0) * 100).toFixed(0)}%</title></rect>`);
    });
    y += lines * cell + 8;
  }
  const width = label + perRow * cell + 10;
  const legend = [0, 0.25, 0.5, 0.75, 1].map((u, i) => `<rect x="${label + i * 60}" y="8" width="12" height="12" fill="${colour(u)}"/><text x="${label + i * 60 + 16}" y="18" font-size="10" font-family="monospace">${u * 100}%</text>`).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 10}" viewBox="0 0 ${width} ${y + 10}">\n<rect width="100%" height="100%" fill="white"/>\n<text x="4" y="18" font-size="12" font-family="monospace">cores per layer (${part!.cores.length} cores); colour: utilisation of each core's binding resource</text>\n${legend}\n${parts.join("\n")}\n</svg>\n`;
}

/**
 * Text from the model (layer names) in Markdown: HTML and table syntax escaped and line breaks removed,
 * so a hostile name can neither inject markup into a rendered report nor break its tables.
 */
function md(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, " ").replace(/[\\`|<>&]/g, (c) => (c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === "&" ? "&amp;" : `\\${c}`));
}

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export type { Pop };
