/**
 * IR invariants, checked after every pass: SSA with one definition per value, topological order,
 * operand counts and kinds, attributes against the op definition, recorded result types equal to the
 * inferred ones, and constants where the op definition requires them.
 */
import { inferResultTypes } from "./builder.js";
import { fmt, type Diagnostic } from "./diagnostics/diagnostic.js";
import { M } from "./diagnostics/messages.js";
import type { Module, Op, Value } from "./module.js";
import type { Loc } from "./location.js";
import { checkAttrs, ShapeError } from "./opdef.js";
import type { SymVec } from "./shape-eval.js";
import { BATCH, formatType, typeEquals } from "./types.js";

export interface VerifyOptions {
  /** Dialects whose ops are not allowed (for example `["nn"]` after lowering to spikes). */
  forbidDialects?: readonly string[];
  /** Text positions of parsed ops: diagnostics point at file:line:col instead of the op's origin. */
  positions?: ReadonlyMap<Op, Loc>;
}

/** Module attributes that passes and backends read, with the kind of value each must hold. */
const MODULE_ATTRS: Readonly<Record<string, "string" | "strings" | "number" | "numbers" | "bool">> = {
  provides: "strings",
  weights_file: "string",
  source: "string",
  producer: "string",
  coding: "string",
  window: "number",
  input_scale: "number",
  input_mean: "numbers",
  input_std: "numbers",
  softmax_removed: "bool",
};

function attrKindOk(v: unknown, kind: (typeof MODULE_ATTRS)[string]): boolean {
  switch (kind) {
    case "string":
      return typeof v === "string";
    case "number":
      return typeof v === "number";
    case "bool":
      return typeof v === "boolean";
    case "strings":
      return Array.isArray(v) && v.every((x) => typeof x === "string");
    case "numbers":
      return Array.isArray(v) && v.every((x) => typeof x === "number");
  }
}

export function verifyModule(m: Module, opts: VerifyOptions = {}): Diagnostic[] {
  const out: Diagnostic[] = [];
  const defined = new Set<Value>();
  const err = (msg: string, loc?: Diagnostic["loc"]): void => {
    out.push(fmt(M.VerifyError, [msg], loc ? { loc } : {}));
  };
  for (const [k, kind] of Object.entries(MODULE_ATTRS)) {
    if (k in m.attrs && !attrKindOk(m.attrs[k], kind)) err(`module attribute '${k}' must be ${kind === "strings" || kind === "numbers" ? `a list of ${kind}` : `a ${kind}`}, got ${JSON.stringify(m.attrs[k])}`);
  }
  for (const [name, c] of m.consts) {
    if (c.name !== name) err(`constant '${c.name}' is registered as '${name}'`);
    defined.add(c.value);
  }
  const inputNames = new Set<string>();
  for (const i of m.inputs) {
    if (inputNames.has(i.name)) err(`duplicate input name '${i.name}'`);
    inputNames.add(i.name);
    if (i.value.type.shape.slice(1).includes(BATCH)) err(`input '${i.name}': only the leading dimension may be the batch`);
    defined.add(i.value);
  }
  const cache = new Map<Value, SymVec | undefined>();
  m.ops.forEach((op, index) => {
    const where = `op #${index} ${op.name}`;
    const loc = opts.positions?.get(op) ?? op.loc;
    const dialect = op.name.split(".")[0]!;
    if (opts.forbidDialects?.includes(dialect)) err(`${where}: '${dialect}' ops are not allowed at this point of the pipeline`, loc);
    const def = op.def;
    const required = def.operands.filter((o) => !o.optional && !o.variadic).length;
    const variadic = def.operands.some((o) => o.variadic);
    if (op.operands.length < required + (variadic ? 1 : 0) || (!variadic && op.operands.length > def.operands.length)) {
      err(`${where}: ${op.operands.length} operands, expected ${variadic ? "at least " + (required + 1) : def.operands.length === required ? required : `${required} to ${def.operands.length}`}`, loc);
      op.results.forEach((r) => defined.add(r));
      return;
    }
    op.operands.forEach((v, i) => {
      const od = def.operands[Math.min(i, def.operands.length - 1)]!;
      if (!defined.has(v)) err(`${where}: operand ${i} (${od.name}) is used before it is defined or not defined in this module`, loc);
      if (od.type !== "any" && v.type.kind !== od.type) err(`${where}: operand ${i} (${od.name}) must be ${od.type}, got ${formatType(v.type)}`, loc);
      if (od.constant && !v.constant) err(`${where}: operand ${i} (${od.name}) must be a constant`, loc);
    });
    const attrProblems = checkAttrs(def, op.attrs);
    for (const p of attrProblems) err(`${where}: ${p}`, loc);
    if (op.results.length !== def.results.length) err(`${where}: ${op.results.length} results, expected ${def.results.length}`, loc);
    if (!attrProblems.length) try {
      const types = inferResultTypes(def, op.operands, op.attrs, cache);
      types.forEach((t, i) => {
        const r = op.results[i];
        if (r && !typeEquals(r.type, t)) err(`${where}: result ${i} has type ${formatType(r.type)} but the operands give ${formatType(t)}`, loc);
      });
    } catch (e) {
      if (e instanceof ShapeError) err(`${where}: ${e.message}`, loc);
      else throw e;
    }
    if (def.verify) {
      const ctx = { operands: op.operands.map((v) => v.type), attrs: op.attrs, value: () => undefined };
      for (const p of def.verify(ctx)) err(`${where}: ${p}`, loc);
    }
    for (const r of op.results) {
      if (defined.has(r)) err(`${where}: result defined twice`, loc);
      defined.add(r);
    }
  });
  const outNames = new Set<string>();
  for (const o of m.outputs) {
    if (!defined.has(o.value)) err(`output '${o.name}' refers to a value not defined in this module`);
    if (outNames.has(o.name)) err(`duplicate output name '${o.name}'`);
    outNames.add(o.name);
  }
  if (m.outputs.length === 0) err("the module has no outputs");
  return out;
}
