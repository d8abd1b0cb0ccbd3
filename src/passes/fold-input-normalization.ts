/**
 * Fold a declared input normalisation into the first layer (tsc.md §2), so the network takes raw
 * values x_raw ∈ [0, scale] with x_model = (x_raw/scale − mean_c)/std_c:
 *   W'[:, c] = W[:, c] / (scale·std_c),   b' = b − Σ_c W[:, c]·mean_c/std_c (summed over c's taps),
 * and the first layer's zero padding of the normalised input becomes padding of the raw input with
 * scale·mean_c (an explicit per-channel Pad), which keeps the fold exact at the borders.
 */
import { definePass, fmt, M, Op, tensorType, type Module, type PassContext, type Value } from "../../ir/index.js";

export function parseFloatList(text: string, what: string): number[] {
  if (text.trim() === "") return [];
  const out = text.split(",").map((s) => Number(s.trim()));
  if (out.some((x) => !Number.isFinite(x))) throw new Error(`${what} must be a comma-separated list of numbers, got '${text}'`);
  return out;
}

function perChannel(v: number[], c: number, def: number): number[] {
  if (v.length === 0) return new Array<number>(c).fill(def);
  if (v.length === 1) return new Array<number>(c).fill(v[0]!);
  return v;
}

function fail(ctx: PassContext, op: Op | undefined, msg: string): void {
  ctx.diag.report(fmt(M.PassFailed, [`fold-input-normalization: ${msg}`], op ? { loc: op.loc } : {}));
}

/** Fold into a conv reading the input directly. Returns false (after reporting) if impossible. */
function foldConv(m: Module, ctx: PassContext, conv: Op, x: Value, scale: number, mean: number[], std: number[]): boolean {
  const w = conv.operands[1]!.constant;
  const bv = conv.operands[2]?.constant;
  if (!w || (conv.operands[2] && !bv)) {
    fail(ctx, conv, "the first layer's weights are not constants");
    return false;
  }
  if (conv.num("group") !== 1) {
    fail(ctx, conv, "the first conv is grouped; fold the normalisation by hand");
    return false;
  }
  const [mo, ci, kh, kw] = w.type.shape as [number, number, number, number];
  const wd = w.data as Float32Array;
  const bd = bv ? (bv.data as Float32Array) : new Float32Array(mo);
  const w2 = new Float32Array(wd.length);
  const b2 = new Float32Array(mo);
  const taps = kh * kw;
  for (let o = 0; o < mo; o++) {
    let shift = 0;
    for (let c = 0; c < ci; c++) {
      for (let t = 0; t < taps; t++) {
        const idx = (o * ci + c) * taps + t;
        w2[idx] = wd[idx]! / (scale * std[c]!);
        shift += (wd[idx]! * mean[c]!) / std[c]!;
      }
    }
    b2[o] = bd[o]! - shift;
  }
  const pads = conv.ints("pads");
  let src: Value = x;
  if (pads.some((p) => p !== 0)) {
    // Explicit per-channel pad of the raw input with scale·mean_c, then a conv without padding.
    const r = x.type.shape.length;
    const full = new Array<number>(2 * r).fill(0);
    for (let i = 0; i < r - 2; i++) {
      full[2 + i] = pads[i]!;
      full[r + 2 + i] = pads[r - 2 + i]!;
    }
    const padOp = new Op(
      ctx.ops.get("nn.pad")!,
      [x],
      [tensorType(x.type.shape.map((d, i) => (i >= 2 ? d + full[i]! + full[i + r]! : d)))],
      { pads: full, value: 0, channel_values: mean.map((mu) => mu * scale) },
      conv.loc,
    );
    m.insertBefore(conv, padOp);
    src = padOp.result;
    conv.attrs = { ...conv.attrs, pads: pads.map(() => 0) };
  }
  const base = w.name.replace(/\.weight$|\.w$/, "");
  conv.operands = [src, m.addConst(m.uniqueConstName(`${base}.in.w`), tensorType(w.type.shape), w2).value, m.addConst(m.uniqueConstName(`${base}.in.b`), tensorType([mo]), b2).value];
  return true;
}

/** Fold into a gemm/matmul reading the (flattened) input directly: no padding involved. */
function foldDense(m: Module, ctx: PassContext, op: Op, scale: number, mean: number[], std: number[], channels: number, perChannelSize: number): boolean {
  const bc = op.operands[1]!.constant;
  if (!bc || (op.name === "nn.gemm" && op.num("transA") === 1)) {
    fail(ctx, op, "the first layer's weights are not constants");
    return false;
  }
  const shape = bc.type.shape;
  const transB = op.name === "nn.gemm" && op.num("transB") === 1;
  const n = transB ? shape[0]! : shape[1]!;
  const k = transB ? shape[1]! : shape[0]!;
  if (k !== channels * perChannelSize) {
    fail(ctx, op, `input features ${k} do not split into ${channels} channels`);
    return false;
  }
  const wd = bc.data as Float32Array;
  const w2 = new Float32Array(wd.length);
  const shift = new Float64Array(n);
  for (let r = 0; r < k; r++) {
    const c = Math.floor(r / perChannelSize);
    for (let j = 0; j < n; j++) {
      const idx = transB ? j * k + r : r * n + j;
      w2[idx] = wd[idx]! / (scale * std[c]!);
      shift[j] += (wd[idx]! * mean[c]!) / std[c]!;
    }
  }
  const alpha = op.name === "nn.gemm" ? op.num("alpha") : 1;
  const beta = op.name === "nn.gemm" ? op.num("beta") : 1;
  const cOld = op.operands[2]?.constant;
  const b2 = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    const cj = cOld ? (cOld.data as Float32Array)[cOld.data.length === 1 ? 0 : j]! : 0;
    b2[j] = beta * cj - alpha * shift[j]!;
  }
  const base = bc.name.replace(/\.weight$|\.w$/, "");
  const wv = m.addConst(m.uniqueConstName(`${base}.in.w`), tensorType(shape), w2).value;
  const bv = m.addConst(m.uniqueConstName(`${base}.in.b`), tensorType([n]), b2).value;
  if (op.name === "nn.gemm") {
    op.operands = [op.operands[0]!, wv, bv];
    op.attrs = { ...op.attrs, beta: 1 };
  } else {
    // matmul: the shifted bias needs a bias operand, so it becomes the equivalent gemm.
    const attrs = { alpha: 1, beta: 1, transA: 0, transB: 0, activation: op.attrs["activation"] ?? "none", clip_min: op.attrs["clip_min"] ?? 0, clip_max: op.attrs["clip_max"] ?? Infinity, lambda: op.attrs["lambda"] ?? 1 };
    const gemm = new Op(ctx.ops.get("nn.gemm")!, [op.operands[0]!, wv, bv], [op.result.type], attrs, op.loc);
    m.insertBefore(op, gemm);
    m.replaceAllUses(op.result, gemm.result);
    m.erase(op);
  }
  return true;
}

