/**
 * JSON form of the IR (`.tir.json`), the same structure as the text for tools:
 * `{format: "tscc-ir", version, module: {name, attrs}, consts, inputs, ops, outputs}`.
 * Readers check `format` and `version`; `upgrade()` is where migrations from older versions go.
 */
import { z } from "zod";
import { fmt, isTsccError, TsccError } from "./diagnostics/diagnostic.js";
import { M } from "./diagnostics/messages.js";
import type { Loc } from "./location.js";
import { Module, Op, type AttrValue, type Attrs, type BlobRef, type Value } from "./module.js";
import { withDefaults, type AttrKind, type OpDef, type OpRegistry } from "./opdef.js";
import { builtinOps } from "./ops/index.js";
import { parseModule } from "./parser.js";
import { isBlobConst, sha256Hex, type PrintOptions } from "./printer.js";
import { allocData, formatType, numel, type TensorData, type TensorType, type Type } from "./types.js";

export const IR_JSON_VERSION = 1;

type JsonAttr = number | string | boolean | (number | string)[];

export interface IrJson {
  format: "tscc-ir";
  version: number;
  module: { name: string; attrs: Record<string, JsonAttr> };
  consts: { name: string; type: string; data?: (number | string)[]; blob?: BlobRef }[];
  inputs: { id: string; name: string; type: string; loc?: Loc }[];
  ops: { op: string; operands: string[]; results: { id: string; type: string }[]; attrs: Record<string, JsonAttr>; loc?: Loc }[];
  outputs: { name: string; value: string }[];
}

function encodeNumber(x: number): number | string {
  if (Number.isFinite(x)) return x;
  return Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
}

function decodeNumber(x: number | string): number {
  if (typeof x === "number") return x;
  if (x === "inf") return Infinity;
  if (x === "-inf") return -Infinity;
  if (x === "nan") return NaN;
  return Number(x);
}

function encodeAttrs(attrs: Attrs): Record<string, JsonAttr> {
  const out: Record<string, JsonAttr> = {};
  for (const k of Object.keys(attrs).sort()) {
    const v = attrs[k]!;
    out[k] = typeof v === "number" ? encodeNumber(v) : Array.isArray(v) ? v.map((x) => (typeof x === "number" ? encodeNumber(x) : x)) : (v as string | boolean);
  }
  return out;
}

function decodeAttrs(attrs: Record<string, JsonAttr>, def?: OpDef): Attrs {
  const out: Attrs = {};
  for (const [k, v] of Object.entries(attrs)) {
    const kind: AttrKind | undefined = def?.attrs[k]?.kind;
    const numeric = kind === "float" || kind === "floats" || kind === "int" || kind === "ints";
    if (Array.isArray(v)) out[k] = numeric ? v.map(decodeNumber) : (v as AttrValue);
    else out[k] = numeric ? decodeNumber(v as number | string) : v;
  }
  return out;
}

export function moduleToJson(m: Module, opts: PrintOptions = {}): IrJson {
  const ids = new Map<Value, string>();
  let next = 0;
  const ref = (v: Value): string => (v.constant ? "@" + v.constant.name : ids.get(v)!);
  const json: IrJson = {
    format: "tscc-ir",
    version: IR_JSON_VERSION,
    module: { name: m.name, attrs: encodeAttrs(m.attrs) },
    consts: [],
    inputs: [],
    ops: [],
    outputs: [],
  };
  for (const c of m.consts.values()) {
    if (isBlobConst(c, opts)) {
      const blob = !c.loaded && c.blob ? c.blob : { name: c.name, sha256: sha256Hex(c.data) };
      json.consts.push({ name: c.name, type: formatType(c.type), blob });
    } else {
      const data = Array.from(c.data as ArrayLike<number | bigint>, (x) => (typeof x === "bigint" ? x.toString() : encodeNumber(x)));
      json.consts.push({ name: c.name, type: formatType(c.type), data });
    }
  }
  for (const i of m.inputs) {
    const id = `%${next++}`;
    ids.set(i.value, id);
    json.inputs.push({ id, name: i.name, type: formatType(i.value.type), ...(i.loc.kind !== "unknown" ? { loc: i.loc } : {}) });
  }
  for (const op of m.ops) {
    const operands = op.operands.map(ref);
    const results = op.results.map((r) => {
      const id = `%${next++}`;
      ids.set(r, id);
      return { id, type: formatType(r.type) };
    });
    json.ops.push({ op: op.name, operands, results, attrs: encodeAttrs(op.attrs), ...(op.loc.kind !== "unknown" ? { loc: op.loc } : {}) });
  }
  for (const o of m.outputs) json.outputs.push({ name: o.name, value: ref(o.value) });
  return json;
}

/** Migrate an older JSON document to the current version (none exist yet: version 1 is the first). */
function upgrade(doc: IrJson): IrJson {
  return doc;
}

function parseType(text: string): Type {
  // Reuse the text parser's type grammar through a one-input module.
  const m = parseModule(`module @t {\n  input %0 : ${text} {name = "t"}\n  output %0 {name = "t"}\n}\n`);
  return m.inputs[0]!.value.type;
}

export interface FromJsonOptions {
  registry?: OpRegistry;
  file?: string;
  loadBlob?: (ref: BlobRef, type: TensorType) => TensorData;
}

