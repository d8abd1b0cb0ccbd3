/**
 * `tscc report`: one self-contained HTML page about one or two artifacts (a TSC and a rate network side by
 * side, or an emulator and a Loihi artifact): the network graph, a per-layer table, one input spike by
 * spike (raster, spike-time histogram, membrane traces), accuracy and additions against the window T from
 * `tscc run --windows` sweeps, and for Loihi the core map, utilisation, traffic, DRC and lower bound.
 * Every chart is a Vega-Lite spec rendered to inline SVG at report time (render.ts); the same figures can
 * be written as PNG files.
 */
import type { Logger } from "../../ir/index.js";
import type { RTensor } from "../../ir/interp/tensor.js";
import { energyPj } from "../../backends/emulator/energy.js";
import { runClosedForm } from "../../backends/emulator/runtime/closed-form.js";
import type { LayerCounters } from "../../backends/emulator/runtime/types.js";
import type { Sweep } from "../../backends/emulator/sweep.js";
import type { LoihiLayer, ReportArtifact } from "./artifact.js";
import { chartWidth, histogramChart, membraneChart, rasterChart, sampleSpan, sweepAccuracyChart, sweepAdditionsChart, type SweepSeries } from "./charts.js";
import { networkToDot } from "./graph.js";
import { columns, esc, figure, htmlTable, num, page, pct, type Cell, type Section } from "./html.js";
import { layerRows, type LayerRow, type OpCountsPerInference } from "./layers.js";
import { CORE_MAP_MAX, loihiFigures } from "./loihi.js";
import { chartSvg, dotSvg, type ChartSpec } from "./render.js";
import { simulateSample, type SampleView } from "./sample.js";

export interface ReportInputs {
  /** float32 [N, ...]. */
  readonly x: RTensor;
  /** How the page names the file (never an absolute path). */
  readonly file: string;
  readonly labels?: readonly number[];
  readonly labelsFile?: string;
}

export interface ReportRequest {
  readonly artifacts: readonly ReportArtifact[];
  readonly inputs?: ReportInputs;
  /** Index of the input shown spike by spike. */
  readonly sample: number;
  readonly sweeps: readonly { readonly file: string; readonly sweep: Sweep }[];
  /** The artifact's backend run over the inputs (`tscc run`'s metrics). */
  readonly run: (a: ReportArtifact, x: RTensor, labels: RTensor | undefined) => Promise<Record<string, unknown>>;
  readonly log: Logger;
  readonly version: string;
}

/** A figure of the report, for --format png. */
export interface ReportFigure {
  readonly name: string;
  readonly svg: string;
}

export interface ReportResult {
  readonly html: string;
  readonly figures: readonly ReportFigure[];
}

interface ArtifactView {
  readonly a: ReportArtifact;
  readonly slug: string;
  readonly metrics?: Record<string, unknown>;
  readonly rows: LayerRow[];
  readonly sample?: SampleView;
}

function slugOf(label: string, taken: Set<string>): string {
  const base = label.replace(/\/+$/, "").split(/[\\/]/).pop()!.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "") || "artifact";
  let s = base;
  for (let k = 2; taken.has(s); k++) s = `${base}-${k}`;
  taken.add(s);
  return s;
}

/** The Loihi layer of each population, matched in order by kind and shape (the encoder runs on the host). */
function loihiLayers(a: ReportArtifact): Map<number, LoihiLayer> {
  const out = new Map<number, LoihiLayer>();
  const layers = a.loihi?.report.per_layer ?? [];
  const kindOf: Record<string, string> = { tsc: "tsc", maxpool: "or", decode: "readout" };
  let k = 0;
  a.net.nodes.forEach((n, i) => {
    const want = kindOf[n.kind];
    if (!want || k >= layers.length) return;
    const L = layers[k]!;
    if (L.kind === want && L.shape.join("x") === a.net.values[n.out]!.shape.join("x")) {
      out.set(i, L);
      k++;
    }
  });
  return out;
}

