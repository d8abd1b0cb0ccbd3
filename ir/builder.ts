/** Creating ops with inferred result types and default attributes. */
import { UNKNOWN_LOC, type Loc } from "./location.js";
import { Op, type Attrs, type Module, type Value } from "./module.js";
import { checkAttrs, ShapeError, withDefaults, type OpDef, type OpRegistry } from "./opdef.js";
import { knownValue, type SymVec } from "./shape-eval.js";
import type { Type } from "./types.js";

/** Infer result types; throws ShapeError with a readable reason. */
export function inferResultTypes(def: OpDef, operands: readonly Value[], attrs: Attrs, cache?: Map<Value, SymVec | undefined>): Type[] {
  const problems = checkAttrs(def, attrs);
  if (problems.length) throw new ShapeError(`${def.name}: ${problems.join("; ")}`);
  return def.infer({
    operands: operands.map((v) => v.type),
    attrs,
    value: (i) => {
      const v = operands[i];
      return v === undefined ? undefined : knownValue(v, cache);
    },
  });
}

export class Builder {
  /** Where new ops go: before this op, or at the end of the module when undefined. */
  insertionPoint: Op | undefined;
  loc: Loc = UNKNOWN_LOC;

  constructor(
    readonly module: Module,
    readonly registry: OpRegistry,
  ) {}

  def(name: string): OpDef {
    const d = this.registry.get(name);
    if (!d) throw new Error(`op '${name}' is not registered`);
    return d;
  }

  /** Build (without inserting) an op with defaults filled in and result types inferred. */
  build(name: string, operands: Value[], attrs: Attrs = {}, loc: Loc = this.loc): Op {
    const def = this.def(name);
    const full = withDefaults(def, attrs);
    const types = inferResultTypes(def, operands, full);
    return new Op(def, operands, types, full, loc);
  }

  /** Build and insert; returns the op. */
  create(name: string, operands: Value[], attrs: Attrs = {}, loc: Loc = this.loc): Op {
    const op = this.build(name, operands, attrs, loc);
    this.insert(op);
    return op;
  }

  /** Build and insert; returns the first result. */
  value(name: string, operands: Value[], attrs: Attrs = {}, loc: Loc = this.loc): Value {
    return this.create(name, operands, attrs, loc).result;
  }

  insert(op: Op): void {
    if (this.insertionPoint) this.module.insertBefore(this.insertionPoint, op);
    else this.module.ops.push(op);
  }
}