const jsonAttr = z.union([z.number(), z.string(), z.boolean(), z.array(z.union([z.number(), z.string()]))]);
const locSchema: z.ZodType<Loc> = z.lazy(() =>
  z.union([
    z.strictObject({ kind: z.literal("onnx"), node: z.string(), index: z.number(), opType: z.string() }),
    z.strictObject({ kind: z.literal("file"), file: z.string(), line: z.number(), col: z.number() }),
    z.strictObject({ kind: z.literal("fused"), locs: z.array(locSchema) }),
    z.strictObject({ kind: z.literal("unknown") }),
  ]),
);
/** The structure of a version-1 document; the reader checks it before building anything. */
const docSchema = z.object({
  module: z.object({ name: z.string(), attrs: z.record(z.string(), jsonAttr) }),
  consts: z.array(z.object({ name: z.string(), type: z.string(), data: z.array(z.union([z.number(), z.string()])).optional(), blob: z.object({ name: z.string(), sha256: z.string() }).optional() })),
  inputs: z.array(z.object({ id: z.string(), name: z.string(), type: z.string(), loc: locSchema.optional() })),
  ops: z.array(z.object({ op: z.string(), operands: z.array(z.string()), results: z.array(z.object({ id: z.string(), type: z.string() })), attrs: z.record(z.string(), jsonAttr), loc: locSchema.optional() })),
  outputs: z.array(z.object({ name: z.string(), value: z.string() })),
});

export function moduleFromJson(raw: unknown, opts: FromJsonOptions = {}): Module {
  const file = opts.file ?? "<json>";
  const bad = (msg: string): never => {
    throw new TsccError(fmt(M.ParseError, [`${file}: ${msg}`]));
  };
  if (typeof raw !== "object" || raw === null || (raw as IrJson).format !== "tscc-ir") bad("not a tscc-ir JSON document (missing \"format\": \"tscc-ir\")");
  const doc0 = raw as IrJson;
  if (typeof doc0.version !== "number") bad("missing \"version\"");
  if (doc0.version > IR_JSON_VERSION || doc0.version < 1) throw new TsccError(fmt(M.JsonVersion, [doc0.version, IR_JSON_VERSION], { file }));
  const doc = upgrade(doc0);
  const shape = docSchema.safeParse(doc);
  if (!shape.success) {
    const iss = shape.error.issues[0]!;
    bad(`${iss.path.map(String).join(".") || "document"}: ${iss.message}`);
  }
  const registry = opts.registry ?? builtinOps();
  const m = new Module(doc.module.name, decodeAttrs(doc.module.attrs));
  const ids = new Map<string, Value>();
  const get = (r: string): Value => {
    if (r.startsWith("@")) {
      const c = m.consts.get(r.slice(1));
      return c ? c.value : bad(`unknown constant ${r}`);
    }
    return ids.get(r) ?? bad(`value ${r} used before definition`);
  };
  const define = (id: string, v: Value): void => {
    if (ids.has(id)) bad(`value ${id} defined twice`);
    ids.set(id, v);
  };
  const typeOf = (text: string, what: string): Type => {
    try {
      return parseType(text);
    } catch (e) {
      if (!isTsccError(e)) throw e;
      return bad(`${what} has an invalid type '${text}': ${e.diagnostics[0]!.message}`);
    }
  };
  for (const c of doc.consts) {
    const type = typeOf(c.type, `constant @${c.name}`);
    if (type.kind !== "tensor") bad(`constant @${c.name} must be a tensor`);
    if (m.consts.has(c.name)) bad(`constant @${c.name} defined twice`);
    const tt = type as TensorType;
    if (c.data) {
      // Checked before allocating: the values must be there, as many as the type declares.
      if (c.data.length !== numel(tt.shape)) bad(`constant @${c.name} has ${c.data.length} values, its type needs ${numel(tt.shape)}`);
      const data = allocData(tt.dtype, numel(tt.shape));
      c.data.forEach((x, i) => {
        if (data instanceof BigInt64Array) {
          if (!/^-?\d+$/.test(String(x))) bad(`constant @${c.name}: '${x}' is not an integer`);
          data[i] = BigInt(x);
        } else data[i] = decodeNumber(x);
      });
      m.addConst(c.name, tt, data);
    } else if (c.blob) {
      const ref = c.blob;
      m.addConst(c.name, tt, {
        blob: ref,
        load: () => (opts.loadBlob ? opts.loadBlob(ref, tt) : bad(`constant @${c.name} refers to blob '${ref.name}' but no weights file is available`)),
      });
    } else bad(`constant @${c.name} has neither data nor blob`);
  }
  for (const i of doc.inputs) define(i.id, m.addInput(i.name, typeOf(i.type, `input ${i.id}`), i.loc));
  for (const o of doc.ops) {
    const def = registry.get(o.op) ?? bad(`unknown op '${o.op}'`);
    const op = new Op(def, o.operands.map(get), o.results.map((r) => typeOf(r.type, `result ${r.id}`)), withDefaults(def, decodeAttrs(o.attrs, def)), o.loc);
    o.results.forEach((r, i) => define(r.id, op.results[i]!));
    m.ops.push(op);
  }
  for (const o of doc.outputs) m.outputs.push({ name: o.name, value: get(o.value) });
  return m;
}
