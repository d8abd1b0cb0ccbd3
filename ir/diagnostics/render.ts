import { describeLoc } from "../location.js";
import type { Diagnostic } from "./diagnostic.js";

/**
 * One line per diagnostic, then indented notes and hint:
 * `model.onnx: node #7 'pool1' (MaxPool): error TSCC1001: Unsupported ONNX operator ...`
 */
export function renderDiagnostic(d: Diagnostic): string {
  const where = [d.file, d.loc ? describeLoc(d.loc) : ""].filter((s) => s !== undefined && s !== "").join(": ");
  const lines = [`${where ? where + ": " : ""}${d.severity} TSCC${d.code}: ${d.message}`];
  for (const n of d.notes ?? []) lines.push(`  note: ${n}`);
  if (d.hint) lines.push(`  hint: ${d.hint}`);
  return lines.join("\n");
}

export function renderDiagnostics(ds: readonly Diagnostic[]): string {
  return ds.map(renderDiagnostic).join("\n");
}

/** Machine-readable form for `--diagnostics=json`. */
export function diagnosticsToJson(ds: readonly Diagnostic[]): object[] {
  return ds.map((d) => ({
    code: `TSCC${d.code}`,
    severity: d.severity,
    message: d.message,
    ...(d.file !== undefined ? { file: d.file } : {}),
    ...(d.loc !== undefined && d.loc.kind !== "unknown" ? { loc: d.loc } : {}),
    ...(d.notes?.length ? { notes: d.notes } : {}),
    ...(d.hint !== undefined ? { hint: d.hint } : {}),
  }));
}
