/**
 * Dense kernels of the closed-form engine: a register-blocked GEMM with float64 accumulation and a
 * batched im2col for grouped, strided, padded, dilated 2-D convolutions.
 *
 * Exactness: the left operand is W̃ (float32), the right one holds spike intervals (integers ≤ 65535,
 * exact in float32), so every product is exact in float64 (24 + 16 significant bits) and only the sums
 * round; on dyadic data (multiples of 1/256) the sums are exact too, in any order.
 */
import type { ConvPlan, DensePlan } from "./plan.js";

/** Column tile: keeps a 4-row strip of C and 4 rows of B inside L1/L2 while the k loop runs. */
const JT = 512;

/**
 * C[i, j] += Σ_k A[aOff + i·K + k] · B[k·N + j] for i < M, j < N.
 * A: [M, K] row-major (float32), B: [K, N] row-major (float32), C: [M, N] row-major (float64).
 * 4 × 4 register blocking over (i, k); the inner loop runs over contiguous columns j.
 */
export function gemmAcc(A: Float32Array, aOff: number, M: number, K: number, B: Float32Array, N: number, C: Float64Array): void {
  if (K === 0 || N === 0 || M === 0) return;
  const K4 = K - (K % 4);
  for (let j0 = 0; j0 < N; j0 += JT) {
    const jn = Math.min(JT, N - j0);
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      const r0 = aOff + i * K;
      const r1 = r0 + K;
      const r2 = r1 + K;
      const r3 = r2 + K;
      const c0 = i * N + j0;
      const c1 = c0 + N;
      const c2 = c1 + N;
      const c3 = c2 + N;
      let k = 0;
      for (; k < K4; k += 4) {
        const a00 = A[r0 + k]!, a01 = A[r0 + k + 1]!, a02 = A[r0 + k + 2]!, a03 = A[r0 + k + 3]!;
        const a10 = A[r1 + k]!, a11 = A[r1 + k + 1]!, a12 = A[r1 + k + 2]!, a13 = A[r1 + k + 3]!;
        const a20 = A[r2 + k]!, a21 = A[r2 + k + 1]!, a22 = A[r2 + k + 2]!, a23 = A[r2 + k + 3]!;
        const a30 = A[r3 + k]!, a31 = A[r3 + k + 1]!, a32 = A[r3 + k + 2]!, a33 = A[r3 + k + 3]!;
        const b0 = k * N + j0;
        const b1 = b0 + N;
        const b2 = b1 + N;
        const b3 = b2 + N;
        for (let j = 0; j < jn; j++) {
          const x0 = B[b0 + j]!, x1 = B[b1 + j]!, x2 = B[b2 + j]!, x3 = B[b3 + j]!;
          C[c0 + j]! += a00 * x0 + a01 * x1 + a02 * x2 + a03 * x3;
          C[c1 + j]! += a10 * x0 + a11 * x1 + a12 * x2 + a13 * x3;
          C[c2 + j]! += a20 * x0 + a21 * x1 + a22 * x2 + a23 * x3;
          C[c3 + j]! += a30 * x0 + a31 * x1 + a32 * x2 + a33 * x3;
        }
      }
      for (; k < K; k++) {
        const a0 = A[r0 + k]!, a1 = A[r1 + k]!, a2 = A[r2 + k]!, a3 = A[r3 + k]!;
        const b0 = k * N + j0;
        for (let j = 0; j < jn; j++) {
          const x = B[b0 + j]!;
          C[c0 + j]! += a0 * x;
          C[c1 + j]! += a1 * x;
          C[c2 + j]! += a2 * x;
          C[c3 + j]! += a3 * x;
        }
      }
    }
    for (; i < M; i++) {
      const r0 = aOff + i * K;
      const c0 = i * N + j0;
      let k = 0;
      for (; k < K4; k += 4) {
        const a0 = A[r0 + k]!, a1 = A[r0 + k + 1]!, a2 = A[r0 + k + 2]!, a3 = A[r0 + k + 3]!;
        const b0 = k * N + j0;
        const b1 = b0 + N;
        const b2 = b1 + N;
        const b3 = b2 + N;
        for (let j = 0; j < jn; j++) C[c0 + j]! += a0 * B[b0 + j]! + a1 * B[b1 + j]! + a2 * B[b2 + j]! + a3 * B[b3 + j]!;
      }
      for (; k < K; k++) {
        const a0 = A[r0 + k]!;
        const b0 = k * N + j0;
        for (let j = 0; j < jn; j++) C[c0 + j]! += a0 * B[b0 + j]!;
      }
    }
  }
}

