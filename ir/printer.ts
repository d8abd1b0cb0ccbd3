/**
 * Textual IR (`.tir`). Canonical: attribute keys sorted, values numbered in definition order, floats
 * in their shortest round-tripping form, so `print(parse(text)) === text` for printed text.
 *
 *   module @cnn {opset = 13, weights_file = "weights.bin"} {
 *     const @conv1.w : tensor<16x1x3x3xf32> = blob("conv1.w", sha256 = "…")
 *     const @shape : tensor<2xi64> = dense<[0, -1]>
 *     input %0 : tensor<?x1x28x28xf32> {name = "input"}
 *     %1 = nn.conv %0, @conv1.w, @conv1.b {...} : tensor<?x16x28x28xf32> loc(onnx.node "conv1" #0 Conv)
 *     output %1 {name = "logits"}
 *   }
 */
import { createHash } from "node:crypto";
import { formatLoc } from "./location.js";
import type { AttrValue, Attrs, Const, Module, Value } from "./module.js";
import type { AttrKind, OpDef } from "./opdef.js";
import { bytesOf, formatType, isFloat, type TensorData } from "./types.js";

export interface PrintOptions {
  /** Print float constants as `dense<[...]>` instead of sidecar blob references. */
  inlineWeights?: boolean;
}

const BARE_SYMBOL = /^[A-Za-z_][A-Za-z0-9_.$-]*$/;

export function formatSymbol(name: string): string {
  return "@" + (BARE_SYMBOL.test(name) ? name : JSON.stringify(name));
}

/** Shortest decimal text that parses back to the same float64. */
export function formatFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (Object.is(x, -0)) return "-0.0";
  const s = String(x);
  return /[.e]/.test(s) ? s : s + ".0";
}

/** Shortest decimal text that parses back to the same float32. */
export function formatFloat32(x: number): string {
  if (!Number.isFinite(x) || Object.is(x, -0)) return formatFloat(x);
  for (let p = 1; p <= 9; p++) {
    const s = x.toPrecision(p);
    if (Math.fround(Number(s)) === x) return formatFloat(Number(s));
  }
  return formatFloat(x);
}

function formatAttr(v: AttrValue, kind: AttrKind | undefined): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") {
    const asFloat = kind === "float" || kind === "floats" || (kind === undefined && !Number.isInteger(v));
    return asFloat ? formatFloat(v) : String(v);
  }
  return `[${(v as readonly (number | string)[]).map((x) => formatAttr(x, kind)).join(", ")}]`;
}

function sameAttr(a: AttrValue, b: AttrValue): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
  return Object.is(a, b);
}

/** Attribute dictionary with sorted keys; attributes equal to the op definition's default are elided. */
export function formatAttrs(attrs: Attrs, def?: OpDef): string {
  const keys = Object.keys(attrs)
    .filter((k) => {
      const d = def?.attrs[k]?.default;
      return d === undefined || !sameAttr(d, attrs[k]!);
    })
    .sort();
  if (keys.length === 0) return "";
  const body = keys.map((k) => `${/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : JSON.stringify(k)} = ${formatAttr(attrs[k]!, def?.attrs[k]?.kind)}`);
  return `{${body.join(", ")}}`;
}

export function formatData(data: TensorData, dtype: string): string {
  const parts: string[] = new Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (typeof v === "bigint") parts[i] = v.toString();
    else if (dtype === "f32") parts[i] = formatFloat32(v);
    else if (dtype === "f64") parts[i] = formatFloat(v);
    else parts[i] = String(v);
  }
  return `dense<[${parts.join(", ")}]>`;
}

export function sha256Hex(data: TensorData): string {
  return createHash("sha256").update(bytesOf(data)).digest("hex");
}

/** Whether a constant is written to the weights sidecar (float data) rather than inline. */
export function isBlobConst(c: Const, opts: PrintOptions): boolean {
  return !opts.inlineWeights && isFloat(c.type.dtype);
}

function formatConst(c: Const, opts: PrintOptions): string {
  let init: string;
  if (isBlobConst(c, opts)) {
    const ref = !c.loaded && c.blob ? c.blob : { name: c.name, sha256: sha256Hex(c.data) };
    init = `blob(${JSON.stringify(ref.name)}, sha256 = ${JSON.stringify(ref.sha256)})`;
  } else init = formatData(c.data, c.type.dtype);
  return `const ${formatSymbol(c.name)} : ${formatType(c.type)} = ${init}`;
}

export function printModule(m: Module, opts: PrintOptions = {}): string {
  const names = new Map<Value, string>();
  let next = 0;
  const ref = (v: Value): string => {
    const c = v.constant;
    if (c) return formatSymbol(c.name);
    const n = names.get(v);
    if (n === undefined) throw new Error("printer: value used before definition");
    return n;
  };
  const lines: string[] = [];
  const mattrs = formatAttrs(m.attrs);
  lines.push(`module ${formatSymbol(m.name)}${mattrs ? " " + mattrs : ""} {`);
  for (const c of m.consts.values()) lines.push("  " + formatConst(c, opts));
  for (const i of m.inputs) {
    const n = `%${next++}`;
    names.set(i.value, n);
    const loc = i.loc.kind === "unknown" ? "" : " " + formatLoc(i.loc);
    lines.push(`  input ${n} : ${formatType(i.value.type)} ${formatAttrs({ name: i.name })}${loc}`);
  }
  for (const op of m.ops) {
    const operands = op.operands.map(ref).join(", ");
    for (const r of op.results) names.set(r, `%${next++}`);
    const results = op.results.map((r) => names.get(r)!).join(", ");
    const attrs = formatAttrs(op.attrs, op.def);
    const types = op.results.map((r) => formatType(r.type)).join(", ");
    const loc = op.loc.kind === "unknown" ? "" : " " + formatLoc(op.loc);
    lines.push(`  ${results} = ${op.name}${operands ? " " + operands : ""}${attrs ? " " + attrs : ""} : ${types}${loc}`);
  }
  for (const o of m.outputs) lines.push(`  output ${ref(o.value)} ${formatAttrs({ name: o.name })}`);
  lines.push("}");
  return lines.join("\n") + "\n";
}
