/**
 * Convolution (ONNX Conv, 1-D and 2-D) as im2col + GEMM: the receptive fields of a chunk of images are
 * unfolded into a (C/g·kh·kw) × (images·OH·OW) float32 matrix and multiplied by each group's weight
 * rows with {@link gemmNN}; bias and fused activation are applied when the float64 sums are rounded
 * to float32. Small feature maps are unfolded several images at a time so that the GEMM rows stay long.
 */
import { ShapeError } from "../../opdef.js";
import { fmtShape, windowOutSize } from "../../shapes.js";
import { rtensor, type RTensor } from "../tensor.js";
import { gemmNN, NO_ACTIVATION, type Activation } from "./gemm.js";
import { f32, spatialRank, window2d, type Window2d, type WindowParams } from "./util.js";

export interface ConvParams extends WindowParams {
  readonly group: number;
  readonly activation?: Activation;
}

/** Aim for at least this many GEMM columns per unfolded chunk. */
const MIN_COLUMNS = 256;

/**
 * Unfold `cg` channels of one image (at xOff, h×w each) into rows of `cols` starting at column colOff
 * with row stride `stride`: row (c·kh + ky)·kw + kx holds input (c, oy·sh - pt + ky·dh, ox·sw - pl + kx·dw)
 * for every output position, 0 where that is padding.
 */
function im2col(
  x: Float32Array,
  xOff: number,
  cg: number,
  h: number,
  w: number,
  g: Window2d,
  oh: number,
  ow: number,
  cols: Float32Array,
  colOff: number,
  stride: number,
): void {
  const { kh, kw, sh, sw, dh, dw, pt, pl } = g;
  for (let c = 0; c < cg; c++) {
    const xc = xOff + c * h * w;
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const base = ((c * kh + ky) * kw + kx) * stride + colOff;
        const ix0 = kx * dw - pl;
        // Output columns whose input column ix0 + ox·sw lies inside [0, w).
        let lo = ix0 >= 0 ? 0 : Math.ceil(-ix0 / sw);
        let hi = ix0 > w - 1 ? 0 : Math.floor((w - 1 - ix0) / sw) + 1;
        if (hi > ow) hi = ow;
        if (lo > hi) lo = hi;
        for (let oy = 0; oy < oh; oy++) {
          const iy = oy * sh - pt + ky * dh;
          const d = base + oy * ow;
          if (iy < 0 || iy >= h) {
            for (let ox = 0; ox < ow; ox++) cols[d + ox] = 0;
            continue;
          }
          const src = xc + iy * w + ix0;
          for (let ox = 0; ox < lo; ox++) cols[d + ox] = 0;
          if (sw === 1) for (let ox = lo; ox < hi; ox++) cols[d + ox] = x[src + ox]!;
          else for (let ox = lo; ox < hi; ox++) cols[d + ox] = x[src + ox * sw]!;
          for (let ox = hi; ox < ow; ox++) cols[d + ox] = 0;
        }
      }
    }
  }
}

/** y = act(conv(x, w) + b) with ONNX Conv semantics; x [N, C, (H,) W], w [M, C/group, (kh,) kw], b [M]. */
export function conv(x: RTensor, w: RTensor, b: RTensor | undefined, p: ConvParams): RTensor {
  const rank = spatialRank(x, "convolution");
  const xd = f32(x, "conv input");
  const wd = f32(w, "conv weights");
  const bd = b ? f32(b, "conv bias") : undefined;
  if (w.shape.length !== x.shape.length) throw new ShapeError(`weights ${fmtShape(w.shape)} and input ${fmtShape(x.shape)} differ in rank`);
  const group = p.group;
  const n = x.shape[0]!;
  const c = x.shape[1]!;
  const m = w.shape[0]!;
  if (group < 1 || c % group !== 0 || m % group !== 0) throw new ShapeError(`group ${group} does not divide channels ${c} and ${m}`);
  const cg = c / group;
  const mg = m / group;
  if (w.shape[1] !== cg) throw new ShapeError(`weights ${fmtShape(w.shape)} expect ${w.shape[1]! * group} input channels, input has ${c}`);
  if (!p.kernel.every((k, i) => k === w.shape[2 + i])) throw new ShapeError(`kernel_shape [${p.kernel.join(", ")}] disagrees with weights ${fmtShape(w.shape)}`);
  if (bd && (b!.shape.length !== 1 || b!.shape[0] !== m)) throw new ShapeError(`bias ${fmtShape(b!.shape)} must be [${m}]`);
  const g = window2d(p, rank);
  const h = rank === 2 ? x.shape[2]! : 1;
  const wi = x.shape[rank === 2 ? 3 : 2]!;
  const oh = windowOutSize(h, g.kh, g.sh, g.pt, g.pb, g.dh, false);
  const ow = windowOutSize(wi, g.kw, g.sw, g.pl, g.pr, g.dw, false);
  const outShape = rank === 2 ? [n, m, oh, ow] : [n, m, ow];
  const y = new Float32Array(n * m * oh * ow);
  const act = p.activation ?? NO_ACTIVATION;
  const lo = act.lo;
  const hi = act.hi;

  const P = oh * ow;
  const K = cg * g.kh * g.kw;
  const hw = h * wi;
  const pointwise = g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.pt === 0 && g.pl === 0 && g.pb === 0 && g.pr === 0;
  // Images unfolded together; a pointwise conv on a large map reads the input in place instead.
  const chunk = P >= MIN_COLUMNS ? 1 : Math.min(n, Math.ceil(MIN_COLUMNS / Math.max(P, 1)));
  const direct = pointwise && chunk === 1;
  const cols = direct ? undefined : new Float32Array(K * chunk * P);
  const acc = new Float64Array(mg * chunk * P);

  for (let n0 = 0; n0 < n; n0 += chunk) {
    const nb = Math.min(chunk, n - n0);
    const cw = nb * P;
    for (let gi = 0; gi < group; gi++) {
      let src: Float32Array;
      let srcOff: number;
      if (direct) {
        src = xd;
        srcOff = (n0 * c + gi * cg) * hw;
      } else {
        for (let t = 0; t < nb; t++) im2col(xd, ((n0 + t) * c + gi * cg) * hw, cg, h, wi, g, oh, ow, cols!, t * P, cw);
        src = cols!;
        srcOff = 0;
      }
      gemmNN(wd, gi * mg * K, src, srcOff, acc, 0, mg, K, cw);
      for (let mm = 0; mm < mg; mm++) {
        const oc = gi * mg + mm;
        const bias = bd ? bd[oc]! : 0;
        for (let t = 0; t < nb; t++) {
          const yo = ((n0 + t) * m + oc) * P;
          const ao = mm * cw + t * P;
          for (let q = 0; q < P; q++) {
            let v = acc[ao + q]! + bias;
            v = v < lo ? lo : v;
            y[yo + q] = v > hi ? hi : v;
          }
        }
      }
    }
  }
  return rtensor(outShape, "f32", y);
}
