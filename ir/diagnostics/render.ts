import { describeLoc } from "../location.js";
import type { Diagnostic } from "./diagnostic.js";

/**
 * Control characters and line separators as escapes (`\n`, `\u0007`): text taken from an input file
 * (a node name, a corrupt JSON excerpt) cannot break a diagnostic over several lines or drive the
 * terminal.
 */
export function escapeControls(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

/**
 * One line per diagnostic, then indented notes and hint:
 * `model.onnx: node #7 'pool1' (MaxPool): error TSCC1001: Unsupported ONNX operator ...`
 */
export function renderDiagnostic(d: Diagnostic): string {
  const where = [d.file, d.loc ? describeLoc(d.loc) : ""].filter((s) => s !== undefined && s !== "").join(": ");
  const lines = [escapeControls(`${where ? where + ": " : ""}${d.severity} TSCC${d.code}: ${d.message}`)];
  for (const n of d.notes ?? []) lines.push(`  note: ${escapeControls(n)}`);
  if (d.hint) lines.push(`  hint: ${escapeControls(d.hint)}`);
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
