/**
 * In-memory IR: a module holds named constants, graph inputs, a topologically ordered list of
 * layer-level ops in SSA form, and named outputs. Values are identified by object identity; the
 * printer numbers them.
 */
import { UNKNOWN_LOC, type Loc } from "./location.js";
import type { OpDef } from "./opdef.js";
import { numel, type TensorData, type TensorType, type Type } from "./types.js";

export type AttrValue = number | string | boolean | readonly number[] | readonly string[];
export type Attrs = Record<string, AttrValue>;

export type ValueDef =
  | { readonly kind: "input"; readonly input: Input }
  | { readonly kind: "op"; readonly op: Op; readonly index: number }
  | { readonly kind: "const"; readonly const: Const };

export class Value {
  /** Set by the owner right after construction. */
  def!: ValueDef;
  constructor(public type: Type) {}

  get op(): Op | undefined {
    return this.def.kind === "op" ? this.def.op : undefined;
  }

  get constant(): Const | undefined {
    return this.def.kind === "const" ? this.def.const : undefined;
  }
}

/** Where a constant's bytes come from when they are not in memory yet. */
export interface BlobRef {
  readonly name: string;
  readonly sha256: string;
}

export class Const {
  readonly value: Value;
  private _data: TensorData | undefined;
  /** Reference to a sidecar weights file; the data is loaded on first access. */
  blob: BlobRef | undefined;
  private loader: (() => TensorData) | undefined;

  constructor(
    public name: string,
    public readonly type: TensorType,
    data: TensorData | { blob: BlobRef; load: () => TensorData },
  ) {
    this.value = new Value(type);
    this.value.def = { kind: "const", const: this };
    if (ArrayBuffer.isView(data)) {
      if (data.length !== numel(type.shape)) {
        throw new RangeError(`constant '${name}': ${data.length} elements for shape [${type.shape.join(", ")}]`);
      }
      this._data = data;
    } else {
      this.blob = data.blob;
      this.loader = data.load;
    }
  }

  get loaded(): boolean {
    return this._data !== undefined;
  }

  get data(): TensorData {
    if (this._data === undefined) {
      this._data = this.loader!();
      if (this._data.length !== numel(this.type.shape)) {
        throw new RangeError(`constant '${this.name}': blob holds ${this._data.length} elements, type needs ${numel(this.type.shape)}`);
      }
    }
    return this._data;
  }
}

export class Input {
  readonly value: Value;
  constructor(
    public name: string,
    type: Type,
    public loc: Loc = UNKNOWN_LOC,
  ) {
    this.value = new Value(type);
    this.value.def = { kind: "input", input: this };
  }
}

export interface Output {
  name: string;
  value: Value;
}

export class Op {
  readonly results: Value[];
  constructor(
    public readonly def: OpDef,
    public operands: Value[],
    resultTypes: readonly Type[],
    public attrs: Attrs,
    public loc: Loc = UNKNOWN_LOC,
  ) {
    this.results = resultTypes.map((t, index) => {
      const v = new Value(t);
      v.def = { kind: "op", op: this, index };
      return v;
    });
  }

  get name(): string {
    return this.def.name;
  }

  get result(): Value {
    return this.results[0]!;
  }

  attr<T extends AttrValue>(key: string): T {
    return this.attrs[key] as T;
  }

  num(key: string): number {
    return this.attrs[key] as number;
  }

  ints(key: string): number[] {
    return [...(this.attrs[key] as readonly number[])];
  }

  str(key: string): string {
    return this.attrs[key] as string;
  }
}

export class Module {
  readonly consts = new Map<string, Const>();
  readonly inputs: Input[] = [];
  ops: Op[] = [];
  readonly outputs: Output[] = [];
  constructor(
    public name: string,
    public attrs: Attrs = {},
  ) {}

  addConst(name: string, type: TensorType, data: ConstructorParameters<typeof Const>[2]): Const {
    if (this.consts.has(name)) throw new Error(`duplicate constant '${name}'`);
    const c = new Const(name, type, data);
    this.consts.set(name, c);
    return c;
  }

  /** A constant name not used yet, derived from `base`. */
  uniqueConstName(base: string): string {
    if (!this.consts.has(base)) return base;
    for (let i = 1; ; i++) {
      const n = `${base}_${i}`;
      if (!this.consts.has(n)) return n;
    }
  }

  addInput(name: string, type: Type, loc?: Loc): Value {
    const i = new Input(name, type, loc);
    this.inputs.push(i);
    return i.value;
  }

  /** Map from each value to the ops that use it (computed on demand; the IR is layer-level and small). */
  users(): Map<Value, Op[]> {
    const m = new Map<Value, Op[]>();
    for (const op of this.ops) {
      for (const v of op.operands) {
        const l = m.get(v);
        if (l) {
          if (!l.includes(op)) l.push(op);
        } else m.set(v, [op]);
      }
    }
    return m;
  }

  isOutput(v: Value): boolean {
    return this.outputs.some((o) => o.value === v);
  }

  /** Replace every use of `from` (operands and module outputs) with `to`. */
  replaceAllUses(from: Value, to: Value): void {
    for (const op of this.ops) op.operands = op.operands.map((v) => (v === from ? to : v));
    for (const o of this.outputs) if (o.value === from) o.value = to;
  }

  insertBefore(anchor: Op, op: Op): void {
    const i = this.ops.indexOf(anchor);
    if (i < 0) throw new Error("anchor op is not in the module");
    this.ops.splice(i, 0, op);
  }

  insertAfter(anchor: Op, op: Op): void {
    const i = this.ops.indexOf(anchor);
    if (i < 0) throw new Error("anchor op is not in the module");
    this.ops.splice(i + 1, 0, op);
  }

  erase(op: Op): void {
    const i = this.ops.indexOf(op);
    if (i >= 0) this.ops.splice(i, 1);
  }

  /**
   * Remove ops whose results are unused and constants nobody references. Returns true if anything
   * was removed.
   */
  removeDeadCode(): boolean {
    let changed = false;
    const live = new Set<Value>(this.outputs.map((o) => o.value));
    const kept: Op[] = [];
    for (let i = this.ops.length - 1; i >= 0; i--) {
      const op = this.ops[i]!;
      if (op.results.some((r) => live.has(r)) || op.def.sideEffects) {
        for (const v of op.operands) live.add(v);
        kept.push(op);
      } else changed = true;
    }
    kept.reverse();
    this.ops = kept;
    for (const [name, c] of this.consts) {
      if (!live.has(c.value)) {
        this.consts.delete(name);
        changed = true;
      }
    }
    return changed;
  }

  /** Deep copy (constant data is shared, copy-on-write is the passes' job: they create new constants). */
  clone(): Module {
    const m = new Module(this.name, structuredClone(this.attrs));
    const map = new Map<Value, Value>();
    for (const [name, c] of this.consts) {
      const nc = c.loaded || !c.blob ? m.addConst(name, c.type, c.data) : m.addConst(name, c.type, { blob: c.blob, load: () => c.data });
      map.set(c.value, nc.value);
    }
    for (const i of this.inputs) map.set(i.value, m.addInput(i.name, i.value.type, i.loc));
    for (const op of this.ops) {
      const n = new Op(
        op.def,
        op.operands.map((v) => map.get(v)!),
        op.results.map((r) => r.type),
        structuredClone(op.attrs),
        op.loc,
      );
      op.results.forEach((r, i) => map.set(r, n.results[i]!));
      m.ops.push(n);
    }
    for (const o of this.outputs) m.outputs.push({ name: o.name, value: map.get(o.value)! });
    return m;
  }
}
