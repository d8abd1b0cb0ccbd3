/**
 * The report's charts as Vega-Lite specs (data inline). Rendering is render.ts's job; these functions only
 * say what is drawn: rasters, spike-time histograms, membrane traces, the window sweep, and the Loihi core
 * map, utilisation, traffic and lower-bound charts.
 */
import type { ChartSpec } from "./render.js";
import type { RasterLayer, SampleView, TraceLine } from "./sample.js";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
export const SPIKE_COLORS = { domain: ["ON", "OFF", "spike"], range: ["#1b9e77", "#d95f02", "#333333"] };
const CODINGS = ["tsc", "rate"] as const;
const CODING_RANGE = ["#1f77b4", "#9467bd"];

/** Colours of the codings present. */
function codingColors(series: readonly SweepSeries[]): { domain: string[]; range: string[] } {
  const present = CODINGS.filter((c) => series.some((s) => s.coding === c));
  return { domain: [...present], range: present.map((c) => CODING_RANGE[CODINGS.indexOf(c)]!) };
}
/** Width of a per-layer chart: wide for one artifact, half for two side by side. */
export function chartWidth(artifacts: number): number {
  return artifacts > 1 ? 540 : 880;
}

/** The time axis: ticks at the layers' window boundaries (TSC) when there are few of them. */
function stepAxis(s: SampleView, span: number): { title: string; values?: number[] } {
  if (s.coding !== "tsc") return { title: "step" };
  const ticks = [...new Set([0, span, ...s.rasters.flatMap((L) => [L.windowStart, L.windowStart + L.windowSteps])])].filter((t) => t <= span).sort((a, b) => a - b);
  return ticks.length <= 24 ? { title: "step", values: ticks } : { title: "step" };
}

function nth(k: number): string {
  return k === 1 ? "every neuron" : `1 in ${k} neurons`;
}

function spikeLegendDomain(coding: "tsc" | "rate"): { domain: string[]; range: string[] } {
  return coding === "tsc" ? { domain: ["ON", "OFF"], range: SPIKE_COLORS.range.slice(0, 2) } : { domain: ["spike"], range: [SPIKE_COLORS.range[2]!] };
}

function layerTitle(L: RasterLayer, what: string): { text: string; subtitle: string } {
  return { text: `${L.name} (${L.kind === "encode" ? "input encoder" : L.kind}, ${L.neurons.toLocaleString("en-US")} neurons)`, subtitle: what };
}

/** Spike raster per layer: sampled neurons × absolute step; TSC draws each switch-ON span and its two edges. */
/** Steps shown on the time axis of one sample's charts (its latency, or a longer common span). */
export function sampleSpan(s: SampleView): number {
  return s.coding === "tsc" ? s.latency : s.T;
}

export function rasterChart(s: SampleView, width: number, span = sampleSpan(s)): ChartSpec {
  const colors = spikeLegendDomain(s.coding);
  return {
    $schema: SCHEMA,
    vconcat: s.rasters.map((L) => {
      const height = Math.max(60, Math.min(150, L.rows * 1.5));
      const y = { field: "row", type: "quantitative" as const, scale: { domain: [-0.5, L.rows - 0.5], reverse: true, nice: false }, axis: { title: "neuron", labels: false, ticks: false, grid: false } };
      const x = { field: "t", type: "quantitative" as const, scale: { domain: [0, span], nice: false }, axis: stepAxis(s, span) };
      const what = `${nth(L.stride)} (${L.rows} rows)`;
      return {
        title: layerTitle(L, what),
        width,
        height,
        layer: [
          ...(s.coding === "tsc"
            ? [
                { data: { values: [{ a: L.windowStart, b: L.windowStart + L.windowSteps }] }, mark: { type: "rect" as const, color: "#f3f3f3" }, encoding: { x: { field: "a", type: "quantitative" as const, scale: { domain: [0, span], nice: false }, axis: stepAxis(s, span) }, x2: { field: "b" } } },
                { data: { values: L.spans }, mark: { type: "rule" as const, color: "#9ecae1", strokeWidth: 1 }, encoding: { x: { field: "on", type: "quantitative" as const }, x2: { field: "off" }, y } },
              ]
            : []),
          { data: { values: L.events }, mark: { type: "tick" as const, thickness: 2, size: Math.max(3, Math.min(8, (1.6 * height) / L.rows)) }, encoding: { x, y, color: { field: "kind", type: "nominal" as const, scale: colors, title: "spike" } } },
        ],
      };
    }),
    resolve: { scale: { x: "shared" } },
  } as ChartSpec;
}

