/** Small helpers shared by the canonical passes. */
import { BATCH, type Module, type Op, type Value } from "../../ir/index.js";

/** The op defining `v` if `v` is used exactly once (by `user`) and is not a module output. */
export function soleProducer(m: Module, v: Value, users: Map<Value, Op[]>): Op | undefined {
  const op = v.op;
  if (!op || m.isOutput(v)) return undefined;
  const u = users.get(v) ?? [];
  return u.length === 1 ? op : undefined;
}

/** Whether every element of `v` is provably ≥ 0 (ReLU, clip with min ≥ 0, a quantiser, or a fused one of those). */
export function isNonNegative(v: Value): boolean {
  const op = v.op;
  if (!op) return false;
  if (op.name === "nn.relu") return true;
  if (op.name === "nn.clip") return op.num("min") >= 0;
  const act = op.attrs["activation"];
  if (act === "relu" || act === "quant") return true;
  if (act === "clip") return op.num("clip_min") >= 0;
  if (op.name === "nn.max_pool" || op.name === "nn.average_pool" || op.name === "nn.global_average_pool" || op.name === "nn.flatten" || op.name === "nn.reshape" || op.name === "nn.identity" || op.name === "nn.dropout") {
    return isNonNegative(op.operands[0]!);
  }
  if (op.name === "nn.concat") return op.operands.every(isNonNegative);
  return false;
}

export function isBatchedShape(shape: readonly number[]): boolean {
  return shape[0] === BATCH;
}
