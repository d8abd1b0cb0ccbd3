/**
 * Dense matrix-product cores shared by conv (im2col), gemm and matmul, plus the fused activation.
 *
 * Numerics: every dot product is accumulated in float64 (JS arithmetic; a product of two float32 is
 * exact in float64) and rounded to float32 once, when the caller stores the result. Performance: the
 * cores are written for V8's scalar code: row-major Float32Array operands, i-k-j loop order with
 * hoisted row offsets, 4 rows × 4 k register blocking (each B element loaded once feeds 4 rows and each
 * accumulator update consumes 4 k steps) and column tiles that keep the accumulators in L1.
 */

/** Elementwise activation fused into a layer: y = min(max(x, lo), hi). relu is [0, +inf). */
export interface Activation {
  readonly lo: number;
  readonly hi: number;
}

export const NO_ACTIVATION: Activation = { lo: -Infinity, hi: Infinity };

/** The activation described by an op's `activation`, `clip_min`, `clip_max` attributes. */
export function activationOf(kind: string | undefined, clipMin?: number, clipMax?: number): Activation {
  switch (kind ?? "none") {
    case "none":
      return NO_ACTIVATION;
    case "relu":
      return { lo: 0, hi: Infinity };
    case "clip":
      return { lo: clipMin ?? -Infinity, hi: clipMax ?? Infinity };
    default:
      throw new Error(`unknown fused activation '${kind}'`);
  }
}

/** True when the activation is the identity. */
export function isIdentity(act: Activation): boolean {
  return act.lo === -Infinity && act.hi === Infinity;
}

/** Column tile: 4 accumulator rows of 512 doubles = 16 KiB. */
const JT = 512;

/**
 * C = A·B for row-major A (m×k, at aOff) and B (k×n, at bOff), written (not accumulated) to the
 * float64 matrix C (m×n, at cOff). All dot products are summed in float64.
 */
export function gemmNN(
  a: Float32Array,
  aOff: number,
  b: Float32Array,
  bOff: number,
  c: Float64Array,
  cOff: number,
  m: number,
  k: number,
  n: number,
): void {
  c.fill(0, cOff, cOff + m * n);
  if (k === 0 || n === 0) return;
  const k4 = k - (k % 4);
  for (let j0 = 0; j0 < n; j0 += JT) {
    const jn = Math.min(JT, n - j0);
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      const r0 = aOff + i * k;
      const r1 = r0 + k;
      const r2 = r1 + k;
      const r3 = r2 + k;
      const c0 = cOff + i * n + j0;
      const c1 = c0 + n;
      const c2 = c1 + n;
      const c3 = c2 + n;
      let kk = 0;
      for (; kk < k4; kk += 4) {
        const a00 = a[r0 + kk]!, a01 = a[r0 + kk + 1]!, a02 = a[r0 + kk + 2]!, a03 = a[r0 + kk + 3]!;
        const a10 = a[r1 + kk]!, a11 = a[r1 + kk + 1]!, a12 = a[r1 + kk + 2]!, a13 = a[r1 + kk + 3]!;
        const a20 = a[r2 + kk]!, a21 = a[r2 + kk + 1]!, a22 = a[r2 + kk + 2]!, a23 = a[r2 + kk + 3]!;
        const a30 = a[r3 + kk]!, a31 = a[r3 + kk + 1]!, a32 = a[r3 + kk + 2]!, a33 = a[r3 + kk + 3]!;
        const b0 = bOff + kk * n + j0;
        const b1 = b0 + n;
        const b2 = b1 + n;
        const b3 = b2 + n;
        for (let j = 0; j < jn; j++) {
          const x0 = b[b0 + j]!, x1 = b[b1 + j]!, x2 = b[b2 + j]!, x3 = b[b3 + j]!;
          c[c0 + j] += a00 * x0 + a01 * x1 + a02 * x2 + a03 * x3;
          c[c1 + j] += a10 * x0 + a11 * x1 + a12 * x2 + a13 * x3;
          c[c2 + j] += a20 * x0 + a21 * x1 + a22 * x2 + a23 * x3;
          c[c3 + j] += a30 * x0 + a31 * x1 + a32 * x2 + a33 * x3;
        }
      }
      for (; kk < k; kk++) {
        const a0 = a[r0 + kk]!, a1 = a[r1 + kk]!, a2 = a[r2 + kk]!, a3 = a[r3 + kk]!;
        const b0 = bOff + kk * n + j0;
        for (let j = 0; j < jn; j++) {
          const x = b[b0 + j]!;
          c[c0 + j] += a0 * x;
          c[c1 + j] += a1 * x;
          c[c2 + j] += a2 * x;
          c[c3 + j] += a3 * x;
        }
      }
    }
    for (; i < m; i++) {
      const r0 = aOff + i * k;
      const c0 = cOff + i * n + j0;
      let kk = 0;
      for (; kk < k4; kk += 4) {
        const a0 = a[r0 + kk]!, a1 = a[r0 + kk + 1]!, a2 = a[r0 + kk + 2]!, a3 = a[r0 + kk + 3]!;
        const b0 = bOff + kk * n + j0;
        const b1 = b0 + n;
        const b2 = b1 + n;
        const b3 = b2 + n;
        for (let j = 0; j < jn; j++) c[c0 + j] += a0 * b[b0 + j]! + a1 * b[b1 + j]! + a2 * b[b2 + j]! + a3 * b[b3 + j]!;
      }
      for (; kk < k; kk++) {
        const a0 = a[r0 + kk]!;
        const b0 = bOff + kk * n + j0;
        for (let j = 0; j < jn; j++) c[c0 + j] += a0 * b[b0 + j]!;
      }
    }
  }
}

