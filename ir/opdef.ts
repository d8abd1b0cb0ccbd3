/**
 * Declarative op definitions (in the spirit of MLIR's ODS and hls4ml's expected attributes). The
 * verifier, the text parser, `tscc ops` and the JSON reader all read these tables.
 */
import type { AttrValue, Attrs } from "./module.js";
import type { SymVec } from "./shape-eval.js";
import type { Type } from "./types.js";

export type AttrKind = "int" | "float" | "bool" | "str" | "ints" | "floats" | "strs" | "enum";

export interface AttrDef {
  readonly kind: AttrKind;
  /** Filled in when the attribute is absent; an attribute without a default is required. */
  readonly default?: AttrValue;
  readonly choices?: readonly string[];
  readonly doc: string;
}

export interface OperandDef {
  readonly name: string;
  /** What flows into this operand. */
  readonly type: "tensor" | "spikes" | "any";
  readonly optional?: boolean;
  /** Accepts any number (≥ 1) of values; only the last operand may be variadic. */
  readonly variadic?: boolean;
  /** Must be a module constant (weights, biases, shape vectors). */
  readonly constant?: boolean;
  readonly doc?: string;
}

export interface ResultDef {
  readonly name: string;
  readonly type: "tensor" | "spikes";
}

/** Raised by `infer` for operand types or attributes that make no sense; becomes a TSCC diagnostic. */
export class ShapeError extends Error {}

export interface InferContext {
  readonly operands: readonly Type[];
  readonly attrs: Readonly<Attrs>;
  /** Value of operand i when it is known at compile time (constants and shape chains), flattened. */
  value(i: number): SymVec | undefined;
}

export interface OpDef {
  /** Dialect-prefixed lower_snake name: `nn.conv`, `snn.tsc`, `loihi.core`. */
  readonly name: string;
  readonly summary: string;
  readonly operands: readonly OperandDef[];
  readonly results: readonly ResultDef[];
  readonly attrs: Readonly<Record<string, AttrDef>>;
  /** Ops with side effects are never removed as dead code. */
  readonly sideEffects?: boolean;
  /** Result types from operand types and attributes; throws ShapeError on invalid input. */
  infer(ctx: InferContext): Type[];
  /** Extra checks beyond operand/attribute/type agreement; return messages for each problem. */
  verify?(ctx: InferContext): string[];
}

export function defineOp(def: OpDef): OpDef {
  return def;
}

/** A per-compilation table of op definitions: no globals, so tests and plugins cannot leak into each other. */
export class OpRegistry {
  private readonly defs = new Map<string, OpDef>();
  constructor(defs: Iterable<OpDef> = []) {
    for (const d of defs) this.register(d);
  }

  register(def: OpDef): void {
    if (this.defs.has(def.name)) throw new Error(`op '${def.name}' is already registered`);
    this.defs.set(def.name, def);
  }

  get(name: string): OpDef | undefined {
    return this.defs.get(name);
  }

  has(name: string): boolean {
    return this.defs.has(name);
  }

  all(): OpDef[] {
    return [...this.defs.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

/**
 * A dialect-prefixed attribute such as `loihi.cores` (MLIR's "discardable" attributes): any op may carry
 * it, the op definition does not check it, and passes that do not know the dialect leave it alone.
 * Backends use them to annotate ops with their results (placements, quantisation exponents).
 */
export function isDiscardableAttr(key: string): boolean {
  return /^[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_.]*$/.test(key);
}

/** Fill defaults and check kinds; returns problems as messages. */
export function checkAttrs(def: OpDef, attrs: Attrs): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(attrs)) {
    if (!(key in def.attrs) && !isDiscardableAttr(key)) problems.push(`unknown attribute '${key}'`);
  }
  for (const [key, a] of Object.entries(def.attrs)) {
    const v = attrs[key];
    if (v === undefined) {
      if (a.default === undefined) problems.push(`missing attribute '${key}'`);
      continue;
    }
    const bad = (what: string): void => {
      problems.push(`attribute '${key}' must be ${what}`);
    };
    switch (a.kind) {
      case "int":
        if (typeof v !== "number" || !Number.isInteger(v)) bad("an integer");
        break;
      case "float":
        if (typeof v !== "number") bad("a number");
        break;
      case "bool":
        if (typeof v !== "boolean") bad("true or false");
        break;
      case "str":
        if (typeof v !== "string") bad("a string");
        break;
      case "enum":
        if (typeof v !== "string" || !a.choices!.includes(v)) bad(`one of ${a.choices!.map((c) => `"${c}"`).join(", ")}`);
        break;
      case "ints":
        if (!Array.isArray(v) || !v.every((x) => typeof x === "number" && Number.isInteger(x))) bad("a list of integers");
        break;
      case "floats":
        if (!Array.isArray(v) || !v.every((x) => typeof x === "number")) bad("a list of numbers");
        break;
      case "strs":
        if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) bad("a list of strings");
        break;
    }
  }
  return problems;
}

export function withDefaults(def: OpDef, attrs: Attrs): Attrs {
  const out: Attrs = {};
  for (const [key, a] of Object.entries(def.attrs)) {
    const v = attrs[key] ?? a.default;
    if (v !== undefined) out[key] = v;
  }
  for (const [key, v] of Object.entries(attrs)) if (!(key in out)) out[key] = v;
  return out;
}
