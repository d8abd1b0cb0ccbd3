/**
 * The loihi artifact (all JSON with sorted keys; no timestamps or absolute paths):
 *
 *   mapping.json          per core: slot, compatibility class and shared configuration, compartment layout
 *                         (tiles of layers, clocks), profile tables, synapse formats, input axons and
 *                         synapse lists in their dense encoding (per synapse group: axons, lists, entries,
 *                         bits), output axons; per layer: geometry, tiling, schedule; layer_to_cores
 *   routes.json           core → core routes: messages, E-W / N-S hops, chip crossings; summary
 *   quantization.json     per layer: Θ, vth_mant, Φ, bias; per synapse group: exponents, errors, clipped
 *   resource-report.json  cores, chips, lower bounds and gaps, per core / per layer use, traffic, energy,
 *   resource-report.md    latency, overflow checks, DRC (the .md embeds mapping.svg)
 *   mapping.svg
 *   hw-profile.json       the profile the compile used, with a source and tag per field
 *   network.json          the float and integer TSC networks for `tscc run` (weights in weights.bin)
 *   weights.bin
 */
import { Module as IrModule, tensorType, writeWeights, type Module } from "../../ir/index.js";
import type { EmitContext } from "../api.js";
import { buildNetwork as buildEmuNetwork } from "../emulator/build-network.js";
import { sortKeys } from "../emulator/emit.js";
import type { Node } from "../emulator/runtime/network.js";
import { runBoxes } from "./fanout.js";
import { classConfig } from "./partition.js";
import { polarities, profileJson, weightShift, type Profile } from "./profile.js";
import { layerPrecision } from "./precision.js";
import { buildReport, mappingSvg, reportMarkdown } from "./report.js";
import { cxPerNeuron, tileNeurons, tileUsage, type Tile } from "./resources.js";
import { forEachRoute, routeCount, type Route } from "./route.js";
import type { State } from "./state.js";
import { layerWindows, type Pop } from "./model.js";
import { exactGain } from "./quant.js";
import { quantInfo } from "./passes.js";

export const LOIHI_FORMAT = "tscc-loihi";
export const LOIHI_VERSION = 1;

function json(v: unknown): string {
  return JSON.stringify(sortKeys(v), null, 1) + "\n";
}

function round(x: number, d = 6): number {
  return Number.isFinite(x) ? Number(x.toPrecision(d)) : x;
}

/** Threshold classes and fan-in splits of a layer, as mapping.json states them (they change its resources). */
function quantLayout(state: State, p: Pop): Record<string, unknown> {
  const pq = state.quant?.pops.get(p);
  if (!pq) return {};
  return {
    ...(pq.shifts ? { threshold_classes: pq.shifts, threshold_class_rule: "channel c uses Θ/2^k with k = threshold_classes[c]" } : {}),
    ...(pq.splits.length ? { fanin_split: pq.splits.map((x) => ({ channel: x.channel, parts: x.parts })) } : {}),
  };
}