/** Per-layer counters per inference, from the run's metrics (emulator) or the float TSC closed form (Loihi). */
function perInferenceLayers(a: ReportArtifact, metrics: Record<string, unknown>, x: RTensor): readonly LayerCounters[] {
  if (a.target === "emulator") return metrics["layers"] as LayerCounters[];
  const batch = x.shape[0]!;
  const c = runClosedForm(a.net, x.data as Float32Array, batch).counters;
  return c.layers.map((l) => ({ ...l, synaptic_additions: l.synaptic_additions / batch, memory_reads: l.memory_reads / batch, neuron_updates: l.neuron_updates / batch, spikes: l.spikes / batch, input_macs: l.input_macs / batch, relayed_spikes: l.relayed_spikes / batch }));
}

function energyModel(a: ReportArtifact): { of: (c: OpCountsPerInference, node: number) => number; note: string } {
  if (a.loihi) {
    const set = a.loihi.profile.energy[a.loihi.energySet] ?? Object.values(a.loihi.profile.energy)[0]!;
    const layers = loihiLayers(a);
    const steps = a.loihi.report.latency_steps;
    return {
      of: (c, node) => c.synaptic_additions * set.synop_pj + (layers.get(node)?.compartments ?? 0) * steps * set.update_inactive_pj,
      note: `Loihi energy set ${set.name}: synaptic operations × ${set.synop_pj} pJ + the layer's compartments × ${steps} steps × ${set.update_inactive_pj} pJ (messages and static power are not split by layer); operation counts of the float TSC network`,
    };
  }
  const e = a.energy!;
  return { of: (c) => energyPj(c, e).total, note: `energy set ${e.name}: ${e.add_pj} pJ per addition, ${e.mem_read_pj} pJ per weight read, ${e.neuron_update_pj} pJ per neuron update, ${e.mac_pj} pJ per input MAC` };
}

/** A Loihi layer's steps on the chip: its fire window, or when the read-out is read. */
function chipSteps(L: LoihiLayer | undefined): string {
  if (!L) return "host";
  const w = L.window;
  if (w.window_end < 0) return `read at ${w.fire_start}`;
  return w.fire_start >= 0 ? `${w.fire_start}–${w.window_end}` : String(w.window_end);
}

function layerTable(v: ArtifactView): string {
  const hasRun = v.metrics !== undefined;
  const chip = v.a.loihi ? loihiLayers(v.a) : undefined;
  const head: Cell[] = ["layer", "kind", "shape", { html: "neurons", num: true }, { html: "fan-in (max)", num: true }, { html: "fan-out (max)", num: true }, "steps", ...(chip ? ([{ html: "cores", num: true }, "chip steps"] as Cell[]) : []), ...(hasRun ? ([{ html: "spikes", num: true }, { html: "synaptic adds", num: true }, { html: "weight reads", num: true }, { html: "energy share", num: true }] as Cell[]) : [])];
  const rows = v.rows.map((r): Cell[] => [
    r.name,
    r.kind === "maxpool" ? "maxpool (OR)" : r.kind,
    `[${r.shape.join(", ")}]`,
    r.neurons,
    r.fanIn,
    r.fanOut,
    `${r.steps[0]}–${r.steps[1]}`,
    ...(chip ? [chip.get(r.node)?.cores ?? null, chipSteps(chip.get(r.node))] : []),
    ...(hasRun ? [r.spikes, r.additions, r.reads, { html: pct(r.energyShare), num: true }] : []),
  ]);
  const sum = (f: (r: LayerRow) => number | null): number => v.rows.reduce((a, r) => a + (f(r) ?? 0), 0);
  const foot: Cell[] | undefined = hasRun ? ["total", "", "", sum((r) => (r.kind === "maxpool" ? 0 : r.neurons)), "", "", "", ...(chip ? [v.a.loihi!.report.cores, ""] : []), sum((r) => (r.kind === "maxpool" ? 0 : r.spikes)), sum((r) => r.additions), sum((r) => r.reads), { html: pct(1), num: true }] : undefined;
  const e = energyModel(v.a);
  const notes = hasRun
    ? `Per inference, averaged over ${num(v.metrics!["samples"] as number)} inputs. Spikes of a max pool are the switch events its OR gates relay (not counted in the total). Steps: when the population fires (TSC: its window of T; rate: the whole run); the read-out integrates. Energy: ${esc(e.note)}.`
    : "Operation counts need inputs: <code>--input x.npy</code>.";
  const chipNote = chip ? " Steps are those of the float TSC network in the emulator; chip steps add the mapping's clock and relay delays (cores: cores holding the layer's tiles, shared cores counted in each layer; total: cores of the mapping)." : "";
  return htmlTable(head, rows, { ...(foot ? { foot } : {}) }) + `<p class="note">${notes}${chipNote}</p>`;
}

