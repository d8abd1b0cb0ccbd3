import { describeLoc, type Loc } from "../location.js";
import type { Message } from "./messages.js";

export type Severity = "error" | "warning" | "note" | "remark";

export interface Diagnostic {
  readonly code: number;
  readonly severity: Severity;
  readonly message: string;
  /** The file the diagnostic is about (an .onnx, .tir or .npy path as the user gave it). */
  readonly file?: string;
  readonly loc?: Loc;
  readonly notes?: readonly string[];
  readonly hint?: string;
}

/** Fill a message template: `{0}`, `{1}`, ... */
export function fmt(
  m: Message,
  args: readonly (string | number)[],
  extra: { loc?: Loc; file?: string; hint?: string; notes?: string[] } = {},
): Diagnostic {
  const message = m.text.replace(/\{(\d+)\}/g, (_, i: string) => {
    const v = args[Number(i)];
    return v === undefined ? `{${i}}` : String(v);
  });
  return { code: m.code, severity: m.severity, message, ...extra };
}

export interface DiagnosticSink {
  report(d: Diagnostic): void;
  readonly hasErrors: boolean;
}

/** Collects diagnostics, dropping exact duplicates (same code, location and text). */
export class DiagnosticBag implements DiagnosticSink {
  readonly items: Diagnostic[] = [];
  private readonly keys = new Set<string>();
  constructor(private readonly defaultFile?: string) {}

  report(d: Diagnostic): void {
    const withFile = d.file === undefined && this.defaultFile !== undefined ? { ...d, file: this.defaultFile } : d;
    const key = `${withFile.code}|${withFile.file ?? ""}|${withFile.loc ? describeLoc(withFile.loc) : ""}|${withFile.message}`;
    if (this.keys.has(key)) return;
    this.keys.add(key);
    this.items.push(withFile);
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === "error");
  }

  get errors(): Diagnostic[] {
    return this.items.filter((d) => d.severity === "error");
  }

  /** Throw a {@link TsccError} carrying every diagnostic if any error was reported. */
  throwIfErrors(): void {
    if (this.hasErrors) throw new TsccError(this.items);
  }
}

/**
 * A user-facing failure: one or more diagnostics that the CLI renders and turns into exit code 1.
 * Anything else thrown is an internal error (exit code 2).
 */
export class TsccError extends Error {
  readonly diagnostics: readonly Diagnostic[];
  constructor(diagnostics: readonly Diagnostic[] | Diagnostic) {
    const list = Array.isArray(diagnostics) ? diagnostics : [diagnostics as Diagnostic];
    super(list.map((d) => `TSCC${d.code}: ${d.message}`).join("\n"));
    this.name = "TsccError";
    this.diagnostics = list;
  }
}

export function isTsccError(e: unknown): e is TsccError {
  return e instanceof TsccError;
}

/** Throw a single diagnostic. */
export function fail(
  m: Message,
  args: readonly (string | number)[],
  extra: { loc?: Loc; file?: string; hint?: string; notes?: string[] } = {},
): never {
  throw new TsccError(fmt(m, args, extra));
}
