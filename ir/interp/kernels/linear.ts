/** ONNX Gemm and MatMul on float32 tensors, on top of the GEMM cores. */
import { ShapeError } from "../../opdef.js";
import { broadcastShapes, fmtShape, stridesOf } from "../../shapes.js";
import { rtensor, type RTensor } from "../tensor.js";
import { gemmNN, gemmNT, NO_ACTIVATION, transpose2d, type Activation } from "./gemm.js";
import { count, f32 } from "./util.js";

export interface GemmParams {
  readonly alpha: number;
  readonly beta: number;
  readonly transA: boolean;
  readonly transB: boolean;
  readonly activation?: Activation;
}

/** Y = act(alpha·op(A)·op(B) + beta·C), C broadcast to [M, N] (ONNX Gemm). */
export function gemm(a: RTensor, b: RTensor, c: RTensor | undefined, p: GemmParams): RTensor {
  const ad = f32(a, "Gemm A");
  const bd = f32(b, "Gemm B");
  if (a.shape.length !== 2 || b.shape.length !== 2) throw new ShapeError(`Gemm needs 2-D operands, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const [m, ka] = p.transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const [kb, n] = p.transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  if (ka !== kb) throw new ShapeError(`Gemm inner dimensions differ: ${ka} vs ${kb}`);
  const k = ka;
  const am = p.transA ? transpose2d(ad, 0, k, m) : ad;
  const acc = new Float64Array(m * n);
  if (p.transB) gemmNT(am, 0, bd, 0, acc, 0, m, k, n);
  else gemmNN(am, 0, bd, 0, acc, 0, m, k, n);

  // C broadcast to [m, n]: row and column strides of 0 where C has extent 1.
  let cd: Float32Array | undefined;
  let cRow = 0;
  let cCol = 0;
  if (c && p.beta !== 0) {
    cd = f32(c, "Gemm C");
    if (c.shape.length > 2) throw new ShapeError(`Gemm C ${fmtShape(c.shape)} has rank > 2`);
    const cs = [1, 1, ...c.shape].slice(-2);
    const bs = broadcastShapes([m, n], cs);
    if (bs[0] !== m || bs[1] !== n) throw new ShapeError(`C ${fmtShape(c.shape)} does not broadcast to [${m}, ${n}]`);
    cRow = cs[0] === 1 ? 0 : cs[1]!;
    cCol = cs[1] === 1 ? 0 : 1;
  }
  const act = p.activation ?? NO_ACTIVATION;
  const { lo, hi } = act;
  const alpha = p.alpha;
  const beta = p.beta;
  const y = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let v = alpha * acc[i * n + j]!;
      if (cd) v += beta * cd[i * cRow + j * cCol]!;
      v = v < lo ? lo : v;
      y[i * n + j] = v > hi ? hi : v;
    }
  }
  return rtensor([m, n], "f32", y);
}

/** numpy matmul (ONNX MatMul): 1-D operands are promoted and the added axis removed; batch axes broadcast. */
export function matmul(a: RTensor, b: RTensor, activation: Activation = NO_ACTIVATION): RTensor {
  const ad = f32(a, "MatMul A");
  const bd = f32(b, "MatMul B");
  if (a.shape.length === 0 || b.shape.length === 0) throw new ShapeError("MatMul operands must have rank ≥ 1");
  const as = a.shape.length === 1 ? [1, a.shape[0]!] : [...a.shape];
  const bs = b.shape.length === 1 ? [b.shape[0]!, 1] : [...b.shape];
  const m = as[as.length - 2]!;
  const k = as[as.length - 1]!;
  const n = bs[bs.length - 1]!;
  if (bs[bs.length - 2] !== k) throw new ShapeError(`MatMul inner dimensions differ: ${k} vs ${bs[bs.length - 2]}`);
  const aBatch = as.slice(0, -2);
  const bBatch = bs.slice(0, -2);
  const batch = broadcastShapes(aBatch, bBatch);
  const outShape = [...batch, m, n];
  if (a.shape.length === 1) outShape.splice(outShape.length - 2, 1);
  if (b.shape.length === 1) outShape.pop();

  const nb = count(batch);
  const acc = new Float64Array(nb * m * n);
  if (count(bBatch) === 1 && count(aBatch) === nb) {
    // A's batch is contiguous and B is shared: one GEMM with the batch folded into the rows.
    gemmNN(ad, 0, bd, 0, acc, 0, nb * m, k, n);
  } else {
    // Broadcast strides (in matrices) of each operand's batch axes, aligned to the output batch.
    const r = batch.length;
    const stridesFor = (shape: number[]): number[] => {
      const st = stridesOf(shape);
      const out = new Array<number>(r).fill(0);
      for (let i = 0; i < shape.length; i++) out[r - shape.length + i] = shape[i] === 1 ? 0 : st[i]!;
      return out;
    };
    const sa = stridesFor(aBatch);
    const sb = stridesFor(bBatch);
    const idx = new Array<number>(r).fill(0);
    for (let t = 0; t < nb; t++) {
      let ia = 0;
      let ib = 0;
      for (let d = 0; d < r; d++) {
        ia += idx[d]! * sa[d]!;
        ib += idx[d]! * sb[d]!;
      }
      gemmNN(ad, ia * m * k, bd, ib * k * n, acc, t * m * n, m, k, n);
      for (let d = r - 1; d >= 0; d--) {
        if (++idx[d]! < batch[d]!) break;
        idx[d] = 0;
      }
    }
  }
  const y = new Float32Array(acc.length);
  const { lo, hi } = activation;
  for (let i = 0; i < acc.length; i++) {
    let v = acc[i]!;
    v = v < lo ? lo : v;
    y[i] = v > hi ? hi : v;
  }
  return rtensor(outShape, "f32", y);
}