/** "T = 32 steps per window", or the per-layer windows when they differ. */
function tscWindows(s: SampleView): string {
  const steps = [...new Set(s.rasters.map((L) => L.windowSteps))];
  return steps.length <= 1 ? `T = ${steps[0] ?? s.T} steps per window` : `Per-layer windows of ${steps.join(", ")} steps`;
}

function metric(m: Record<string, unknown> | undefined, k: string): number | undefined {
  const x = m?.[k];
  return typeof x === "number" ? x : undefined;
}

function summaryTable(views: readonly ArtifactView[], inputs: ReportInputs | undefined, sweeps: ReportRequest["sweeps"]): string {
  const rows: Cell[][] = [];
  const add = (label: string, f: (v: ArtifactView) => Cell): void => {
    const cells = views.map(f);
    if (cells.some((c) => c !== undefined && c !== null && c !== "")) rows.push([label, ...cells]);
  };
  add("backend", (v) => v.a.target);
  add("coding", (v) => (v.a.coding === "tsc" ? "TSC (temporal switch)" : "rate"));
  add("source model", (v) => v.a.source);
  add("window T (steps)", (v) => v.a.window);
  add("latency (steps)", (v) => (metric(v.metrics, "latency_steps") ?? (v.a.loihi ? v.a.loihi.report.latency_steps : undefined)) ?? null);
  add("spiking neurons", (v) => v.rows.filter((r) => r.kind !== "maxpool" && r.kind !== "decode").reduce((a, r) => a + r.neurons, 0));
  if (inputs) {
    add("inputs evaluated", (v) => metric(v.metrics, "samples"));
    add("accuracy", (v) => ({ html: pct(metric(v.metrics, "accuracy")), num: true }));
    add("ANN accuracy", (v) => ({ html: pct(metric(v.metrics, "ann_accuracy")), num: true }));
    add("float TSC accuracy", (v) => ({ html: pct(metric(v.metrics, "float_tsc_accuracy")), num: true }));
    add("top-1 agreement with the ANN", (v) => ({ html: pct(metric(v.metrics, "agreement")), num: true }));
    add("agreement with the float TSC network", (v) => ({ html: pct(metric(v.metrics, "agreement_with_float_tsc")), num: true }));
    add("spikes per neuron (max)", (v) => metric(v.metrics, "spikes_per_neuron_max"));
    add("spikes per inference", (v) => metric(v.metrics, "spikes_per_inference"));
    add("synaptic additions per inference", (v) => metric(v.metrics, "synaptic_additions_per_inference"));
    add("energy per inference (µJ)", (v) => {
      const e = metric(v.metrics, "energy_per_inference_pj");
      return e === undefined ? undefined : { html: `${(e / 1e6).toFixed(3)} <small>(${esc(String(v.metrics?.["energy_params"] ?? ""))})</small>`, num: true };
    });
  }
  add("Loihi cores / chips", (v) => (v.a.loihi ? `${num(v.a.loihi.report.cores)} / ${num(v.a.loihi.report.chips)}` : undefined));
  add("cores / lower bound", (v) => (v.a.loihi ? { html: `${(v.a.loihi.report.cores / v.a.loihi.report.lower_bound.cores).toFixed(3)}×`, num: true } : undefined));
  for (const s of sweeps) {
    add(`equal-accuracy T (${s.sweep.coding} sweep)`, (v) => (v.a.coding === s.sweep.coding && v.a.source === s.sweep.source ? (s.sweep.equal_accuracy_window ?? "not reached") : undefined));
  }
  return htmlTable(["", ...views.map((v) => v.a.label)], rows, { cls: "summary" });
}

