/**
 * Passes and the pass manager. Pipelines are text (`fold-batchnorm,normalize-thresholds{percentile=99.9}`)
 * that prints back identically; the manager validates the whole pipeline before running anything,
 * verifies the IR after every pass, and reports through instrumentation hooks (dumps, timing).
 */
import { DiagnosticBag, fmt, isTsccError, TsccError, type DiagnosticSink } from "./diagnostics/diagnostic.js";
import { M } from "./diagnostics/messages.js";
import type { Module } from "./module.js";
import type { OpRegistry } from "./opdef.js";
import { verifyModule } from "./verifier.js";

export type OptionValue = number | string | boolean;

export interface OptionDef {
  readonly kind: "int" | "float" | "bool" | "str" | "enum";
  readonly default?: OptionValue;
  readonly choices?: readonly string[];
  readonly doc: string;
}

export type OptionSchema = Readonly<Record<string, OptionDef>>;
export type PassOptions = Readonly<Record<string, OptionValue>>;

export interface Logger {
  info(msg: string): void;
  /** Progress of long work; implementations draw a bar on a TTY and stay silent elsewhere. */
  progress(label: string, done: number, total: number): void;
}

export const silentLogger: Logger = { info() {}, progress() {} };

/**
 * Let the event loop turn between chunks of long synchronous work (calibration batches, engine chunks,
 * passes), so timers and signal handlers run: Ctrl-C then stops the work within one chunk.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface PassContext {
  readonly options: PassOptions;
  readonly diag: DiagnosticSink;
  readonly ops: OpRegistry;
  readonly log: Logger;
  /** Free-form compile inputs a pass may need that are not pass options (e.g. loaded calibration data). */
  readonly inputs: Readonly<Record<string, unknown>>;
}

export interface PassResult {
  changed: boolean;
}

export interface Pass {
  /** kebab-case name used in pipelines; backend passes are prefixed: `loihi:partition`. */
  readonly name: string;
  readonly summary: string;
  readonly options?: OptionSchema;
  /** Capabilities an earlier pass (or the module's `provides` attribute) must have established. */
  readonly requires?: readonly string[];
  readonly provides?: readonly string[];
  run(m: Module, ctx: PassContext): PassResult | Promise<PassResult>;
}

export function definePass(p: Pass): Pass {
  return p;
}

export interface PipelineEntry {
  readonly pass: Pass;
  /** Options exactly as given in the pipeline (defaults are not listed, so printing is canonical). */
  readonly given: PassOptions;
}

export interface PassInstrumentation {
  beforePass?(pass: Pass, m: Module, index: number): void;
  afterPass?(pass: Pass, m: Module, result: PassResult, index: number, ms: number): void;
  afterPassFailed?(pass: Pass, m: Module, index: number): void;
}