/** Histogram of spike times within each layer's firing window (TSC: k = t − s; rate: the step). */
export function histogramChart(s: SampleView, width: number): ChartSpec {
  const colors = spikeLegendDomain(s.coding);
  return {
    $schema: SCHEMA,
    vconcat: s.rasters.map((L) => ({
      title: layerTitle(L, s.coding === "tsc" ? `all ${L.counted.toLocaleString("en-US")} neurons: spike 1 (ON) at k = 0, spike 2 (OFF) at k = d` : `spikes per step of ${L.counted} traced neurons`),
      width,
      height: 90,
      data: { values: L.histogram },
      transform: [{ calculate: "datum.k - 0.45", as: "k0" }, { calculate: "datum.k + 0.45", as: "k1" }],
      mark: { type: "rect" as const },
      encoding: {
        x: { field: "k0", type: "quantitative" as const, scale: { domain: s.coding === "tsc" ? [-0.5, L.windowSteps + 0.5] : [0.5, L.windowSteps + 0.5], nice: false }, title: s.coding === "tsc" ? "k = step − window start" : "step" },
        x2: { field: "k1" },
        y: { field: "count", type: "quantitative" as const, stack: true, scale: { type: "sqrt" as const }, title: "spikes (√ scale)" },
        color: { field: "kind", type: "nominal" as const, scale: colors, title: "spike" },
      },
    })),
  } as ChartSpec;
}

function traceLabel(t: TraceLine): string {
  return `#${t.neuron}: ${t.why}`;
}

/** Membrane potential of the traced neurons, one chart per layer, with θ and the spikes. */
export function membraneChart(s: SampleView, width: number, span = sampleSpan(s)): ChartSpec {
  const byLayer = new Map<number, TraceLine[]>();
  for (const t of s.traces) byLayer.set(t.node, [...(byLayer.get(t.node) ?? []), t]);
  return {
    $schema: SCHEMA,
    vconcat: [...byLayer.values()].map((lines) => {
      const theta = lines[0]!.theta;
      const x = { field: "t", type: "quantitative" as const, scale: { domain: [0, span], nice: false }, axis: stepAxis(s, span) };
      const labels = lines.map(traceLabel);
      const color = { field: "neuron", type: "nominal" as const, title: null, scale: { domain: labels, range: ["#1f77b4", "#ff7f0e", "#2ca02c"] }, legend: { orient: "right" as const, labelLimit: 320 } };
      const shapes = s.coding === "tsc" ? { domain: ["ON", "OFF"], range: ["triangle-up", "triangle-down"] } : { domain: ["spike"], range: ["circle"] };
      return {
        title: { text: `${lines[0]!.layer}${theta === null ? " (output read-out)" : ""}`, subtitle: theta === null ? "V integrates the logit·T/λ; read at the end of the window" : `V in units of θ = ${theta}` },
        width,
        height: 110,
        layer: [
          { data: { values: lines.flatMap((t) => t.points.map((p) => ({ ...p, neuron: traceLabel(t) }))) }, mark: { type: "line" as const, interpolate: "step-after" as const, strokeWidth: 1.3 }, encoding: { x, y: { field: "v", type: "quantitative" as const, title: "V" }, color } },
          ...(theta !== null ? [{ data: { values: [{ theta }] }, mark: { type: "rule" as const, strokeDash: [4, 3], color: "#888" }, encoding: { y: { field: "theta", type: "quantitative" as const } } }] : []),
          { data: { values: lines.flatMap((t) => t.spikes.map((p) => ({ ...p, neuron: traceLabel(t) }))) }, mark: { type: "point" as const, filled: true, size: s.coding === "tsc" ? 70 : 14, opacity: s.coding === "tsc" ? 1 : 0.6 }, encoding: { x, y: { field: "v", type: "quantitative" as const }, color, shape: { field: "kind", type: "nominal" as const, title: "spike", scale: shapes } } },
        ],
      };
    }),
    resolve: { scale: { color: "independent", shape: "independent" } },
  } as ChartSpec;
}