function sweepSection(sweeps: ReportRequest["sweeps"], figs: ReportFigure[]): Promise<string> | string {
  if (sweeps.length === 0) {
    return `<p class="note">No sweep given. Run the artifact at several windows and pass the JSON here: <code>tscc run out/model --input x.npy --labels y.npy --windows 8,16,32 --json &gt; sweep.json</code>, then <code>tscc report … --sweep sweep.json</code> (one per coding, e.g. a TSC and a rate artifact).</p>`;
  }
  const series: SweepSeries[] = sweeps.map(({ sweep: s }) => ({
    coding: s.coding,
    label: `${s.coding} (${s.source}, compiled at T = ${s.compiled_window})`,
    ann: s.ann_accuracy,
    equal: s.equal_accuracy_window,
    points: s.points.map((p) => ({ window: p.window, ...(p.accuracy !== undefined ? { accuracy: p.accuracy } : {}), additions: p.synaptic_additions_per_inference })),
  }));
  return (async () => {
    const acc = await chartSvg(sweepAccuracyChart(series), "sweep-accuracy");
    const adds = await chartSvg(sweepAdditionsChart(series), "sweep-additions");
    figs.push({ name: "sweep-accuracy", svg: acc }, { name: "sweep-additions", svg: adds });
    const tables = sweeps
      .map(({ file, sweep: s }) => {
        const rows = s.points.map((p): Cell[] => [p.window, { html: pct(p.accuracy), num: true }, { html: pct(p.agreement), num: true }, p.synaptic_additions_per_inference, p.spikes_per_inference, p.latency_steps, { html: (p.energy_per_inference_pj / 1e6).toFixed(3), num: true }, p.window === s.equal_accuracy_window ? "◆ equal accuracy" : ""]);
        return `<div><h3>${esc(s.coding)} — ${esc(s.source)}, ${esc(s.engine)} engine, ${num(s.samples)} inputs${s.ann_accuracy !== undefined ? `, ANN ${pct(s.ann_accuracy)}` : ""} <small>(${esc(file)})</small></h3>${htmlTable([{ html: "T", num: true }, { html: "accuracy", num: true }, { html: "agreement", num: true }, { html: "synaptic adds", num: true }, { html: "spikes", num: true }, { html: "latency", num: true }, { html: "energy (µJ)", num: true }, ""], rows)}</div>`;
      })
      .join("");
    return `<div class="row">${figure("fig-sweep-accuracy", acc)}${figure("fig-sweep-additions", adds)}</div><p class="note">Each point is a full run of the artifact's network at that window (<code>tscc run --windows</code>; the weights do not depend on T). Equal accuracy: the first T whose top-1 accuracy is within 0.5 points of the ANN's on the same inputs.</p><div class="row">${tables}</div>`;
  })();
}

function drcTable(v: ArtifactView): string {
  const d = v.a.loihi!.report.drc;
  const rows = d.map((r): Cell[] => [r.rule, r.severity, { html: `<span class="${r.pass ? "pass" : "fail"}">${r.pass ? "pass" : "FAIL"}</span>` }, { html: Number.isFinite(r.worst_ratio) ? r.worst_ratio.toFixed(3) : String(r.worst_ratio), num: true }, r.description, r.violations.length ? r.violations.slice(0, 5).join("; ") + (r.violations.length > 5 ? ` (+${r.violations.length - 5} more)` : "") : ""]);
  return htmlTable(["rule", "severity", "result", { html: "worst ratio", num: true }, "checks", "violations"], rows, { cls: "drc" }) + `<p class="note">Worst ratio: the largest use / limit over the checked items (≤ 1 passes). The same rules stop <code>tscc compile</code> when an error rule fails.</p>`;
}

