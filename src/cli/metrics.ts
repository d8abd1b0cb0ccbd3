/** The metric tables `tscc run` and `tscc merge` print: scalar metrics, nested groups and the per-layer counts. */
import { formatNumber, table } from "./ui.js";

export function metricsText(metrics: Readonly<Record<string, unknown>>): string {
  let out = "";
  const mrows = Object.entries(metrics)
    .filter(([, v]) => typeof v === "number" || typeof v === "string")
    .map(([k, v]) => [k, typeof v === "number" ? formatNumber(v) : String(v)]);
  if (mrows.length) out += table(["metric", "value"], mrows, ["l", "r"]);
  // Nested numbers (an engine cross-check) and the per-layer breakdown, when the backend gives them
  // (a window sweep has its own table, printed by `tscc run`).
  for (const [k, v] of Object.entries(metrics)) {
    if (v && typeof v === "object" && !Array.isArray(v) && k !== "sweep") {
      out += `\n${k}:\n` + table(["", "value"], Object.entries(v as Record<string, unknown>).map(([a, b]) => [a, typeof b === "number" ? formatNumber(b) : String(b)]), ["l", "r"]);
    }
  }
  const layers = metrics["layers"];
  if (Array.isArray(layers) && layers.length) {
    const cols = ["synaptic_additions", "neuron_updates", "spikes"];
    const lrows = (layers as Record<string, unknown>[])
      .filter((l) => cols.some((c) => (l[c] as number) > 0))
      .map((l) => [String(l["node"]), String(l["kind"]), String(l["name"] ?? ""), ...cols.map((c) => formatNumber(l[c] as number))]);
    out += "\nper layer, per inference:\n" + table(["#", "layer", "from", "synaptic adds", "neuron updates", "spikes"], lrows, ["r", "l", "l", "r", "r", "r"]);
  }
  return out;
}
