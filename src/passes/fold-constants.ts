/**
 * Constant folding. Ops whose operands are all constants become constants (evaluated by the
 * reference interpreter), and shape chains are resolved with the batch size kept symbolic: the
 * target of `Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1]))` evaluates to `[N, -1]`, which
 * is exactly ONNX's `[0, -1]` (0 copies the input's leading, batch, dimension).
 */
import { allocData, definePass, fmt, knownValue, M, ShapeError, tensorType, type Module, type Op, type SymVec, type TensorData, type Value } from "../../ir/index.js";
import { constToTensor, evaluateOp } from "../../ir/interp/interpreter.js";

/** Ops never folded: folding them would only copy data around. */
const NEVER_FOLD = new Set<string>();

/** Largest result (elements) materialised by folding; bigger results stay as ops. */
const MAX_FOLD_ELEMENTS = 1 << 24;

function constFromInts(m: Module, base: string, shape: readonly number[], values: number[], dtype: "i64" | "i32"): Value {
  const data: TensorData = allocData(dtype, values.length);
  values.forEach((x, i) => {
    if (data instanceof BigInt64Array) data[i] = BigInt(x);
    else data[i] = x;
  });
  return m.addConst(m.uniqueConstName(base), tensorType(shape, dtype), data).value;
}

function nameFor(op: Op): string {
  const l = op.loc;
  return l.kind === "onnx" ? `${l.node.replace(/^\//, "").replace(/\//g, ".")}.folded` : `${op.name.replace("nn.", "")}.folded`;
}

export const foldConstantsPass = definePass({
  name: "fold-constants",
  summary: "evaluate ops on constants and resolve shape chains (the batch size kept symbolic)",
  run(m, ctx) {
    let changed = false;
    const cache = new Map<Value, SymVec | undefined>();
    for (const op of [...m.ops]) {
      if (NEVER_FOLD.has(op.name) || op.results.length !== 1) continue;
      const r = op.result;
      if (r.type.kind !== "tensor") continue;
      // 1. Integer vectors known at compile time (shape chains without the batch).
      if ((r.type.dtype === "i64" || r.type.dtype === "i32") && op.operands.some((v) => !v.constant)) {
        const k = knownValue(r, cache);
        if (k && k.every((d) => typeof d === "number")) {
          m.replaceAllUses(r, constFromInts(m, nameFor(op), r.type.shape, k as number[], r.type.dtype));
          m.erase(op);
          changed = true;
          continue;
        }
      }
      // 2. Reshape targets that depend on the batch size: [N, ...] → [0, ...] (allowzero = 0 copies dim 0).
      if (op.name === "nn.reshape" && !op.operands[1]!.constant && op.num("allowzero") === 0) {
        const k = knownValue(op.operands[1]!, cache);
        if (k && k.every((d, i) => typeof d === "number" || i === 0)) {
          const vals = k.map((d) => (d === "N" ? 0 : (d as number)));
          op.operands = [op.operands[0]!, constFromInts(m, `${nameFor(op)}.shape`, [vals.length], vals, "i64")];
          changed = true;
          continue;
        }
      }
      // 3. Everything else whose operands are all constants.
      if (op.operands.length > 0 && op.operands.every((v) => v.constant) && !r.type.shape.includes(-1)) {
        const n = r.type.shape.reduce((a, d) => a * d, 1);
        if (n > MAX_FOLD_ELEMENTS) continue;
        let out: ReturnType<typeof evaluateOp>[number] | undefined;
        try {
          [out] = evaluateOp(
            op,
            op.operands.map((v) => constToTensor(v.constant!)),
          );
        } catch (e) {
          // Constant operands the op cannot take (an index out of range, ...): the kernels say so with a ShapeError.
          if (!(e instanceof ShapeError)) throw e;
          ctx.diag.report(fmt(M.PassFailed, [`fold-constants: ${op.name}: ${e.message}`], { loc: op.loc }));
          continue;
        }
        const c = m.addConst(m.uniqueConstName(nameFor(op)), tensorType(out!.shape, out!.dtype), out!.data);
        m.replaceAllUses(r, c.value);
        m.erase(op);
        changed = true;
      }
    }
    if (m.removeDeadCode()) changed = true;
    return { changed };
  },
});