async function loihiSection(v: ArtifactView, figs: ReportFigure[]): Promise<string> {
  const f = loihiFigures(v.a.loihi!);
  const r = v.a.loihi!.report;
  const render = async (name: string, spec: ChartSpec): Promise<string> => {
    const svg = await chartSvg(spec, `${v.slug}-${name}`);
    figs.push({ name: `${v.slug}-${name}`, svg });
    return svg;
  };
  const bound = await render("cores-vs-bound", f.bound);
  const map = await render("core-map", f.coreMap);
  const util = await render("utilisation", f.utilisation);
  const traffic = await render("traffic", f.traffic);
  const t = r.traffic;
  const facts = htmlTable(
    ["", ""],
    [
      ["profile", r.profile],
      ["cores / chips", `${num(r.cores)} / ${num(r.chips)}`],
      ["capacity lower bound (cores)", `${num(r.lower_bound.cores)} (gap ${r.lower_bound.gap.toFixed(3)}×)`],
      ["tightened bound (cores)", `${num(r.lower_bound.tightened.cores)} (gap ${r.lower_bound.tightened.gap.toFixed(3)}×)`],
      ["messages per inference (worst case)", num(t.messages["total"] ?? 0)],
      ["hop-weighted traffic (vs naive placement)", `${num(t.hop_weighted)} (${t.vs_naive.toFixed(3)}×)`],
      ["chip crossings", num(t.chip_crossings)],
      ["energy per inference, worst case (µJ)", ((r.energy_per_inference_pj["total"] as number) / 1e6).toFixed(3)],
    ],
  );
  return [
    `<h3 id="${v.slug}-bound">Cores against the lower bound</h3><div class="row">${figure(`fig-${v.slug}-cores-vs-bound`, bound)}${facts}</div>`,
    `<h3 id="${v.slug}-core-map">Core map</h3>${figure(`fig-${v.slug}-core-map`, map, f.mapLevel === "chip" ? `${num(r.cores)} cores: more than ${CORE_MAP_MAX}, so summed per chip.` : undefined)}`,
    `<h3 id="${v.slug}-utilisation">Utilisation</h3>${figure(`fig-${v.slug}-utilisation`, util)}`,
    `<h3 id="${v.slug}-traffic">Traffic between cores</h3>${figure(`fig-${v.slug}-traffic`, traffic)}`,
    `<h3 id="${v.slug}-drc">Design rules</h3>${drcTable(v)}`,
  ].join("\n");
}