export const foldInputNormalizationPass = definePass({
  name: "fold-input-normalization",
  summary: "fold a declared input scaling and per-channel mean/std into the first layer (raw inputs in [0, scale])",
  options: {
    scale: { kind: "float", default: 1, doc: "raw input range [0, scale]; the model sees x/scale" },
    mean: { kind: "str", default: "", doc: "per-channel mean(s) the model subtracts, comma-separated" },
    std: { kind: "str", default: "", doc: "per-channel standard deviation(s) the model divides by, comma-separated" },
    "from-metadata": { kind: "bool", default: true, doc: "when mean/std are not given, use the model's tscc.input_mean / tscc.input_std metadata" },
  },
  run(m, ctx) {
    const scale = ctx.options["scale"] as number;
    let mean: number[];
    let std: number[];
    let meanText = ctx.options["mean"] as string;
    let stdText = ctx.options["std"] as string;
    const meta = (ctx.inputs["metadata"] ?? {}) as Record<string, string>;
    if (!meanText && !stdText && ctx.options["from-metadata"] === true && (meta["tscc.input_mean"] || meta["tscc.input_std"])) {
      meanText = meta["tscc.input_mean"] ?? "";
      stdText = meta["tscc.input_std"] ?? "";
      ctx.diag.report(fmt(M.PassNote, [`using the input normalisation recorded in the model's metadata: mean ${meanText || "0"}, std ${stdText || "1"} (override with --mean/--std)`]));
    }
    try {
      mean = parseFloatList(meanText, "mean");
      std = parseFloatList(stdText, "std");
    } catch (e) {
      fail(ctx, undefined, (e as Error).message);
      return { changed: false };
    }
    if (scale <= 0 || std.some((s) => s <= 0)) {
      fail(ctx, undefined, "scale and std must be positive");
      return { changed: false };
    }
    if (scale === 1 && mean.every((x) => x === 0) && std.every((x) => x === 1)) return { changed: false };
    if (m.inputs.length !== 1) {
      fail(ctx, undefined, `the model has ${m.inputs.length} inputs; input normalisation folding needs exactly one`);
      return { changed: false };
    }
    const x = m.inputs[0]!.value;
    const c = x.type.shape[1] ?? 1;
    if ((mean.length > 1 && mean.length !== c) || (std.length > 1 && std.length !== c)) {
      fail(ctx, undefined, `mean/std give ${Math.max(mean.length, std.length)} values, the input has ${c} channels`);
      return { changed: false };
    }
    const mu = perChannel(mean, c, 0);
    const sd = perChannel(std, c, 1);
    const users = m.users().get(x) ?? [];
    if (users.length !== 1) {
      fail(ctx, users[0], `the input feeds ${users.length} ops; folding needs a single first layer`);
      return { changed: false };
    }
    let first = users[0]!;
    let ok: boolean;
    if (first.name === "nn.conv" && first.operands[0] === x) ok = foldConv(m, ctx, first, x, scale, mu, sd);
    else {
      // Allow a flatten/reshape between the input and a dense first layer.
      let perChannelSize = x.type.shape.slice(2).reduce((a, b) => a * b, 1);
      if (first.name === "nn.flatten" || first.name === "nn.reshape") {
        const next = m.users().get(first.result) ?? [];
        if (next.length !== 1) {
          fail(ctx, first, "the flattened input feeds several ops");
          return { changed: false };
        }
        first = next[0]!;
      } else if (x.type.shape.length === 2) {
        perChannelSize = 1;
      }
      if ((first.name === "nn.gemm" || first.name === "nn.matmul") && first.operands[1]!.constant) {
        ok = foldDense(m, ctx, first, scale, mu, sd, x.type.shape.length === 2 ? x.type.shape[1]! : c, x.type.shape.length === 2 ? 1 : perChannelSize);
      } else {
        fail(ctx, first, `the first layer is ${first.name}; the normalisation can be folded into a conv, gemm or matmul`);
        return { changed: false };
      }
    }
    if (!ok) return { changed: false };
    m.attrs["input_scale"] = scale;
    if (mean.length) m.attrs["input_mean"] = mu;
    if (std.length) m.attrs["input_std"] = sd;
    m.removeDeadCode();
    return { changed: true };
  },
});
