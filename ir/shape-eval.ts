/**
 * Compile-time evaluation of small integer vectors (shape chains), with the batch size kept
 * symbolic. PyTorch exports `x.view(x.size(0), -1)` as Shape → Gather → Unsqueeze → Concat → Reshape;
 * evaluating that chain gives `[N, -1]`, where `N` stands for the batch size of the run.
 */
import type { Value } from "./module.js";
import { BATCH, numel, toNumberArray } from "./types.js";

/** One element of a known vector: a number, or the symbolic batch size. */
export type SymDim = number | "N";
export type SymVec = SymDim[];

/** Constants larger than this are not treated as known vectors (they are weights, not shapes). */
const MAX_KNOWN = 4096;

function isIntLike(v: Value): boolean {
  return v.type.kind === "tensor" && v.type.dtype !== "f32" && v.type.dtype !== "f64";
}

/**
 * The flattened value of `v` if it can be computed without running the model, else undefined.
 * Handles integer constants and the ops that build shape vectors.
 */
export function knownValue(v: Value, cache: Map<Value, SymVec | undefined> = new Map()): SymVec | undefined {
  if (cache.has(v)) return cache.get(v);
  const r = compute(v, cache);
  cache.set(v, r);
  return r;
}

function compute(v: Value, cache: Map<Value, SymVec | undefined>): SymVec | undefined {
  const c = v.constant;
  if (c) {
    if (numel(c.type.shape) > MAX_KNOWN) return undefined;
    return toNumberArray(c.data);
  }
  const op = v.op;
  if (!op || !isIntLike(v)) return undefined;
  const arg = (i: number): SymVec | undefined => {
    const o = op.operands[i];
    return o === undefined ? undefined : knownValue(o, cache);
  };
  switch (op.name) {
    case "nn.shape": {
      const shape = op.operands[0]!.type.shape.map((d): SymDim => (d === BATCH ? "N" : d));
      const rank = shape.length;
      const norm = (i: number): number => Math.min(Math.max(i < 0 ? i + rank : i, 0), rank);
      const start = norm(op.num("start"));
      const end = norm((op.attrs["end"] as number | undefined) ?? rank);
      return shape.slice(start, end);
    }
    case "nn.gather": {
      const data = arg(0);
      const idx = arg(1);
      if (!data || !idx || op.operands[0]!.type.shape.length !== 1 || op.num("axis") !== 0) return undefined;
      const out: SymVec = [];
      for (const i of idx) {
        if (typeof i !== "number") return undefined;
        const j = i < 0 ? i + data.length : i;
        if (j < 0 || j >= data.length) return undefined;
        out.push(data[j]!);
      }
      return out;
    }
    case "nn.concat": {
      if (op.results[0]!.type.shape.length !== 1) return undefined;
      const parts = op.operands.map((_, i) => arg(i));
      if (parts.some((p) => p === undefined)) return undefined;
      return parts.flatMap((p) => p!);
    }
    case "nn.cast":
      // The result is an integer type (checked above): float to integer truncates toward zero.
      return arg(0)?.map((d) => (typeof d === "number" ? Math.trunc(d) : d));
    case "nn.unsqueeze":
    case "nn.squeeze":
    case "nn.identity":
    case "nn.flatten":
      return arg(0);
    case "nn.reshape":
      return arg(0);
    case "nn.add": {
      // Shape arithmetic: element-wise on equal lengths or with a scalar.
      const a = arg(0);
      const b2 = arg(1);
      if (!a || !b2) return undefined;
      const n = Math.max(a.length, b2.length);
      if ((a.length !== n && a.length !== 1) || (b2.length !== n && b2.length !== 1)) return undefined;
      const out: SymVec = [];
      for (let i = 0; i < n; i++) {
        const x = a[a.length === 1 ? 0 : i]!;
        const y = b2[b2.length === 1 ? 0 : i]!;
        if (typeof x !== "number" || typeof y !== "number") return undefined;
        out.push(x + y);
      }
      return out;
    }
    default:
      return undefined;
  }
}

export function formatSymVec(v: SymVec): string {
  return `[${v.join(", ")}]`;
}
