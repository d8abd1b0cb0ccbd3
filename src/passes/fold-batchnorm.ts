/**
 * Fold inference BatchNormalization into the conv or gemm before it (tsc.md §6.1):
 * W' = W·γ/σ, b' = (b − μ)·γ/σ + β with σ = sqrt(var + ε). A BN that does not follow a foldable
 * layer (or whose parameters are not constants) is left in place for later passes to reject.
 */
import { definePass, fuseLocs, tensorType, type Module, type Op, type Value } from "../../ir/index.js";
import { soleProducer } from "./util.js";

function constF32(v: Value | undefined): Float32Array | undefined {
  const c = v?.constant;
  return c && c.type.dtype === "f32" ? (c.data as Float32Array) : undefined;
}

function newConst(m: Module, base: string, shape: number[], data: Float32Array): Value {
  return m.addConst(m.uniqueConstName(base), tensorType(shape), data).value;
}

/** Per-channel scale s = γ/σ and shift t = β − μ·s, or undefined if the BN parameters are not constant. */
function bnAffine(bn: Op): { s: Float64Array; t: Float64Array } | undefined {
  const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => constF32(bn.operands[i]));
  if (!gamma || !beta || !mean || !variance) return undefined;
  const eps = bn.num("epsilon");
  const n = gamma.length;
  const s = new Float64Array(n);
  const t = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    s[c] = gamma[c]! / Math.sqrt(variance[c]! + eps);
    t[c] = beta[c]! - mean[c]! * s[c]!;
  }
  return { s, t };
}

function foldIntoConv(m: Module, conv: Op, bn: Op, s: Float64Array, t: Float64Array): boolean {
  const w = constF32(conv.operands[1]);
  if (!w || conv.str("activation") !== "none") return false;
  const b = conv.operands[2] ? constF32(conv.operands[2]) : new Float32Array(s.length);
  if (!b) return false;
  const wType = conv.operands[1]!.type;
  const per = w.length / s.length;
  const w2 = new Float32Array(w.length);
  for (let o = 0; o < s.length; o++) for (let i = 0; i < per; i++) w2[o * per + i] = w[o * per + i]! * s[o]!;
  const b2 = new Float32Array(s.length);
  for (let o = 0; o < s.length; o++) b2[o] = b[o]! * s[o]! + t[o]!;
  const base = conv.operands[1]!.constant!.name.replace(/\.weight$|\.w$/, "");
  conv.operands = [conv.operands[0]!, newConst(m, `${base}.bn.w`, [...wType.shape], w2), newConst(m, `${base}.bn.b`, [s.length], b2)];
  return true;
}

function foldIntoGemm(m: Module, gemm: Op, bn: Op, s: Float64Array, t: Float64Array): boolean {
  const bw = constF32(gemm.operands[1]);
  if (!bw || gemm.str("activation") !== "none") return false;
  const shape = gemm.operands[1]!.type.shape;
  const transB = gemm.num("transB") === 1;
  const n = transB ? shape[0]! : shape[1]!;
  const k = transB ? shape[1]! : shape[0]!;
  if (n !== s.length) return false;
  const alpha = gemm.num("alpha");
  const beta = gemm.num("beta");
  let c: Float32Array | undefined;
  if (gemm.operands[2]) {
    const cc = constF32(gemm.operands[2]);
    const cs = gemm.operands[2].type.shape;
    const len = cs.reduce((a, d) => a * d, 1);
    if (!cc || !(len === 1 || (len === n && cs[cs.length - 1] === n))) return false;
    c = new Float32Array(n);
    for (let j = 0; j < n; j++) c[j] = cc[len === 1 ? 0 : j]!;
  }
  const w2 = new Float32Array(bw.length);
  for (let r = 0; r < k; r++) {
    for (let j = 0; j < n; j++) {
      const idx = transB ? j * k + r : r * n + j;
      w2[idx] = alpha * bw[idx]! * s[j]!;
    }
  }
  const c2 = new Float32Array(n);
  for (let j = 0; j < n; j++) c2[j] = (c ? beta * c[j]! : 0) * s[j]! + t[j]!;
  const base = gemm.operands[1]!.constant!.name.replace(/\.weight$|\.w$/, "");
  gemm.operands = [gemm.operands[0]!, newConst(m, `${base}.bn.w`, [...shape], w2), newConst(m, `${base}.bn.b`, [n], c2)];
  gemm.attrs = { ...gemm.attrs, alpha: 1, beta: 1 };
  return true;
}

export const foldBatchnormPass = definePass({
  name: "fold-batchnorm",
  summary: "fold BatchNormalization into the conv or gemm that feeds it",
  run(m) {
    let changed = false;
    const users = m.users();
    for (const bn of [...m.ops]) {
      if (bn.name !== "nn.batch_norm") continue;
      const prev = soleProducer(m, bn.operands[0]!, users);
      if (!prev || (prev.name !== "nn.conv" && prev.name !== "nn.gemm")) continue;
      if (prev.name === "nn.gemm" && bn.operands[0]!.type.shape.length !== 2) continue;
      const aff = bnAffine(bn);
      if (!aff) continue;
      const ok = prev.name === "nn.conv" ? foldIntoConv(m, prev, bn, aff.s, aff.t) : foldIntoGemm(m, prev, bn, aff.s, aff.t);
      if (!ok) continue;
      prev.loc = fuseLocs(prev.loc, bn.loc);
      m.replaceAllUses(bn.result, prev.result);
      m.erase(bn);
      changed = true;
    }
    if (changed) m.removeDeadCode();
    return { changed };
  },
});