/** Columns of im2col per block: bounds each scratch buffer to about 4 MB. */
const BLOCK_ELEMS = 1 << 20;

/**
 * Batched convolution without bias: out[b, m, op] = Σ_{cg, tap} W̃[m, cg, tap] · x[b, g·Cg + cg, pos(op, tap)].
 * x: [B, C, H, W] canonical (float64 intervals), out: [B, M, OH, OW] (float64, overwritten).
 * Per group, the columns of the im2col matrix [K = Cg·kh·kw, rows] are (sample, output position) pairs,
 * processed in blocks; W̃ in its original [M, Cg·kh·kw] layout is the left GEMM operand.
 */
export function convForward(cp: ConvPlan, x: Float64Array, B: number, out: Float64Array): void {
  const { K, Mg, Cg, kk, group, M } = cp;
  const w = cp.node.w;
  const P = cp.win.H * cp.win.W;
  const OP = cp.win.OH * cp.win.OW;
  const nIn = cp.C * P;
  const nOut = M * OP;
  const tap = tapPositions(cp);
  const total = B * OP;
  const R = Math.max(1, Math.min(total, Math.floor(BLOCK_ELEMS / Math.max(K, Mg))));
  const cols = new Float32Array(K * R);
  const acc = new Float64Array(Mg * R);
  for (let g = 0; g < group; g++) {
    for (let r0 = 0; r0 < total; r0 += R) {
      const n = Math.min(R, total - r0);
      const bStart = (r0 / OP) | 0;
      const opStart = r0 - bStart * OP;
      // im2col: one contiguous row of `cols` per (cg, tap).
      for (let cg = 0; cg < Cg; cg++) {
        const cOff = (g * Cg + cg) * P;
        for (let t = 0; t < kk; t++) {
          const row = (cg * kk + t) * n;
          const tp = t * OP;
          let b = bStart;
          let op = opStart;
          let xb = b * nIn + cOff;
          for (let r = 0; r < n; r++) {
            const pos = tap[tp + op]!;
            cols[row + r] = pos >= 0 ? x[xb + pos]! : 0;
            if (++op === OP) {
              op = 0;
              b++;
              xb += nIn;
            }
          }
        }
      }
      acc.fill(0, 0, Mg * n);
      gemmAcc(w, g * Mg * K, Mg, K, cols, n, acc);
      for (let m = 0; m < Mg; m++) {
        const aRow = m * n;
        let b = bStart;
        let op = opStart;
        let ob = b * nOut + (g * Mg + m) * OP;
        for (let r = 0; r < n; r++) {
          out[ob + op] = acc[aRow + r]!;
          if (++op === OP) {
            op = 0;
            b++;
            ob += nOut;
          }
        }
      }
    }
  }
}

const tapCache = new WeakMap<ConvPlan, Int32Array>();

/** tap[t·OP + op]: input position read by output position op through kernel tap t, or −1 (padding). */
function tapPositions(cp: ConvPlan): Int32Array {
  let tap = tapCache.get(cp);
  if (tap) return tap;
  const OP = cp.win.OH * cp.win.OW;
  tap = new Int32Array(cp.kk * OP).fill(-1);
  const { start, pos, k } = cp.fwd;
  for (let op = 0; op < OP; op++) for (let f = start[op]!; f < start[op + 1]!; f++) tap[k[f]! * OP + op] = pos[f]!;
  tapCache.set(cp, tap);
  return tap;
}

/** Batched dense layer without bias: out[b, j] = Σ_k W̃[j, k] · x[b, k]. x: [B, K], out: [B, N] (overwritten). */
export function denseForward(dp: DensePlan, x: Float64Array, B: number, out: Float64Array): void {
  const { K, N } = dp;
  const xt = new Float32Array(K * B);
  for (let b = 0; b < B; b++) for (let k = 0; k < K; k++) xt[k * B + b] = x[b * K + k]!;
  const acc = new Float64Array(N * B);
  gemmAcc(dp.node.w, 0, N, K, xt, B, acc);
  for (let j = 0; j < N; j++) for (let b = 0; b < B; b++) out[b * N + j] = acc[j * B + b]!;
}