export function mappingJson(state: State, ctx: { source: string; toolVersion?: string }): Record<string, unknown> {
  const { net, prof, part, placement } = state;
  const uo = { densePop: part!.densePop };
  const pol = polarities(prof);
  const layers = net.placed.map((p) => ({
    id: p.id,
    name: p.name,
    kind: p.kind,
    shape: [...p.shape],
    cx_per_neuron: cxPerNeuron(p, prof),
    tiling: part!.tilings.get(p),
    schedule: { fire_start: p.F, window_end: p.E, integration_window_ends: p.windows, window: p.T },
    groups: p.groups.map((g) => {
      const src = net.resolve(g.source);
      return {
        id: g.id,
        kind: g.kind,
        sources: src.map((s) => ({ layer: s.pop.name, kind: s.pop.kind, count: s.count })),
        source_neurons: g.K,
        polarities: g.kind === "pool" && prof.tsc.synapse === "option-a" ? 1 : pol,
        // T_target / T_source, folded into the integer weights (per-layer windows; 1 otherwise).
        gain: g.gain,
        relayed: part!.relayed.has(g),
        dense_population_axons: part!.densePop.has(g),
        axons: g.geo ? "population (one per input position and polarity; atoms = input channels)" : part!.densePop.has(g) ? "population (atoms = source neurons)" : "discrete (one per source compartment)",
        ...(g.geo ? { geometry: g.geo } : {}),
        ...(state.quant?.groups.get(g) ? { weight_exps: [...new Set(state.quant.groups.get(g)!.exps)].sort((a, b) => a - b) } : {}),
        // Rows of several exponents: the exponent of every output channel (each is a synapse format;
        // a list's entries of each exponent fill their own blocks).
        ...(g.kind !== "scale" && state.quant?.groups.get(g) && new Set(state.quant.groups.get(g)!.exps).size > 1 ? { channel_exps: state.quant.groups.get(g)!.exps } : {}),
      };
    }),
    ...quantLayout(state, p),
  }));
  const cores = part!.cores.map((c) => {
    const s = placement!.slots[c.id]!;
    let cxBase = 0;
    const layout = c.tiles.map((t: Tile) => {
      const u = tileUsage(t, net, prof, uo);
      const entry = {
        layer: t.pop.name,
        layer_id: t.pop.id,
        tile: t.index,
        channels: [t.c0, t.c1],
        rows: [t.y0, t.y1],
        cols: [t.x0, t.x1],
        neurons: tileNeurons(t),
        cx_base: cxBase,
        cx_per_neuron: cxPerNeuron(t.pop, prof),
        order: "position-major, channel-minor",
        synapses: { axons: u.axons, in_axon_slots: u.inSlots, entries: Math.round(u.entries), bits: u.bits },
      };
      cxBase += u.cx;
      return entry;
    });
    const clocks = c.clocks.map((k) => {
      const e = { layer: k.pop.name, cx: k.cx, cx_base: cxBase, drives_cores: k.cores };
      cxBase += k.cx;
      return e;
    });
    const relays = c.relays.map((r) => {
      const boxes = runBoxes(r.tile, r.i0, r.i1).map((b) => ({ channels: [b.c0, b.c1], rows: [b.y0, b.y1], cols: [b.x0, b.x1] }));
      const e = { group: r.group.id, target_layer: r.group.target.name, source_layer: r.tile.pop.name, source_tile: r.tile.index, neurons: [r.i0, r.i1], boxes, cx: r.cx, fanout: r.fanout, cx_base: cxBase };
      cxBase += r.cx;
      return e;
    });
    return {
      core: c.id,
      chip: s.chip,
      mesh_xy: [s.gx, s.gy],
      tile: [s.gx % prof.tiles_x, s.gy % prof.tiles_y],
      slot: s.k,
      compat_class: c.cls,
      shared_cfg: classConfig(c.cls),
      compartments: { used: c.usage.cx, layout, clocks, relays },
      cx_profiles: [...c.usage.cxProfiles].sort(),
      vth_profiles: [...c.usage.vthProfiles].sort(),
      syn_formats: [...c.usage.formats].sort(),
      in_axons: { slots: c.usage.inSlots, axons: c.usage.axons },
      synapse_bits: c.usage.bits,
      out_axons: c.outAxons,
    };
  });
  const layerToCores: Record<string, number[]> = {};
  for (const p of net.placed) layerToCores[p.name] = [...new Set(part!.tiles.filter((t) => t.pop === p).map((t) => part!.tileCore.get(t)!))].sort((a, b) => a - b);
  return {
    format: "tscc-loihi-mapping",
    version: LOIHI_VERSION,
    tscc: ctx.toolVersion ?? "unknown",
    source: ctx.source,
    target: prof.name,
    window: net.T,
    schedule_lead: net.lead,
    storage_model: {
      list: `nengo-loihi bits_per_axon: blocks of ≤ ${prof.syn_block_entries} entries, ${prof.syn_header_bits}-bit header each, rounded up to ${prof.word_bits}-bit words`,
      conv: "population axons per input position and polarity (pop_axon_slots slots each), atoms = input channels; one sparse list (weight + index bits per entry) per distinct pattern of valid kernel taps",
      dense: "discrete axons with dense lists (weight bits per entry) over the tile's neurons; population axons when the sources exceed half the in-axons",
      index_bits: "smallest idx_bits_map entry covering the tile's compartments (indices are relative to the axon's compartment base)",
    },
    realisation: prof.tsc,
    input: { layer: net.input.name, shape: [...net.input.shape], injected_by: "host (or an embedded x86 core) into the first layers' input axons, entering the mesh at tile (0, 0)" },
    chips: Array.from({ length: placement!.chips }, (_, i) => ({ chip: i, grid_xy: [i % prof.chip_grid_x, Math.floor(i / prof.chip_grid_x)] })),
    layers,
    cores,
    layer_to_cores: layerToCores,
  };
}