/**
 * C = A·Bᵀ for row-major A (m×k, at aOff) and Bt (n×k, at btOff), i.e. every entry is a dot product
 * of two contiguous rows; written to the float64 matrix C (m×n, at cOff). 2 × 4 register blocking.
 * This is the layout of Gemm with transB = 1 (PyTorch's Linear), which needs no transposition.
 */
export function gemmNT(
  a: Float32Array,
  aOff: number,
  bt: Float32Array,
  btOff: number,
  c: Float64Array,
  cOff: number,
  m: number,
  k: number,
  n: number,
): void {
  let i = 0;
  for (; i + 2 <= m; i += 2) {
    const r0 = aOff + i * k;
    const r1 = r0 + k;
    const o0 = cOff + i * n;
    const o1 = o0 + n;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const q0 = btOff + j * k;
      const q1 = q0 + k;
      const q2 = q1 + k;
      const q3 = q2 + k;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      for (let kk = 0; kk < k; kk++) {
        const x0 = a[r0 + kk]!, x1 = a[r1 + kk]!;
        const y0 = bt[q0 + kk]!, y1 = bt[q1 + kk]!, y2 = bt[q2 + kk]!, y3 = bt[q3 + kk]!;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s02 += x0 * y2;
        s03 += x0 * y3;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s12 += x1 * y2;
        s13 += x1 * y3;
      }
      c[o0 + j] = s00;
      c[o0 + j + 1] = s01;
      c[o0 + j + 2] = s02;
      c[o0 + j + 3] = s03;
      c[o1 + j] = s10;
      c[o1 + j + 1] = s11;
      c[o1 + j + 2] = s12;
      c[o1 + j + 3] = s13;
    }
    for (; j < n; j++) {
      const q0 = btOff + j * k;
      let s0 = 0, s1 = 0;
      for (let kk = 0; kk < k; kk++) {
        const y = bt[q0 + kk]!;
        s0 += a[r0 + kk]! * y;
        s1 += a[r1 + kk]! * y;
      }
      c[o0 + j] = s0;
      c[o1 + j] = s1;
    }
  }
  for (; i < m; i++) {
    const r0 = aOff + i * k;
    const o0 = cOff + i * n;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const q0 = btOff + j * k;
      const q1 = q0 + k;
      const q2 = q1 + k;
      const q3 = q2 + k;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let kk = 0; kk < k; kk++) {
        const x = a[r0 + kk]!;
        s0 += x * bt[q0 + kk]!;
        s1 += x * bt[q1 + kk]!;
        s2 += x * bt[q2 + kk]!;
        s3 += x * bt[q3 + kk]!;
      }
      c[o0 + j] = s0;
      c[o0 + j + 1] = s1;
      c[o0 + j + 2] = s2;
      c[o0 + j + 3] = s3;
    }
    for (; j < n; j++) {
      const q0 = btOff + j * k;
      let s = 0;
      for (let kk = 0; kk < k; kk++) s += a[r0 + kk]! * bt[q0 + kk]!;
      c[o0 + j] = s;
    }
  }
}

/** Row-major transpose of an r×c float32 matrix (at off) into a new c×r matrix. */
export function transpose2d(x: Float32Array, off: number, r: number, c: number): Float32Array {
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) {
    const src = off + i * c;
    for (let j = 0; j < c; j++) out[j * r + i] = x[src + j]!;
  }
  return out;
}

/** Apply an activation in place to a float32 range. */
export function activateInPlace(y: Float32Array, act: Activation, from = 0, to = y.length): void {
  if (isIdentity(act)) return;
  const lo = act.lo;
  const hi = act.hi;
  for (let i = from; i < to; i++) {
    let v = y[i]!;
    v = v < lo ? lo : v;
    y[i] = v > hi ? hi : v;
  }
}
