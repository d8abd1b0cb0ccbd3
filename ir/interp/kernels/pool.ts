/**
 * Pooling (ONNX MaxPool, AveragePool, GlobalAveragePool), 1-D and 2-D windows.
 *
 * Output sizes follow onnxruntime (`windowOutSize`): with ceil_mode a last window that would start in
 * the end padding is dropped, at every opset (the ONNX spec only says so from opset 19 on).
 * Padding never wins a max (it acts as -inf). AveragePool's divisor is, per axis and multiplied:
 * - count_include_pad = 0: the window taps inside the input;
 * - count_include_pad = 1: the window taps inside the padded input [-pad_begin, size + pad_end). With
 *   ceil_mode a last window can run past the end padding; the taps beyond it are not counted (this is
 *   what onnxruntime, PyTorch and the ONNX reference implementation do).
 */
import { ShapeError } from "../../opdef.js";
import { windowOutSize } from "../../shapes.js";
import { rtensor, type RTensor } from "../tensor.js";
import { count, f32, spatialRank, window2d, type WindowParams } from "./util.js";

export interface PoolParams extends WindowParams {
  readonly ceilMode: boolean;
  /** AveragePool only. */
  readonly countIncludePad?: boolean;
}

/** Per output position along one axis: the first input coordinate and the tap ranges. */
interface AxisPlan {
  readonly out: number;
  /** Input coordinate of tap 0 (may be negative, in the begin padding). */
  readonly start: Int32Array;
  /** Taps [tapLo, tapHi) land inside the input. */
  readonly tapLo: Int32Array;
  readonly tapHi: Int32Array;
  /** Taps inside the padded input [-padBegin, size + padEnd). */
  readonly padded: Int32Array;
}

function axisPlan(size: number, k: number, s: number, d: number, pb: number, pe: number, ceil: boolean): AxisPlan {
  const out = windowOutSize(size, k, s, pb, pe, d, ceil);
  const start = new Int32Array(out);
  const tapLo = new Int32Array(out);
  const tapHi = new Int32Array(out);
  const padded = new Int32Array(out);
  for (let o = 0; o < out; o++) {
    const st = o * s - pb;
    start[o] = st;
    // taps t with 0 ≤ st + t·d < size
    const lo = st >= 0 ? 0 : Math.ceil(-st / d);
    const hi = st > size - 1 ? 0 : Math.min(k, Math.floor((size - 1 - st) / d) + 1);
    tapLo[o] = Math.min(lo, k);
    tapHi[o] = Math.max(hi, tapLo[o]!);
    // taps with st + t·d < size + pe (st ≥ -pb always holds)
    const end = size + pe - 1 - st;
    padded[o] = end < 0 ? 0 : Math.min(k, Math.floor(end / d) + 1);
  }
  return { out, start, tapLo, tapHi, padded };
}

function plans(x: RTensor, p: PoolParams, what: string) {
  const rank = spatialRank(x, what);
  const g = window2d(p, rank);
  const h = rank === 2 ? x.shape[2]! : 1;
  const w = x.shape[rank === 2 ? 3 : 2]!;
  const ph = axisPlan(h, g.kh, g.sh, g.dh, g.pt, g.pb, p.ceilMode);
  const pw = axisPlan(w, g.kw, g.sw, g.dw, g.pl, g.pr, p.ceilMode);
  const nc = x.shape[0]! * x.shape[1]!;
  const shape = rank === 2 ? [x.shape[0]!, x.shape[1]!, ph.out, pw.out] : [x.shape[0]!, x.shape[1]!, pw.out];
  return { g, h, w, ph, pw, nc, shape };
}

export function maxPool(x: RTensor, p: PoolParams): RTensor {
  const xd = f32(x, "MaxPool input");
  const { g, h, w, ph, pw, nc, shape } = plans(x, p, "max pooling");
  const y = new Float32Array(count(shape));
  const { dh, dw } = g;
  let o = 0;
  for (let c = 0; c < nc; c++) {
    const xc = c * h * w;
    for (let oy = 0; oy < ph.out; oy++) {
      const sy = ph.start[oy]!;
      const y0 = ph.tapLo[oy]!;
      const y1 = ph.tapHi[oy]!;
      for (let ox = 0; ox < pw.out; ox++) {
        const sx = pw.start[ox]!;
        const x0 = pw.tapLo[ox]!;
        const x1 = pw.tapHi[ox]!;
        let best = -Infinity;
        for (let ty = y0; ty < y1; ty++) {
          const row = xc + (sy + ty * dh) * w + sx;
          for (let tx = x0; tx < x1; tx++) {
            const v = xd[row + tx * dw]!;
            if (v > best) best = v;
          }
        }
        y[o++] = best;
      }
    }
  }
  return rtensor(shape, "f32", y);
}

export function averagePool(x: RTensor, p: PoolParams): RTensor {
  const xd = f32(x, "AveragePool input");
  const { g, h, w, ph, pw, nc, shape } = plans(x, p, "average pooling");
  const y = new Float32Array(count(shape));
  const { dh, dw } = g;
  const includePad = p.countIncludePad === true;
  let o = 0;
  for (let c = 0; c < nc; c++) {
    const xc = c * h * w;
    for (let oy = 0; oy < ph.out; oy++) {
      const sy = ph.start[oy]!;
      const y0 = ph.tapLo[oy]!;
      const y1 = ph.tapHi[oy]!;
      for (let ox = 0; ox < pw.out; ox++) {
        const sx = pw.start[ox]!;
        const x0 = pw.tapLo[ox]!;
        const x1 = pw.tapHi[ox]!;
        let sum = 0;
        for (let ty = y0; ty < y1; ty++) {
          const row = xc + (sy + ty * dh) * w + sx;
          for (let tx = x0; tx < x1; tx++) sum += xd[row + tx * dw]!;
        }
        const div = includePad ? ph.padded[oy]! * pw.padded[ox]! : (y1 - y0) * (x1 - x0);
        // A window entirely in the padding (pads ≥ kernel, which onnxruntime rejects) averages to 0.
        y[o++] = div > 0 ? sum / div : 0;
      }
    }
  }
  return rtensor(shape, "f32", y);
}

/** Mean over all spatial axes (any spatial rank). */
export function globalAveragePool(x: RTensor): RTensor {
  const xd = f32(x, "GlobalAveragePool input");
  if (x.shape.length < 3) throw new ShapeError(`GlobalAveragePool input [${x.shape.join(", ")}] has no spatial axes`);
  const nc = x.shape[0]! * x.shape[1]!;
  const s = count(x.shape.slice(2));
  const y = new Float32Array(nc);
  for (let c = 0; c < nc; c++) {
    let sum = 0;
    const off = c * s;
    for (let i = 0; i < s; i++) sum += xd[off + i]!;
    y[c] = s > 0 ? sum / s : NaN;
  }
  return rtensor([x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)], "f32", y);
}