export function quantizationJson(state: State): Record<string, unknown> {
  const { net, prof } = state;
  const info = quantInfo(state);
  const layers = net.placed
    .filter((p) => p.kind !== "or")
    .map((p) => {
      const pq = state.quant!.pops.get(p)!;
      const qi = info.find((x) => x.pop === p)!;
      const lp = layerPrecision(state, p)!;
      const groups = lp.groups.map(({ group, stats, exps }) => ({
        group,
        kind: p.groups.find((g) => g.id === group)!.kind,
        // Per-layer windows: the gain T/T_s is in the integer weights; errors are against g·W̃ (exact: a power of two only shifts the exponent).
        gain: p.groups.find((g) => g.id === group)!.gain,
        gain_exact: exactGain(p.groups.find((g) => g.id === group)!.gain),
        weight_exps: exps,
        num_weight_bits: prof.weight_bits,
        sign_mode: "mixed",
        weight_unit: exps.map((e) => 2 ** (weightShift(prof) + e)),
        max_abs_error_theta: round(stats.max_abs_error),
        max_rel_error: round(stats.max_rel_error),
        max_abs_weight_theta: round(stats.max_abs_value),
        clipped: stats.clipped,
        flushed_to_zero: stats.flushed_to_zero,
        count: stats.count,
      }));
      const fit = p.op.attrs["loihi.fit_notes"] as string | undefined;
      return {
        layer: p.name,
        kind: p.kind,
        scale_theta_int: pq.scale,
        vth_mant: pq.vth_mant,
        vth: pq.vth_mant * 2 ** prof.vth_shift,
        phi_int: pq.phi,
        bias: { exp: pq.bias_exp, via: prof.tsc.bias, channels: pq.bias_mant?.length ?? 0, clipped: qi.clipped_bias },
        scale_bound_by: pq.bound_by,
        worst_case: { q: qi.q_worst, v: qi.v_worst },
        precision: {
          threshold_classes: lp.threshold_classes.map(([k, channels]) => ({ k, theta: pq.scale / 2 ** k, channels })),
          theta_min: lp.theta_min,
          weight_exps: lp.weight_exps,
          row_mantissa_bits: lp.row_mantissa_bits,
          flushed_fraction: round(lp.flushed_fraction),
          fanin_split: pq.splits.map((x) => ({ channel: x.channel, parts: x.parts })),
          ...(fit ? { why: fit } : {}),
        },
        groups,
      };
    });
  return {
    format: "tscc-loihi-quantization",
    version: LOIHI_VERSION,
    profile: prof.name,
    exponent: state.exponent,
    rule: "W = w_mant · 2^(weight_shift + e) ≈ g·W̃·Θ_c (g = the group's gain T/T_s, 1 with one window for all layers) with |w_mant| ≤ 2^(weight_bits−1) − 1; Θ = vth_mant · 2^vth_shift, Θ_c = Θ/2^k (threshold class k of channel c), Φ_c = Φ/2^k; d = clip(floor((V + Φ_c)/Θ_c), 0, T) with the layer's own T; errors (of g·W̃) in units of each channel's θ",
    weight_shift: weightShift(prof),
    layers,
    accuracy_delta: "run `tscc run <artifact> --input x.npy --labels y.npy`: accuracy, float_tsc_accuracy and accuracy_delta",
  };
}

