/**
 * Figures to static SVG (and PNG): Vega-Lite specs compiled with vega-lite and rendered headless by
 * vega's View (`toSVG`, no browser, no canvas); Graphviz DOT with @hpcc-js/wasm-graphviz; SVG to PNG with
 * @resvg/resvg-js. Every id inside a figure is renamed with the figure's own prefix, so figures can share
 * one HTML page and the output does not depend on what else the process rendered before.
 */
import type { TopLevelSpec } from "vega-lite";

export type ChartSpec = TopLevelSpec;

/** Shared look of every chart. */
const CONFIG = {
  font: "DejaVu Sans, Liberation Sans, Arial, sans-serif",
  background: "white",
  padding: 6,
  view: { stroke: "#ddd" },
  axis: { labelFontSize: 10, titleFontSize: 11, titleFontWeight: "normal", gridColor: "#eee" },
  axisY: { minExtent: 42 },
  legend: { labelFontSize: 10, titleFontSize: 11, titleFontWeight: "normal" },
  title: { fontSize: 12, fontWeight: "normal", anchor: "start" },
  header: { labelFontSize: 11, titleFontSize: 11 },
} as const;

/** Rename every id="x" (and its url(#x) / href="#x" uses) to prefix-1, prefix-2, … in order of appearance. */
export function scopeIds(svg: string, prefix: string): string {
  const ids = new Map<string, string>();
  for (const m of svg.matchAll(/\sid="([^"]+)"/g)) if (!ids.has(m[1]!)) ids.set(m[1]!, `${prefix}-${ids.size + 1}`);
  if (ids.size === 0) return svg;
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const alt = [...ids.keys()].sort((a, b) => b.length - a.length).map(esc).join("|");
  return svg
    .replace(new RegExp(`(\\sid=")(${alt})(")`, "g"), (_, a: string, id: string, b: string) => a + ids.get(id)! + b)
    .replace(new RegExp(`(url\\(#)(${alt})(\\))`, "g"), (_, a: string, id: string, b: string) => a + ids.get(id)! + b)
    .replace(new RegExp(`((?:xlink:)?href="#)(${alt})(")`, "g"), (_, a: string, id: string, b: string) => a + ids.get(id)! + b);
}

/** A Vega-Lite chart as a standalone SVG document. */
export async function chartSvg(spec: ChartSpec, prefix: string): Promise<string> {
  const vl = await import("vega-lite");
  const vega = await import("vega");
  const config = { ...CONFIG, ...(spec.config ?? {}) };
  const compiled = vl.compile({ ...spec, config } as ChartSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none", logLevel: vega.Error });
  try {
    return scopeIds(await view.toSVG(), prefix);
  } finally {
    view.finalize();
  }
}

/** Graphviz DOT as an SVG element (XML prolog, doctype and comments dropped). */
export async function dotSvg(dot: string, prefix: string): Promise<string> {
  const { dotToSvg } = await import("../cli/graph.js");
  const svg = (await dotToSvg(dot)).replace(/<\?xml[^>]*>\s*/g, "").replace(/<!DOCTYPE[^>]*>\s*/g, "").replace(/<!--[\s\S]*?-->\s*/g, "");
  return scopeIds(svg.trim(), prefix);
}

/** An SVG document rasterised at `zoom`× its size (system fonts, sans-serif as DejaVu Sans). */
export async function svgToPng(svg: string, zoom = 2): Promise<Uint8Array> {
  const { Resvg } = await import("@resvg/resvg-js");
  const r = new Resvg(svg, { fitTo: { mode: "zoom", value: zoom }, background: "white", font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" } });
  return r.render().asPng();
}
