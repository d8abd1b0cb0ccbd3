/**
 * Per-layer windows as the user gives them (`--layer-windows`, the `windows` option of insert-tsc-encoding):
 * inline `layer=T,layer=T` (or `;`-separated), or a JSON file — `{"windows": {"layer": T, …}}` as
 * `tscc tune` writes it, or the bare map. A layer is its ONNX node name (the model input's name for the
 * encoder) or `#k`, its position among the neuron populations (`#0` is the encoder).
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

export class WindowsSpecError extends Error {}

/** The largest window the emulator's engines accept (intervals are recorded as Uint16). */
export const MAX_WINDOW = 65535;

function checked(key: string, v: unknown, where: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_WINDOW) throw new WindowsSpecError(`${where}: window of '${key}' must be an integer in [1, ${MAX_WINDOW}], got ${JSON.stringify(v)}`);
  return v;
}

/** Parse a windows spec; `cwd` resolves a file name. An empty spec gives an empty map. */
export function parseWindows(spec: string, cwd: string): Map<string, number> {
  const out = new Map<string, number>();
  const text = spec.trim();
  if (!text) return out;
  const file = resolve(cwd, text);
  if (text.endsWith(".json") || (!text.includes("=") && existsSync(file))) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      throw new WindowsSpecError(`cannot read windows file '${text}': ${(e as Error).message}`);
    }
    const map = json && typeof json === "object" && "windows" in json ? (json as { windows: unknown }).windows : json;
    if (!map || typeof map !== "object" || Array.isArray(map)) throw new WindowsSpecError(`windows file '${text}' must hold an object of layer → window (or {"windows": {...}})`);
    for (const [k, v] of Object.entries(map as Record<string, unknown>)) out.set(k, checked(k, v, `windows file '${text}'`));
    return out;
  }
  for (const part of text.split(/[;,]/)) {
    const item = part.trim();
    if (!item) continue;
    const i = item.lastIndexOf("=");
    if (i <= 0) throw new WindowsSpecError(`windows: expected layer=T, got '${item}'`);
    const key = item.slice(0, i).trim();
    const v = Number(item.slice(i + 1).trim());
    if (out.has(key)) throw new WindowsSpecError(`windows: layer '${key}' given twice`);
    out.set(key, checked(key, v, "windows"));
  }
  return out;
}