/** network.json + weights.bin: the float TSC network and its integer twin (same nodes, integer weights). */
export function networkFiles(state: State, m: Module): { json: Record<string, unknown>; weights: Uint8Array } {
  const built = buildEmuNetwork(m);
  const { prof } = state;
  const wm = new IrModule("loihi-weights");
  const blobs = new Map<string, Float32Array>();
  const put = (name: string, data: Float32Array): string => {
    if (!blobs.has(name)) {
      blobs.set(name, data);
      wm.addConst(name, tensorType([data.length]), data);
    }
    return name;
  };
  const opOfNode = new Map<Node, number>();
  // built.network.nodes follow m.ops one to one (buildNetwork adds one node per op).
  built.network.nodes.forEach((n, i) => opOfNode.set(n, i));
  const shift = weightShift(prof);
  // Fan-in splits: per neuron op [channel, parts] pairs (weight k of a row feeds part k mod parts).
  const faninParts = new Map<unknown, number[]>();
  for (const p of state.net.placed) {
    const pq = state.quant?.pops.get(p);
    if (pq?.splits.length) faninParts.set(p.op, pq.splits.flatMap((sp) => [sp.channel, sp.parts]));
  }
  const nodes = built.network.nodes.map((n, i) => {
    const op = m.ops[i]!;
    const names = built.blobNames.get(n);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(n)) {
      // Weight and bias arrays go to weights.bin (an add node's `b` is a value index and stays).
      if ((k === "w" || k === "b") && (n.kind === "conv" || n.kind === "dense")) continue;
      out[k] = v;
    }
    if (names?.w) out["w"] = put(names.w, (n as { w: Float32Array }).w);
    if (names?.b) out["b"] = put(names.b, (n as { b: Float32Array }).b);
    // Integer twin.
    const int: Record<string, unknown> = {};
    if (n.kind === "conv" || n.kind === "dense" || n.kind === "scale") {
      const mantName = op.attrs["loihi.weight_mant"] as string | undefined;
      const exps = op.attrs["loihi.weight_exps"] as number[] | undefined;
      if (mantName && exps) {
        const mant = m.consts.get(mantName)!.data as Float32Array;
        const rowLen = mant.length / exps.length;
        const w = new Float32Array(mant.length);
        for (let k = 0; k < mant.length; k++) w[k] = mant[k]! * 2 ** (shift + exps[Math.floor(k / rowLen)]!);
        if (n.kind === "scale") int["factor"] = w[0]!;
        else int["w"] = put(`${mantName}.int`, w);
      }
    }
    if ((n.kind === "conv" || n.kind === "dense" || n.kind === "scale" || n.kind === "maxpool") && op.attrs["loihi.relays"]) int["delay"] = 1;
    if (n.kind === "tsc" || n.kind === "decode") {
      const a = op.attrs;
      const scale = a["loihi.scale"] as number;
      int["theta"] = scale;
      int["phi"] = a["loihi.phi"] as number;
      int["lambda"] = (n as { lambda: number }).lambda / scale;
      // Threshold classes: channel c uses Θ / 2^k and Φ / 2^k (weights and bias are already at that scale).
      const shifts = a["loihi.theta_shift"] as number[] | undefined;
      if (shifts) int["theta_shift"] = put(`node${i}.loihi.theta_shift`, Float32Array.from(shifts));
      const parts = faninParts.get(op);
      if (parts) int["fanin_parts"] = parts;
      const bname = a["loihi.bias_mant"] as string | undefined;
      if (bname) {
        const bm = m.consts.get(bname)!.data as Float32Array;
        const unit = prof.tsc.bias === "clock-synapse" ? 2 ** (shift + (a["loihi.bias_exp"] as number)) : 2 ** (a["loihi.bias_exp"] as number);
        int["bias_per_channel"] = put(`${bname}.int`, bm.map((x) => x * unit));
      }
    }
    return { ...out, ...(Object.keys(int).length ? { int } : {}) };
  });
  return {
    json: {
      format: "tscc-loihi-network",
      version: LOIHI_VERSION,
      coding: built.network.coding,
      window: built.network.window,
      values: built.network.values,
      nodes,
      inputs: built.network.inputs,
      outputs: built.network.outputs,
      engine: { q_bits: prof.q_bits, u_bits: prof.u_bits, v_bits: prof.v_bits, bias_via: prof.tsc.bias },
      input: { name: m.inputs[0]!.name, shape: m.inputs[0]!.value.type.shape.slice(1), scale: (m.attrs["input_scale"] as number | undefined) ?? 1 },
    },
    weights: writeWeights(wm),
  };
}