/** A pass threw something that is not a user diagnostic: a bug in tscc, with what is needed to reproduce it. */
export class InternalPassError extends Error {
  constructor(
    readonly passName: string,
    override readonly cause: unknown,
    /** The IR as it was before the failing pass (printed by the driver into a reproducer). */
    readonly moduleBefore: Module,
    readonly pipelineText: string,
  ) {
    super(`pass '${passName}' failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "InternalPassError";
  }
}

export class PassRegistry {
  private readonly passes = new Map<string, Pass>();
  private readonly aliases = new Map<string, string>();

  register(p: Pass): void {
    if (this.passes.has(p.name) || this.aliases.has(p.name)) throw new TsccError(fmt(M.NameCollision, ["pass", p.name, ""]));
    this.passes.set(p.name, p);
  }

  /** A name that expands to a pipeline, such as `canonicalize`. */
  registerAlias(name: string, pipeline: string, summary: string): void {
    if (this.passes.has(name) || this.aliases.has(name)) throw new TsccError(fmt(M.NameCollision, ["pass", name, ""]));
    this.aliases.set(name, pipeline);
    this.aliasSummaries.set(name, summary);
  }

  readonly aliasSummaries = new Map<string, string>();

  get(name: string): Pass | undefined {
    return this.passes.get(name);
  }

  alias(name: string): string | undefined {
    return this.aliases.get(name);
  }

  all(): Pass[] {
    return [...this.passes.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  allAliases(): [string, string][] {
    return [...this.aliases.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }
}

// ---------------------------------------------------------------------------------------------------
// Pipeline text

function formatOptionValue(v: OptionValue): string {
  if (typeof v === "string") return /^[A-Za-z0-9_./+-]+$/.test(v) ? v : JSON.stringify(v);
  return String(v);
}

export function printPipeline(entries: readonly PipelineEntry[]): string {
  return entries
    .map((e) => {
      const keys = Object.keys(e.given).sort();
      return keys.length ? `${e.pass.name}{${keys.map((k) => `${k}=${formatOptionValue(e.given[k]!)}`).join(",")}}` : e.pass.name;
    })
    .join(",");
}

interface RawEntry {
  name: string;
  options: [string, string, boolean][];
}

function splitPipeline(text: string): RawEntry[] {
  const bad = (msg: string): never => {
    throw new TsccError(fmt(M.PipelineSyntax, [text, msg]));
  };
  const out: RawEntry[] = [];
  let i = 0;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  ws();
  if (i >= text.length) return out;
  for (;;) {
    ws();
    const m = /^[A-Za-z0-9_:-]+/.exec(text.slice(i)) ?? bad(`expected a pass name at position ${i}`);
    const entry: RawEntry = { name: m[0], options: [] };
    i += m[0].length;
    ws();
    if (text[i] === "{") {
      i++;
      ws();
      while (text[i] !== "}") {
        const k = /^[A-Za-z0-9_-]+/.exec(text.slice(i)) ?? bad(`expected an option name at position ${i}`);
        i += k[0].length;
        ws();
        if (text[i] !== "=") bad(`expected '=' after option '${k[0]}'`);
        i++;
        ws();
        let value: string;
        let quoted = false;
        if (text[i] === '"') {
          let j = i + 1;
          while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
          try {
            value = JSON.parse(text.slice(i, j + 1)) as string;
          } catch {
            return bad("unterminated string");
          }
          quoted = true;
          i = j + 1;
        } else {
          const v = /^[^,}\s]+/.exec(text.slice(i)) ?? bad(`expected a value for option '${k[0]}'`);
          value = v[0];
          i += value.length;
        }
        entry.options.push([k[0], value, quoted]);
        ws();
        if (text[i] === ",") {
          i++;
          ws();
        } else if (text[i] !== "}") bad(`expected ',' or '}' at position ${i}`);
      }
      i++;
    }
    out.push(entry);
    ws();
    if (i >= text.length) return out;
    if (text[i] !== ",") bad(`expected ',' at position ${i}`);
    i++;
  }
}

function convertOption(pass: Pass, key: string, raw: string, quoted: boolean): OptionValue {
  return convertOptionValue(pass.name, pass.options, key, raw, quoted);
}

/** Convert option text (from a pipeline or `-O key=value`) to its declared kind; TSCC3002 on error. */
export function convertOptionValue(owner: string, schema: OptionSchema | undefined, key: string, raw: string, quoted = false): OptionValue {
  const def = schema?.[key];
  const bad = (msg: string): never => {
    throw new TsccError(fmt(M.BadPassOption, [owner, msg]));
  };
  if (!def) {
    const known = Object.keys(schema ?? {});
    return bad(`unknown option '${key}'${known.length ? ` (options: ${known.join(", ")})` : " (it takes no options)"}`);
  }
  switch (def.kind) {
    case "int": {
      if (quoted || !/^-?\d+$/.test(raw)) bad(`option '${key}' must be an integer, got '${raw}'`);
      return Number(raw);
    }
    case "float": {
      const n = Number(raw);
      if (quoted || raw === "" || !Number.isFinite(n)) bad(`option '${key}' must be a number, got '${raw}'`);
      return n;
    }
    case "bool":
      if (raw === "true" || raw === "1") return true;
      if (raw === "false" || raw === "0") return false;
      return bad(`option '${key}' must be true or false, got '${raw}'`);
    case "enum":
      if (!def.choices!.includes(raw)) bad(`option '${key}' must be one of ${def.choices!.join(", ")}, got '${raw}'`);
      return raw;
    case "str":
      return raw;
  }
}

/** Defaults merged with given options. */
export function resolveOptions(pass: Pass, given: PassOptions): PassOptions {
  const out: Record<string, OptionValue> = {};
  for (const [k, d] of Object.entries(pass.options ?? {})) if (d.default !== undefined) out[k] = d.default;
  return { ...out, ...given };
}

export interface RunResult {
  changed: boolean;
  timings: { pass: string; ms: number; changed: boolean }[];
}

export class PassManager {
  private readonly instruments: PassInstrumentation[] = [];
  constructor(
    readonly passes: PassRegistry,
    readonly opts: { verifyEach?: boolean } = {},
  ) {}

  addInstrumentation(i: PassInstrumentation): void {
    this.instruments.push(i);
  }

  /** Parse and validate a pipeline: unknown passes and bad options are all reported at once. */
  parse(text: string, depth = 0): PipelineEntry[] {
    const bag = new DiagnosticBag();
    const entries: PipelineEntry[] = [];
    for (const raw of splitPipeline(text)) {
      const alias = this.passes.alias(raw.name);
      if (alias !== undefined && depth < 8) {
        if (raw.options.length) bag.report(fmt(M.BadPassOption, [raw.name, "a pipeline alias takes no options"]));
        else entries.push(...this.parse(alias, depth + 1));
        continue;
      }
      const pass = this.passes.get(raw.name);
      if (!pass) {
        const names = [...this.passes.all().map((p) => p.name), ...this.passes.allAliases().map(([n]) => n)].sort();
        bag.report(fmt(M.UnknownPass, [raw.name], { hint: `registered passes: ${names.join(", ")}` }));
        continue;
      }
      const given: Record<string, OptionValue> = {};
      for (const [k, v, q] of raw.options) {
        try {
          given[k] = convertOption(pass, k, v, q);
        } catch (e) {
          if (isTsccError(e)) e.diagnostics.forEach((d) => bag.report(d));
          else throw e;
        }
      }
      entries.push({ pass, given });
    }
    bag.throwIfErrors();
    return entries;
  }

  /** Check `requires` against earlier passes and the capabilities the module already records. */
  checkRequires(entries: readonly PipelineEntry[], m: Module): void {
    const have = new Set<string>((m.attrs["provides"] as readonly string[] | undefined) ?? []);
    const bag = new DiagnosticBag();
    for (const e of entries) {
      for (const r of e.pass.requires ?? []) if (!have.has(r)) bag.report(fmt(M.PassRequires, [e.pass.name, `'${r}'`]));
      for (const p of e.pass.provides ?? []) have.add(p);
    }
    bag.throwIfErrors();
  }

  async run(
    entries: readonly PipelineEntry[],
    m: Module,
    base: Omit<PassContext, "options" | "diag"> & { diag?: DiagnosticBag },
  ): Promise<RunResult> {
    this.checkRequires(entries, m);
    const result: RunResult = { changed: false, timings: [] };
    const pipelineText = printPipeline(entries);
    for (let index = 0; index < entries.length; index++) {
      const { pass, given } = entries[index]!;
      base.log.progress(`pass ${pass.name}`, index, entries.length);
      await yieldToEventLoop();
      for (const i of this.instruments) i.beforePass?.(pass, m, index);
      const before = m.clone();
      const diag = new DiagnosticBag();
      const t0 = performance.now();
      let r: PassResult;
      try {
        r = await pass.run(m, { ...base, options: resolveOptions(pass, given), diag });
      } catch (e) {
        for (const i of this.instruments) i.afterPassFailed?.(pass, m, index);
        if (isTsccError(e)) throw e;
        throw new InternalPassError(pass.name, e, before, pipelineText);
      }
      const ms = performance.now() - t0;
      diag.items.forEach((d) => base.diag?.report(d));
      if (diag.hasErrors) {
        for (const i of this.instruments) i.afterPassFailed?.(pass, m, index);
        throw new TsccError(diag.items);
      }
      if (pass.provides?.length) {
        const have = new Set<string>((m.attrs["provides"] as readonly string[] | undefined) ?? []);
        pass.provides.forEach((p) => have.add(p));
        m.attrs["provides"] = [...have].sort();
      }
      if (this.opts.verifyEach !== false) {
        const problems = verifyModule(m);
        if (problems.length) {
          for (const i of this.instruments) i.afterPassFailed?.(pass, m, index);
          throw new InternalPassError(pass.name, new Error(`the IR is invalid after the pass:\n${problems.map((p) => p.message).join("\n")}`), before, pipelineText);
        }
      }
      result.changed ||= r.changed;
      result.timings.push({ pass: pass.name, ms, changed: r.changed });
      for (const i of this.instruments) i.afterPass?.(pass, m, r, index, ms);
    }
    if (entries.length) base.log.progress("passes", entries.length, entries.length);
    return result;
  }
}