export interface SweepSeries {
  readonly coding: "tsc" | "rate";
  readonly label: string;
  readonly ann: number | undefined;
  readonly equal: number | null;
  readonly points: readonly { readonly window: number; readonly accuracy?: number; readonly additions: number }[];
}

function sweepWindows(series: readonly SweepSeries[]): number[] {
  return [...new Set(series.flatMap((s) => s.points.map((p) => p.window)))].sort((a, b) => a - b);
}

/** The equal-accuracy labels: TSC's below its point, rate's above, so they never overlap. */
function eqLabels(eq: readonly { coding: string }[], x: object, y: object): object[] {
  return CODINGS.filter((c) => eq.some((e) => e.coding === c)).map((c) => ({
    data: { values: eq.filter((e) => e.coding === c) },
    mark: { type: "text", dy: c === "tsc" ? 18 : -16, fontSize: 10, fontWeight: "bold" },
    encoding: { x, y, text: { field: "label" } },
  }));
}

/**
 * The layers both sweep charts share: one line per coding of `value` (accuracy in % or additions) against
 * T on a log2 axis, and each coding's equal-accuracy point as a diamond with its label.
 */
function sweepLayers(series: readonly SweepSeries[], value: (p: SweepSeries["points"][number]) => number | undefined, y: object, label: (s: SweepSeries, v: number) => string): { layers: object[]; windows: number[] } {
  const windows = sweepWindows(series);
  const x = { field: "window", type: "quantitative" as const, scale: { type: "log" as const, base: 2, domain: [windows[0]!, windows[windows.length - 1]!] }, axis: { values: windows, format: "d" }, title: "window T (steps)" };
  const pts = series.flatMap((s) => s.points.flatMap((p) => (value(p) !== undefined ? [{ coding: s.coding, window: p.window, value: value(p)! }] : [])));
  const eq = series.flatMap((s) => {
    const p = s.points.find((q) => q.window === s.equal);
    const v = p ? value(p) : undefined;
    return v !== undefined ? [{ coding: s.coding, window: s.equal!, value: v, label: label(s, v) }] : [];
  });
  const yv = { field: "value", ...y };
  const color = { field: "coding", type: "nominal", scale: codingColors(series), title: "coding" };
  return {
    windows,
    layers: [
      { data: { values: pts }, mark: { type: "line", point: true }, encoding: { x, y: yv, color } },
      { data: { values: eq }, mark: { type: "point", shape: "diamond", filled: true, size: 220, stroke: "black", strokeWidth: 1 }, encoding: { x, y: yv, color } },
      ...eqLabels(eq, x, yv),
    ],
  };
}

/** Accuracy against T per coding, the ANN's accuracy as a rule and each coding's equal-accuracy point. */
export function sweepAccuracyChart(series: readonly SweepSeries[]): ChartSpec {
  const anns = [...new Set(series.flatMap((s) => (s.ann !== undefined ? [100 * s.ann] : [])))].map((a) => ({ ann: a, lo: a - 0.5, label: `ANN ${a.toFixed(1)}% (band: −0.5 pts)` }));
  const { layers, windows } = sweepLayers(series, (p) => (p.accuracy !== undefined ? 100 * p.accuracy : undefined), { type: "quantitative", scale: { zero: false }, title: "top-1 accuracy (%)" }, (s) => `${s.coding}: T = ${s.equal}`);
  return {
    $schema: SCHEMA,
    title: { text: "Accuracy against the window T", subtitle: "◆ equal accuracy: the first T within 0.5 points of the ANN" },
    width: 380,
    height: 240,
    layer: [
      { data: { values: anns }, mark: { type: "rect", color: "#eee" }, encoding: { y: { field: "lo", type: "quantitative" }, y2: { field: "ann" } } },
      { data: { values: anns }, mark: { type: "rule", strokeDash: [5, 3], color: "#555" }, encoding: { y: { field: "ann", type: "quantitative" } } },
      { data: { values: anns }, mark: { type: "text", align: "left", dx: 4, dy: -6, fontSize: 10, color: "#555" }, encoding: { x: { datum: windows[0]!, type: "quantitative" }, y: { field: "ann", type: "quantitative" }, text: { field: "label" } } },
      ...layers,
    ],
  } as ChartSpec;
}

