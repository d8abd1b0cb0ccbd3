/**
 * Weight layers (conv, gemm, matmul) as switch synapses, including the average pools they absorb
 * (docs/conversion.md "Average pooling: merge by default").
 */
import { fuseLocs, type Op, type Value } from "../../../ir/index.js";
import { averagePool, globalAveragePool } from "../../../ir/interp/kernels/index.js";
import { ConvertError, f32, type Conversion, type PoolSpec } from "./conversion.js";

/**
 * The spatial linear map of a chain of average pools on one channel, as a dense [H·W, Hp·Wp] matrix:
 * row p is the chain applied to the one-hot image e_p (pools act on every channel the same way).
 */
function poolMatrix(chain: readonly Op[], h: number, w: number): { m: Float32Array; hp: number; wp: number } {
  const n = h * w;
  const eye = new Float32Array(n * n);
  for (let p = 0; p < n; p++) eye[p * n + p] = 1;
  let t = { shape: [n, 1, h, w], dtype: "f32" as const, data: eye as Float32Array };
  for (const op of chain) {
    t =
      op.name === "nn.global_average_pool"
        ? (globalAveragePool(t) as typeof t)
        : (averagePool(t, {
            kernel: op.ints("kernel_shape"),
            strides: op.ints("strides"),
            pads: op.ints("pads"),
            dilations: op.ints("dilations"),
            ceilMode: op.num("ceil_mode") === 1,
            countIncludePad: op.num("count_include_pad") === 1,
          }) as typeof t);
  }
  return { m: t.data, hp: t.shape[2]!, wp: t.shape[3]! };
}

/** The dense weight matrix [N, K] of a gemm/matmul (times alpha), and its bias [N] (times beta). */
function denseWeights(op: Op): { w: Float32Array; n: number; k: number; bias?: Float32Array } {
  const bw = op.operands[1]!;
  if (!bw.constant) throw new ConvertError("weights must be constants", op.loc);
  const shape = bw.type.shape;
  if (shape.length !== 2) throw new ConvertError(`weights of rank ${shape.length}; only 2-D dense layers convert`, op.loc);
  const isGemm = op.name === "nn.gemm";
  if (isGemm && op.num("transA") === 1) throw new ConvertError("transA = 1 on activations cannot be converted", op.loc);
  const transB = isGemm && op.num("transB") === 1;
  const alpha = isGemm ? op.num("alpha") : 1;
  const n = transB ? shape[0]! : shape[1]!;
  const k = transB ? shape[1]! : shape[0]!;
  const src = f32(bw);
  const w = new Float32Array(n * k);
  for (let j = 0; j < n; j++) for (let r = 0; r < k; r++) w[j * k + r] = alpha * src[transB ? j * k + r : r * n + j]!;
  let bias: Float32Array | undefined;
  const c = op.operands[2];
  if (c) {
    if (!c.constant) throw new ConvertError("bias must be a constant", op.loc);
    const cd = f32(c);
    const len = cd.length;
    if (len !== 1 && len !== n) throw new ConvertError(`bias of ${len} values for ${n} outputs`, op.loc);
    const beta = isGemm ? op.num("beta") : 1;
    bias = new Float32Array(n);
    for (let j = 0; j < n; j++) bias[j] = beta * cd[len === 1 ? 0 : j]!;
  }
  return { w, n, k, bias };
}

/** Synapses from a mapped source into the weight layer `op` (conv, gemm or matmul): the charge value. */
export function synapses(cv: Conversion, op: Op): Value {
  const x = op.operands[0]!;
  const mp = cv.mapped(x);
  const name = cv.baseName(op);
  if (op.name === "nn.conv") {
    const w = op.operands[1]!;
    const bias = op.operands[2];
    if (!w.constant || (bias && !bias.constant)) throw new ConvertError("weights must be constants", op.loc);
    if (op.ints("dilations").some((d) => d !== 1) && mp?.kind === "pool") throw new ConvertError("a dilated conv cannot absorb an average pool", op.loc);
    if (mp?.kind === "pool") return mergedConv(cv, op, mp.pool, name);
    const src = cv.spikesOf(x, op);
    const wd = f32(w).map((v) => v * src.scale);
    const operands = [src.v, cv.constVal(`${name}.snn.w`, [...w.type.shape], wd)];
    if (bias) operands.push(cv.constVal(`${name}.snn.b`, [...bias.type.shape], f32(bias).slice()));
    return cv.b.value("snn.conv", operands, { kernel_shape: op.ints("kernel_shape"), strides: op.ints("strides"), pads: op.ints("pads"), dilations: op.ints("dilations"), group: op.num("group") }, op.loc);
  }
  const { w, n, k, bias } = denseWeights(op);
  if (mp?.kind === "pool-flat") return mergedDense(cv, op, mp.pool, w, n, k, bias, name);
  if (x.type.shape.length !== 2) throw new ConvertError(`${op.name} on a rank-${x.type.shape.length} input; flatten it first`, op.loc);
  const src = cv.spikesOf(x, op);
  const operands = [src.v, cv.constVal(`${name}.snn.w`, [n, k], w.map((v) => v * src.scale))];
  if (bias) operands.push(cv.constVal(`${name}.snn.b`, [n], bias));
  return cv.b.value("snn.dense", operands, {}, op.loc);
}