/** Core-pair routes listed one by one up to this many; above it routes.json aggregates them per chip pair. */
export const ROUTE_LIST_LIMIT = 200_000;

/**
 * The routes of routes.json: every core pair (and host injection) while there are at most
 * ROUTE_LIST_LIMIT of them. Relayed fan-out on big networks makes millions of pairs (CIFAR VGG-16:
 * ~16 million), whose list would be gigabytes of JSON, so above the limit the pairs are summed per
 * (source chip, destination chip): core pairs, messages and message-weighted hops and chip crossings.
 */
function routesJson(state: State): Record<string, unknown> {
  const { part, placement, prof } = state;
  const n = routeCount(part!);
  if (n <= ROUTE_LIST_LIMIT) {
    const routes: Route[] = [];
    forEachRoute(part!, placement!, prof, (r) => routes.push(r));
    return { route_count: n, routes };
  }
  const agg = new Map<number, { src_chip: number; dst_chip: number; core_pairs: number; messages: number; hops_ew: number; hops_ns: number; chip_crossings: number }>();
  const chips = placement!.chips + 1;
  forEachRoute(part!, placement!, prof, (r) => {
    const a = r.src < 0 ? -1 : placement!.slots[r.src]!.chip;
    const b = placement!.slots[r.dst]!.chip;
    const key = (a + 1) * chips + b;
    let e = agg.get(key);
    if (!e) agg.set(key, (e = { src_chip: a, dst_chip: b, core_pairs: 0, messages: 0, hops_ew: 0, hops_ns: 0, chip_crossings: 0 }));
    e.core_pairs++;
    e.messages += r.messages;
    e.hops_ew += r.messages * r.hops_ew;
    e.hops_ns += r.messages * r.hops_ns;
    e.chip_crossings += r.messages * r.chip_crossings;
  });
  return {
    route_count: n,
    routes: null,
    routes_omitted: `${n} routes exceed the listing limit of ${ROUTE_LIST_LIMIT}: chip_routes sums them per (source chip, destination chip; −1 = host), hops and chip crossings weighted by messages`,
    chip_routes: [...agg.entries()].sort((x, y) => x[0] - y[0]).map((e) => e[1]),
  };
}

export async function emitLoihi(m: Module, ctx: EmitContext, state: State): Promise<void> {
  const report = buildReport(state);
  ctx.writeFile("hw-profile.json", json(profileJson(state.prof)));
  ctx.writeFile("mapping.json", json(mappingJson(state, ctx)));
  ctx.writeFile(
    "routes.json",
    json({ format: "tscc-loihi-routes", version: LOIHI_VERSION, routing: "dimension order: X (E-W) then Y (N-S); host injection enters at tile (0, 0); messages assume every neuron active", summary: report.traffic, ...routesJson(state) }),
  );
  ctx.writeFile("quantization.json", json(quantizationJson(state)));
  ctx.writeFile("resource-report.json", json(report.data));
  ctx.writeFile("resource-report.md", reportMarkdown(state, report));
  ctx.writeFile("mapping.svg", mappingSvg(state, report));
  const nf = networkFiles(state, m);
  ctx.writeFile("network.json", json(nf.json));
  ctx.writeFile("weights.bin", nf.weights);
  ctx.writeFile(
    "manifest.json",
    json({ format: LOIHI_FORMAT, version: LOIHI_VERSION, tscc: ctx.toolVersion ?? "unknown", source: ctx.source, profile: state.prof.name, window: state.net.T, ...(layerWindows(state.net) ? { layer_windows: layerWindows(state.net) } : {}), cores: state.part!.cores.length, chips: state.placement!.chips, latency_steps: state.net.latency, input: nf.json["input"], outputs: m.outputs.map((o) => o.name), energy: (m.attrs["loihi.energy"] as string | undefined) ?? Object.keys(state.prof.energy)[0] }),
  );
}

export type { Profile };