/** Synaptic additions per inference against T, with the equal-accuracy points. */
export function sweepAdditionsChart(series: readonly SweepSeries[]): ChartSpec {
  const { layers } = sweepLayers(series, (p) => p.additions, { type: "quantitative", scale: { type: "log" }, axis: { format: "~s" }, title: "synaptic additions per inference" }, (s, v) => `${s.coding}: ${(v / 1e6).toFixed(2)} M at T = ${s.equal}`);
  return {
    $schema: SCHEMA,
    title: { text: "Synaptic additions against the window T", subtitle: "◆ at each coding's equal-accuracy window" },
    width: 380,
    height: 240,
    layer: layers,
  } as ChartSpec;
}

export interface CoreCell {
  readonly chip: number;
  /** Position of the core in its chip's floorplan (tiles of 2 × 2 cores). */
  readonly col: number;
  readonly row: number;
  readonly core: number;
  readonly compartments: number;
  readonly axons: number;
  readonly synapses: number;
}

const LAYER_SCHEME = "tableau20";

export interface CoreSegment {
  readonly chip: number;
  readonly core: number;
  readonly layer: string;
  /** The part of the core's floorplan square this layer fills: x0..x1 (share of compartments), y0..y1. */
  readonly x0: number;
  readonly x1: number;
  readonly y0: number;
  readonly y1: number;
}

/** Cores on each chip's floorplan, each split between its layers by their share of its compartments. */
export function coreMapChart(segments: readonly CoreSegment[], cols: number, rows: number, layerOrder: readonly string[]): ChartSpec {
  const chips = new Set(segments.map((c) => c.chip)).size;
  return {
    $schema: SCHEMA,
    title: { text: "Core map: cores on each chip, coloured by layer", subtitle: "each square is a core (tiles of 2 × 2 cores), split between its layers by their share of its compartments" },
    data: { values: segments },
    facet: { field: "chip", type: "ordinal", title: null, header: { labelExpr: "'chip ' + datum.value" } },
    columns: Math.min(chips, 4),
    spec: {
      width: cols * 24,
      height: rows * 24,
      mark: { type: "rect" },
      encoding: {
        x: { field: "x0", type: "quantitative", scale: { domain: [0, cols], nice: false, zero: false }, axis: null },
        x2: { field: "x1" },
        y: { field: "y0", type: "quantitative", scale: { domain: [0, rows], nice: false, zero: false, reverse: true }, axis: null },
        y2: { field: "y1" },
        color: { field: "layer", type: "nominal", sort: [...layerOrder], scale: { scheme: LAYER_SCHEME }, title: "layer", legend: { labelLimit: 320 } },
      },
    },
  } as ChartSpec;
}

export const RESOURCES = [
  { field: "compartments", title: "compartments" },
  { field: "axons", title: "input axons" },
  { field: "synapses", title: "synapse memory" },
] as const;

/** Utilisation of compartments, input axons and synapse memory per core, on the same floorplan. */
export function utilisationChart(cells: readonly CoreCell[], cols: number, rows: number): ChartSpec {
  const long = cells.flatMap((c) => RESOURCES.map((r) => ({ chip: `chip ${c.chip}`, col: c.col, row: c.row, resource: r.title, use: c[r.field] })));
  return {
    $schema: SCHEMA,
    title: { text: "Utilisation per core", subtitle: "used / available on the core, per resource" },
    data: { values: long },
    facet: { row: { field: "chip", type: "nominal", title: null }, column: { field: "resource", type: "nominal", title: null, sort: RESOURCES.map((r) => r.title) } },
    spec: {
      width: cols * 12,
      height: rows * 12,
      mark: { type: "rect", stroke: "white", strokeWidth: 0.5 },
      encoding: {
        x: { field: "col", type: "ordinal", scale: { domain: Array.from({ length: cols }, (_, i) => i) }, axis: null },
        y: { field: "row", type: "ordinal", scale: { domain: Array.from({ length: rows }, (_, i) => i) }, axis: null },
        color: { field: "use", type: "quantitative", scale: { domain: [0, 1], scheme: "viridis" }, legend: { format: ".0%", title: "used" } },
      },
    },
  } as ChartSpec;
}