export async function buildReport(req: ReportRequest): Promise<ReportResult> {
  const figs: ReportFigure[] = [];
  const taken = new Set<string>();
  const views: ArtifactView[] = [];
  const inp = req.inputs;
  for (const a of req.artifacts) {
    const slug = slugOf(a.label, taken);
    let metrics: Record<string, unknown> | undefined;
    let layers: readonly LayerCounters[] | undefined;
    let sample: SampleView | undefined;
    if (inp) {
      req.log.info(`report: running ${a.label} on ${inp.x.shape[0]} input(s)`);
      const labels: RTensor | undefined = inp.labels ? { shape: [inp.labels.length], dtype: "i32", data: Int32Array.from(inp.labels) } : undefined;
      metrics = await req.run(a, inp.x, labels);
      layers = perInferenceLayers(a, metrics, inp.x);
      const per = inp.x.data.length / inp.x.shape[0]!;
      sample = simulateSample(a.net, inp.x.data as Float32Array, per, req.sample, inp.labels?.[req.sample]);
    }
    const e = energyModel(a);
    views.push({ a, slug, ...(metrics ? { metrics } : {}), rows: layerRows(a.net, layers, e.of), ...(sample ? { sample } : {}) });
  }
  const per = async (name: string, make: (v: ArtifactView) => ChartSpec | undefined): Promise<{ title: string; body: string }[]> => {
    const out: { title: string; body: string }[] = [];
    for (const v of views) {
      const spec = make(v);
      if (!spec) continue;
      const svg = await chartSvg(spec, `${v.slug}-${name}`);
      figs.push({ name: `${v.slug}-${name}`, svg });
      out.push({ title: v.a.label, body: figure(`fig-${v.slug}-${name}`, svg) });
    }
    return out;
  };
  const network: { title: string; body: string }[] = [];
  for (const v of views) {
    const svg = await dotSvg(networkToDot(v.a.net, v.a.source), `${v.slug}-graph`);
    figs.push({ name: `${v.slug}-graph`, svg });
    const graph = figure(`fig-${v.slug}-graph`, svg, "Orange boxes: spiking populations; blue: synapses and the read-out. Solid orange edges carry spikes, dashed ones charge (synaptic input).");
    network.push({ title: v.a.label, body: `<div class="row"><div class="graph">${graph}</div><div class="layers">${layerTable(v)}</div></div>` });
  }
  const width = chartWidth(views.length);
  // Side by side, both time axes span the longer run, so the two codings' timing compares directly.
  const span = Math.max(0, ...views.map((v) => (v.sample ? sampleSpan(v.sample) : 0)));
  const needInput = `<p class="note">Needs an input: <code>tscc report … --input x.npy</code> (and <code>--sample i</code> to choose which).</p>`;
  const sampleNote = (v: ArtifactView): string => {
    const s = v.sample!;
    const loihi = v.a.loihi ? " The mapping's float TSC network on the emulator's event engine (on the chip the integer network adds clock and relay delays: chip steps in the layer table)." : "";
    return `Input #${s.index}${s.label !== undefined ? ` (label ${s.label})` : ""}: predicted ${s.prediction}. ${s.coding === "tsc" ? `${tscWindows(s)}; each layer fires in its own window (shaded).` : `A run of T = ${s.T} steps; all layers run at once.`}${loihi}`;
  };
  const withNote = (blocks: { title: string; body: string }[], note: (v: ArtifactView) => string): { title: string; body: string }[] =>
    blocks.map((b, i) => ({ ...b, body: b.body + `<p class="note">${esc(note(views.filter((v) => v.sample)[i]!))}</p>` }));
  const sections: Section[] = [];
  sections.push({ id: "summary", title: "Summary", body: summaryTable(views, inp, req.sweeps) });
  // One artifact after the other at full width: the layer tables are too wide for two columns.
  sections.push({ id: "network", title: "Network and layers", body: network.map((b) => (network.length > 1 ? `<h3>${esc(b.title)}</h3>` : "") + b.body).join("\n") });
  if (inp) {
    const rasters = withNote(await per("raster", (v) => (v.sample ? rasterChart(v.sample, width, span) : undefined)), (v) => `${sampleNote(v)}${v.sample!.coding === "tsc" ? " A line joins each neuron's spike 1 (ON) and spike 2 (OFF); its length is the value." : ""}`);
    const hists = withNote(await per("spike-times", (v) => (v.sample ? histogramChart(v.sample, width) : undefined)), (v) => (v.sample!.coding === "tsc" ? "Within its firing window every active neuron sends spike 1 at k = 0 and spike 2 at k = d, its value in quanta of λ/T." : "Spikes per step over the run."));
    const traces = withNote(await per("membrane", (v) => (v.sample ? membraneChart(v.sample, width, span) : undefined)), (v) => (v.sample!.coding === "tsc" ? "V integrates its switch currents over the integration window (no firing), then discharges by θ per step while the output switch is ON (spike 1 ▲ to spike 2 ▼)." : "V integrates every step and loses θ at each spike (reset by subtraction)."));
    sections.push({ id: "raster", title: "Spike raster", body: columns(rasters) });
    sections.push({ id: "spike-times", title: "Spike times within the window", body: columns(hists) });
    sections.push({ id: "membrane", title: "Membrane potential", body: columns(traces) });
  } else {
    for (const [id, title] of [["raster", "Spike raster"], ["spike-times", "Spike times within the window"], ["membrane", "Membrane potential"]] as const) sections.push({ id, title, body: needInput });
  }
  sections.push({ id: "sweep", title: "Accuracy and additions against T", body: await sweepSection(req.sweeps, figs) });
  const loihi = views.filter((v) => v.a.loihi);
  if (loihi.length) {
    const blocks: string[] = [];
    for (const v of loihi) blocks.push(`${loihi.length > 1 || views.length > 1 ? `<h3>${esc(v.a.label)}</h3>` : ""}${await loihiSection(v, figs)}`);
    sections.push({ id: "loihi", title: "Loihi mapping", body: blocks.join("\n") });
  }
  const names = views.map((v) => `<b>${esc(v.a.label)}</b> (${v.a.target}, ${v.a.coding === "tsc" ? "TSC" : "rate"}, T = ${v.a.window}, from ${esc(v.a.source)})`);
  const meta = [
    `Artifacts: ${names.join(" and ")}.`,
    inp ? `Inputs: ${esc(inp.file)} (${num(inp.x.shape[0]!)} samples${inp.labelsFile ? `, labels ${esc(inp.labelsFile)}` : ""}); input #${req.sample} is shown spike by spike.` : "No inputs given: structure only.",
    `Written by tscc ${esc(req.version)} (<code>tscc report</code>); charts: Vega-Lite, graph: Graphviz.`,
  ];
  const title = `tscc report: ${views.map((v) => v.a.source).filter((s, i, all) => all.indexOf(s) === i).join(", ")}`;
  return { html: page(title, meta, sections), figures: figs };
}