/** avg pool (k, stride s, no pads) then conv (K, stride S, pads P): one conv with kernel (K−1)s+k, stride S·s, pads P·s. */
function mergedConv(cv: Conversion, conv: Op, pool: PoolSpec, name: string): Value {
  const w = conv.operands[1]!;
  const [mo, cg, kh, kw] = w.type.shape as [number, number, number, number];
  const only = pool.chain[0]!;
  const [ph, pw] = only.ints("kernel_shape") as [number, number];
  const [sh, sw] = only.ints("strides") as [number, number];
  const KH = (kh - 1) * sh + ph;
  const KW = (kw - 1) * sw + pw;
  const wd = f32(w);
  const src = cv.spikesOf(pool.src, conv);
  const out = new Float32Array(mo * cg * KH * KW);
  const inv = src.scale / (ph * pw);
  for (let oc = 0; oc < mo * cg; oc++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const wv = wd[(oc * kh + ky) * kw + kx]! * inv;
        for (let a = 0; a < ph; a++) for (let c = 0; c < pw; c++) out[(oc * KH + ky * sh + a) * KW + kx * sw + c]! += wv;
      }
    }
  }
  const s = conv.ints("strides");
  const p = conv.ints("pads");
  const operands = [src.v, cv.constVal(`${name}.pool.snn.w`, [mo, cg, KH, KW], out)];
  const bias = conv.operands[2];
  if (bias) operands.push(cv.constVal(`${name}.snn.b`, [...bias.type.shape], f32(bias).slice()));
  const v = cv.b.value("snn.conv", operands, { kernel_shape: [KH, KW], strides: [s[0]! * sh, s[1]! * sw], pads: [p[0]! * sh, p[1]! * sw, p[2]! * sh, p[3]! * sw], dilations: [1, 1], group: conv.num("group") }, fuseLocs(pool.loc, conv.loc));
  if (v.type.shape.join() !== conv.result.type.shape.join()) throw new ConvertError(`merging the average pool changes the output shape (${v.type.shape} vs ${conv.result.type.shape}); use avgpool=spike`, conv.loc);
  return v;
}

/**
 * Average pool(s), flatten, dense: one dense layer on the unpooled spikes whose weights are the dense
 * weights pulled back through the pooling chain (exact for any pads, count_include_pad and ceil_mode).
 */
function mergedDense(cv: Conversion, op: Op, pool: PoolSpec, w: Float32Array, n: number, k: number, bias: Float32Array | undefined, name: string): Value {
  const [, c, h, wd] = pool.inShape as [number, number, number, number];
  const { m: pm, hp, wp } = poolMatrix(pool.chain, h, wd);
  if (k !== c * hp * wp) throw new ConvertError(`dense layer of ${k} inputs after a pool of ${c}×${hp}×${wp}`, op.loc);
  const src = cv.spikesOf(pool.src, op);
  const hw = h * wd;
  const q = hp * wp;
  const kk = c * hw;
  const out = new Float32Array(n * kk);
  for (let j = 0; j < n; j++) {
    for (let ch = 0; ch < c; ch++) {
      const wrow = j * k + ch * q;
      const orow = j * kk + ch * hw;
      for (let p = 0; p < hw; p++) {
        let acc = 0;
        for (let r = 0; r < q; r++) acc += w[wrow + r]! * pm[p * q + r]!;
        out[orow + p] = acc * src.scale;
      }
    }
  }
  const flat = cv.b.value("snn.reshape", [src.v], { shape: [0, kk] }, pool.loc);
  const operands = [flat, cv.constVal(`${name}.pool.snn.w`, [n, kk], out)];
  if (bias) operands.push(cv.constVal(`${name}.snn.b`, [n], bias));
  return cv.b.value("snn.dense", operands, {}, fuseLocs(pool.loc, op.loc));
}