/** Large mappings: cores per chip stacked by layer. */
export function chipLayerChart(rows: readonly { chip: number; layer: string; cores: number }[], layerOrder: readonly string[]): ChartSpec {
  return {
    $schema: SCHEMA,
    title: { text: "Core map per chip: cores of each layer", subtitle: "one bar per chip (too many cores to draw one by one); a shared core counts for its layers by their share of its compartments" },
    width: 760,
    height: 220,
    data: { values: rows },
    mark: { type: "bar" },
    encoding: {
      x: { field: "chip", type: "ordinal", title: "chip", axis: { labelOverlap: true } },
      y: { field: "cores", type: "quantitative", title: "cores", stack: true },
      color: { field: "layer", type: "nominal", sort: [...layerOrder], scale: { scheme: LAYER_SCHEME }, title: "layer", legend: { labelLimit: 320, columns: layerOrder.length > 20 ? 2 : 1 } },
      order: { field: "order", type: "quantitative" },
    },
  } as ChartSpec;
}

/** Large mappings: mean and maximum utilisation per chip, per resource. */
export function chipUtilisationChart(rows: readonly { chip: number; resource: string; stat: string; use: number }[]): ChartSpec {
  return {
    $schema: SCHEMA,
    title: { text: "Utilisation per chip", subtitle: "mean (solid) and maximum (dashed) over the chip's cores" },
    width: 760,
    height: 200,
    data: { values: rows },
    mark: { type: "line", strokeWidth: 1.2 },
    encoding: {
      x: { field: "chip", type: "quantitative", title: "chip" },
      y: { field: "use", type: "quantitative", title: "used / available", axis: { format: ".0%" }, scale: { domain: [0, 1] } },
      color: { field: "resource", type: "nominal", sort: RESOURCES.map((r) => r.title), title: "resource" },
      strokeDash: { field: "stat", type: "nominal", scale: { domain: ["mean", "max"], range: [[1, 0], [4, 3]] }, title: null },
    },
  } as ChartSpec;
}

/** Messages between cores (or core ranges / chips) as a heat map. */
export function trafficChart(cells: readonly { src: string; dst: string; messages: number; srcOrder: number; dstOrder: number }[], unit: string, note: string): ChartSpec {
  const size = new Set([...cells.map((c) => c.src), ...cells.map((c) => c.dst)]).size;
  const px = Math.max(360, Math.min(620, size * 6));
  return {
    $schema: SCHEMA,
    title: { text: `Traffic between ${unit}s: messages per inference`, subtitle: note },
    width: px,
    height: px,
    data: { values: cells },
    mark: { type: "rect" },
    encoding: {
      x: { field: "dst", type: "ordinal", sort: { field: "dstOrder" }, title: `destination ${unit}`, axis: { labelOverlap: true, labelFontSize: 8 } },
      y: { field: "src", type: "ordinal", sort: { field: "srcOrder" }, title: `source ${unit}`, axis: { labelOverlap: true, labelFontSize: 8 } },
      color: { field: "messages", type: "quantitative", scale: { type: "log", scheme: { name: "inferno", extent: [0.85, 0.05] } }, title: "messages", legend: { format: "~s" } },
    },
  } as ChartSpec;
}

/** Cores used against the capacity lower bound and its tightened form, per compatibility class. */
export function boundChart(rows: readonly { cls: string; measure: string; cores: number }[]): ChartSpec {
  const measures = ["mapped", "tightened bound", "capacity bound"];
  return {
    $schema: SCHEMA,
    title: { text: "Cores against the lower bound", subtitle: "per compatibility class and in total" },
    width: { step: 26 },
    height: 220,
    data: { values: rows },
    mark: { type: "bar" },
    encoding: {
      x: { field: "cls", type: "nominal", title: null, sort: null, axis: { labelAngle: 0 } },
      xOffset: { field: "measure", type: "nominal", sort: measures },
      y: { field: "cores", type: "quantitative", title: "cores" },
      color: { field: "measure", type: "nominal", sort: measures, scale: { domain: measures, range: ["#1f77b4", "#aec7e8", "#c7c7c7"] }, title: null },
    },
  } as ChartSpec;
}
