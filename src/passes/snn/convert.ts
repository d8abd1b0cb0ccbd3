/**
 * nn → snn conversion shared by insert-tsc-encoding and insert-rate-encoding (tsc.md §2–§6).
 * Expects a normalised network (normalize-thresholds): every activation is in units of its λ, so a
 * spike code with value d/T stands for the normalised activation and θ = 1.
 *
 * Each nn value maps to spikes (a neuron population), charge (synapse output not yet fired: a residual
 * branch or the logits), or a pending average pool that the next weight layer absorbs (merge mode).
 */
import { Builder, fmt, fuseLocs, M, tensorType, type Attrs, type Loc, type Module, type Op, type PassContext, type Value } from "../../../ir/index.js";
import { averagePool, globalAveragePool } from "../../../ir/interp/kernels/index.js";

export interface ConvertOptions {
  coding: "tsc" | "rate";
  window: number;
  /** TSC: initial membrane offset in units of θ. */
  phi: number;
  rounding: "round" | "floor";
  avgpool: "merge" | "spike";
  /** Rate: input as constant current or Poisson spikes. */
  mode: "current" | "poisson";
  reset: "subtract" | "zero";
  vInit: number;
  seed: number;
}

/** Average pools (a chain of them) waiting to be absorbed by the next weight layer. */
interface PoolSpec {
  /** The nn value whose spikes are pooled (unpooled input of the first pool). */
  src: Value;
  /** Unpooled shape [?, C, H, W]. */
  inShape: readonly number[];
  /** The pool ops, in order. */
  chain: readonly Op[];
  /** Pooled output shape [?, C, Hp, Wp] (of the last pool). */
  outShape: readonly number[];
  loc: Loc;
}

type Mapped =
  | { kind: "spikes"; v: Value; scale: number }
  | { kind: "charge"; v: Value }
  | { kind: "pool"; pool: PoolSpec }
  | { kind: "pool-flat"; pool: PoolSpec }
  /** A layer that failed to convert (already reported): its dependents are skipped silently. */
  | { kind: "failed" };

/** Thrown to skip an op that depends on a failed one, without a second diagnostic. */
class Skip extends Error {}

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

class ConvertError extends Error {
  constructor(
    msg: string,
    readonly loc: Loc,
  ) {
    super(msg);
  }
}

function f32(v: Value): Float32Array {
  return v.constant!.data as Float32Array;
}

export function convertToSnn(m: Module, ctx: PassContext, o: ConvertOptions): boolean {
  const b = new Builder(m, ctx.ops);
  const oldOps = [...m.ops];
  const users = m.users();
  const map = new Map<Value, Mapped>();
  const input = m.inputs[0];
  if (!input || m.inputs.length !== 1) {
    ctx.diag.report(fmt(M.PassFailed, [`conversion needs exactly one model input, found ${m.inputs.length}`]));
    return false;
  }
  const lambda0 = (m.attrs["input_scale"] as number | undefined) ?? 1;
  let encoded: Value | undefined;
  const encoderAttrs = (extra: Attrs = {}): Attrs => ({
    coding: o.coding,
    window: o.window,
    scale: lambda0,
    rounding: o.rounding,
    mode: o.mode,
    seed: o.seed,
    ...extra,
  });
  const spikesOf = (v: Value, at: Op): { v: Value; scale: number } => {
    if (v === input.value) {
      encoded ??= b.value("snn.encode", [v], encoderAttrs(), input.loc);
      return { v: encoded, scale: lambda0 };
    }
    const mp = map.get(v);
    if (mp?.kind === "spikes") return mp;
    if (mp?.kind === "failed") throw new Skip();
    throw new ConvertError(`${at.name} needs spiking input, but its operand is ${mp ? (mp.kind === "charge" ? "an activation-free layer's output" : "an average pool that could not be merged") : "not convertible"}`, at.loc);
  };
  const constVal = (name: string, shape: number[], data: Float32Array): Value => m.addConst(m.uniqueConstName(name), tensorType(shape), data).value;
  const baseName = (op: Op): string => {
    const w = op.operands[1]?.constant?.name;
    return (w ?? op.name.replace(/^nn\./, "")).replace(/(\.norm)?(\.bn)?(\.in)?(\.weight|\.w)$/, "");
  };
  const neuron = (charge: Value, op: Op, lambda: number): Value =>
    o.coding === "tsc"
      ? b.value("snn.tsc", [charge], { window: o.window, theta: 1, phi: o.phi, lambda }, op.loc)
      : b.value("snn.if", [charge], { window: o.window, theta: 1, reset: o.reset, v_init: o.vInit, lambda }, op.loc);

  /** The dense weight matrix [N, K] of a gemm/matmul (times alpha), and its bias [N] (times beta). */
  const denseWeights = (op: Op): { w: Float32Array; n: number; k: number; bias?: Float32Array } => {
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
  };

  /** Synapses from a mapped source into a weight layer: the charge value. */
  const synapse = (op: Op): Value => {
    const x = op.operands[0]!;
    const mp = x === input.value ? undefined : map.get(x);
    const name = baseName(op);
    if (op.name === "nn.conv") {
      const w = op.operands[1]!;
      const bias = op.operands[2];
      if (!w.constant || (bias && !bias.constant)) throw new ConvertError("weights must be constants", op.loc);
      if (op.ints("dilations").some((d) => d !== 1) && mp?.kind === "pool") throw new ConvertError("a dilated conv cannot absorb an average pool", op.loc);
      if (mp?.kind === "pool") return mergedConv(op, mp.pool, name);
      const src = spikesOf(x, op);
      const wd = f32(w).map((v) => v * src.scale);
      const operands = [src.v, constVal(`${name}.snn.w`, [...w.type.shape], wd)];
      if (bias) operands.push(constVal(`${name}.snn.b`, [...bias.type.shape], f32(bias).slice()));
      return b.value("snn.conv", operands, { kernel_shape: op.ints("kernel_shape"), strides: op.ints("strides"), pads: op.ints("pads"), dilations: op.ints("dilations"), group: op.num("group") }, op.loc);
    }
    const { w, n, k, bias } = denseWeights(op);
    if (mp?.kind === "pool-flat") return mergedDense(op, mp.pool, w, n, k, bias, name);
    if (tensorTypeRank(x) !== 2) throw new ConvertError(`${op.name} on a rank-${tensorTypeRank(x)} input; flatten it first`, op.loc);
    const src = spikesOf(x, op);
    const operands = [src.v, constVal(`${name}.snn.w`, [n, k], w.map((v) => v * src.scale))];
    if (bias) operands.push(constVal(`${name}.snn.b`, [n], bias));
    return b.value("snn.dense", operands, {}, op.loc);
  };

  /** avg pool (k, stride s, no pads) then conv (K, stride S, pads P): one conv with kernel (K−1)s+k, stride S·s, pads P·s. */
  const mergedConv = (conv: Op, pool: PoolSpec, name: string): Value => {
    const w = conv.operands[1]!;
    const [mo, cg, kh, kw] = w.type.shape as [number, number, number, number];
    const only = pool.chain[0]!;
    const [ph, pw] = only.ints("kernel_shape") as [number, number];
    const [sh, sw] = only.ints("strides") as [number, number];
    const KH = (kh - 1) * sh + ph;
    const KW = (kw - 1) * sw + pw;
    const wd = f32(w);
    const src = spikesOf(pool.src, conv);
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
    const operands = [src.v, constVal(`${name}.pool.snn.w`, [mo, cg, KH, KW], out)];
    const bias = conv.operands[2];
    if (bias) operands.push(constVal(`${name}.snn.b`, [...bias.type.shape], f32(bias).slice()));
    const v = b.value("snn.conv", operands, { kernel_shape: [KH, KW], strides: [s[0]! * sh, s[1]! * sw], pads: [p[0]! * sh, p[1]! * sw, p[2]! * sh, p[3]! * sw], dilations: [1, 1], group: conv.num("group") }, fuseLocs(pool.loc, conv.loc));
    if (v.type.shape.join() !== conv.result.type.shape.join()) throw new ConvertError(`merging the average pool changes the output shape (${v.type.shape} vs ${conv.result.type.shape}); use avgpool=spike`, conv.loc);
    return v;
  };

  /**
   * Average pool(s), flatten, dense: one dense layer on the unpooled spikes whose weights are the dense
   * weights pulled back through the pooling chain (exact for any pads, count_include_pad and ceil_mode).
   */
  const mergedDense = (op: Op, pool: PoolSpec, w: Float32Array, n: number, k: number, bias: Float32Array | undefined, name: string): Value => {
    const [, c, h, wd] = pool.inShape as [number, number, number, number];
    const { m: pm, hp, wp } = poolMatrix(pool.chain, h, wd);
    if (k !== c * hp * wp) throw new ConvertError(`dense layer of ${k} inputs after a pool of ${c}×${hp}×${wp}`, op.loc);
    const src = spikesOf(pool.src, op);
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
    const flat = b.value("snn.reshape", [src.v], { shape: [0, kk] }, pool.loc);
    const operands = [flat, constVal(`${name}.pool.snn.w`, [n, kk], out)];
    if (bias) operands.push(constVal(`${name}.snn.b`, [n], bias));
    return b.value("snn.dense", operands, {}, fuseLocs(pool.loc, op.loc));
  };

  /** Whether a pool's result can stay pending: every user absorbs it (conv only after one simple pool). */
  const mergeable = (op: Op, chainSoFar: readonly Op[]): boolean => {
    const us = users.get(op.result) ?? [];
    if (us.length === 0 || m.isOutput(op.result)) return false;
    const simple = chainSoFar.length === 0 && op.name === "nn.average_pool" && op.ints("pads").every((p) => p === 0) && op.num("ceil_mode") === 0 && op.ints("dilations").every((d) => d === 1);
    return us.every((u) => {
      if (u.name === "nn.average_pool" || u.name === "nn.global_average_pool") return mergeable(u, [...chainSoFar, op]);
      if (u.name === "nn.conv") return simple && u.operands[0] === op.result && u.ints("dilations").every((d) => d === 1);
      if (u.name === "nn.flatten" || u.name === "nn.reshape") {
        const flatUsers = users.get(u.result) ?? [];
        return u.result.type.shape.length === 2 && flatUsers.length > 0 && flatUsers.every((f) => (f.name === "nn.gemm" || f.name === "nn.matmul") && f.operands[0] === u.result);
      }
      return false;
    });
  };

  /** Spiking average pool: depthwise synapses 1/k² into neurons of their own. */
  const spikingPool = (op: Op, src: { v: Value; scale: number } = spikesOf(op.operands[0]!, op)): Value => {
    const x = op.operands[0]!;
    const shape = x.type.shape;
    const c = shape[1]!;
    let k: number[];
    let s: number[];
    let p: number[];
    if (op.name === "nn.global_average_pool") {
      k = [shape[2]!, shape[3]!];
      s = [1, 1];
      p = [0, 0, 0, 0];
    } else {
      if (op.num("ceil_mode") !== 0 || op.ints("dilations").some((d) => d !== 1)) throw new ConvertError("average pooling with ceil_mode or dilations cannot be converted", op.loc);
      p = op.ints("pads");
      if (p.some((x2) => x2 !== 0) && op.num("count_include_pad") !== 1) throw new ConvertError("a padded average pool that excludes the padding from its divisor has position-dependent weights; use count_include_pad = 1", op.loc);
      k = op.ints("kernel_shape");
      s = op.ints("strides");
    }
    const wd = new Float32Array(c * k[0]! * k[1]!).fill(src.scale / (k[0]! * k[1]!));
    const charge = b.value("snn.conv", [src.v, constVal(`pool${oldOps.indexOf(op)}.snn.w`, [c, 1, k[0]!, k[1]!], wd)], { kernel_shape: k, strides: s, pads: p, dilations: [1, 1], group: c }, op.loc);
    return neuron(charge, op, (op.attrs["lambda"] as number | undefined) ?? 1);
  };

  const activationOk = (op: Op): void => {
    if (op.attrs["activation"] === "clip") {
      const lo = op.num("clip_min");
      const hi = op.num("clip_max");
      if (lo > 0) throw new ConvertError(`clip to [${lo}, …] with a positive lower bound cannot be carried by spikes`, op.loc);
      if (hi < 1 - 1e-6) throw new ConvertError(`clip upper bound ${hi} is below the layer's λ; raise the percentile`, op.loc);
    }
  };

  let failed = false;
  let softmaxRemoved = false;
  for (const op of oldOps) {
    try {
      switch (op.name) {
        case "nn.conv":
        case "nn.gemm":
        case "nn.matmul": {
          activationOk(op);
          const charge = synapse(op);
          const act = op.attrs["activation"];
          map.set(op.result, act === "relu" || act === "clip" ? { kind: "spikes", v: neuron(charge, op, op.num("lambda")), scale: 1 } : { kind: "charge", v: charge });
          break;
        }
        case "nn.add": {
          const act = op.attrs["activation"];
          if (act !== "relu" && act !== "clip") throw new ConvertError("an Add without a ReLU after it has no spiking counterpart (TSC carries non-negative values only)", op.loc);
          activationOk(op);
          const part = (i: number, factor: number): Value => {
            const v = op.operands[i]!;
            const mp = map.get(v);
            if (mp?.kind === "failed") throw new Skip();
            if (mp?.kind === "charge") {
              if (Math.abs(factor - 1) > 1e-12) throw new ConvertError("a residual branch with a scale factor; normalise the network first", op.loc);
              return mp.v;
            }
            const sp = spikesOf(v, op);
            return b.value("snn.scale", [sp.v], { factor: factor * sp.scale }, op.loc);
          };
          const charge = b.value("snn.add", [part(0, op.num("alpha")), part(1, op.num("beta"))], {}, op.loc);
          map.set(op.result, { kind: "spikes", v: neuron(charge, op, op.num("lambda")), scale: 1 });
          break;
        }
        case "nn.relu":
        case "nn.clip": {
          const x = op.operands[0]!;
          const mp = map.get(x);
          if (mp?.kind === "charge") map.set(op.result, { kind: "spikes", v: neuron(mp.v, op, (op.attrs["lambda"] as number | undefined) ?? 1), scale: 1 });
          else {
            if (op.name === "nn.clip" && (op.num("min") > 0 || op.num("max") < 1 - 1e-6)) throw new ConvertError("a clip narrower than [0, λ] on spikes cannot be converted", op.loc);
            // Spike codes are non-negative and saturate at λ: ReLU (and a wide clip) is the identity here.
            map.set(op.result, { kind: "spikes", ...spikesOf(x, op) });
          }
          break;
        }
        case "nn.max_pool": {
          const src = spikesOf(op.operands[0]!, op);
          const v = b.value("snn.max_pool", [src.v], { kernel_shape: op.ints("kernel_shape"), strides: op.ints("strides"), pads: op.ints("pads"), dilations: op.ints("dilations"), ceil_mode: op.num("ceil_mode") }, op.loc);
          map.set(op.result, { kind: "spikes", v, scale: src.scale });
          break;
        }
        case "nn.average_pool":
        case "nn.global_average_pool": {
          const x = op.operands[0]!;
          const prev = map.get(x);
          if (prev?.kind === "failed") throw new Skip();
          const chain = prev?.kind === "pool" ? prev.pool.chain : [];
          if (o.avgpool === "merge" && x.type.shape.length === 4 && mergeable(op, chain)) {
            const first = prev?.kind === "pool" ? prev.pool : undefined;
            map.set(op.result, { kind: "pool", pool: { src: first?.src ?? x, inShape: first?.inShape ?? x.type.shape, chain: [...chain, op], outShape: op.result.type.shape, loc: fuseLocs(first?.loc ?? op.loc, op.loc) } });
          } else if (prev?.kind === "pool") {
            throw new ConvertError("internal: a pending pool chain was not absorbed", op.loc);
          } else map.set(op.result, { kind: "spikes", v: spikingPool(op), scale: 1 });
          break;
        }
        case "nn.flatten":
        case "nn.reshape": {
          const x = op.operands[0]!;
          const mp = map.get(x);
          if (mp?.kind === "pool") {
            map.set(op.result, { kind: "pool-flat", pool: mp.pool });
            break;
          }
          const src = spikesOf(x, op);
          const target = [0, ...op.result.type.shape.slice(1)];
          map.set(op.result, { kind: "spikes", v: b.value("snn.reshape", [src.v], { shape: target }, op.loc), scale: src.scale });
          break;
        }
        case "nn.concat": {
          const srcs = op.operands.map((v) => spikesOf(v, op));
          if (new Set(srcs.map((s) => s.scale)).size > 1) throw new ConvertError("concatenated inputs have different scales", op.loc);
          map.set(op.result, { kind: "spikes", v: b.value("snn.concat", srcs.map((s) => s.v), { axis: op.num("axis") }, op.loc), scale: srcs[0]!.scale });
          break;
        }
        case "nn.softmax": {
          const mp = map.get(op.operands[0]!);
          if (mp?.kind === "failed") throw new Skip();
          if (!m.isOutput(op.result) || mp?.kind !== "charge") throw new ConvertError("Softmax is supported only as the final op (it is removed: the prediction is the argmax of the logits)", op.loc);
          map.set(op.result, mp);
          softmaxRemoved = true;
          break;
        }
        case "nn.pad": {
          const x = op.operands[0]!;
          if (x !== input.value) throw new ConvertError("an explicit Pad inside the network cannot be converted (fold it into the next layer with fold-pad)", op.loc);
          const pads = op.ints("pads");
          const r = pads.length / 2;
          if (r !== 4 || pads[0] !== 0 || pads[1] !== 0 || pads[4] !== 0 || pads[5] !== 0) throw new ConvertError("only spatial padding of a [N, C, H, W] input converts", op.loc);
          const cv = op.attrs["channel_values"] as number[];
          const values = cv.length ? cv : new Array<number>(x.type.shape[1]!).fill(op.num("value"));
          const enc = b.value("snn.encode", [x], encoderAttrs({ pads: [pads[2]!, pads[3]!, pads[6]!, pads[7]!], pad_values: values }), op.loc);
          map.set(op.result, { kind: "spikes", v: enc, scale: lambda0 });
          break;
        }
        case "nn.identity":
        case "nn.dropout":
          map.set(op.result, map.get(op.operands[0]!)!);
          break;
        default:
          throw new ConvertError(`${op.name} has no spiking counterpart (run canonicalize first: BatchNorm must fold into a conv or gemm)`, op.loc);
      }
    } catch (e) {
      if (e instanceof Skip) {
        op.results.forEach((r) => map.set(r, { kind: "failed" }));
        failed = true;
        continue;
      }
      if (!(e instanceof ConvertError)) throw e;
      ctx.diag.report(fmt(M.PassFailed, [e.message], { loc: e.loc }));
      op.results.forEach((r) => map.set(r, { kind: "failed" }));
      failed = true;
    }
  }
  if (failed) return false;
  // Outputs: the output layer integrates and is read out (tsc.md §3.5).
  for (const out of m.outputs) {
    const mp = out.value === input.value ? undefined : map.get(out.value);
    let charge: Value;
    const loc = out.value.op?.loc ?? input.loc;
    if (mp?.kind === "charge") charge = mp.v;
    else if (mp?.kind === "spikes") charge = b.value("snn.scale", [mp.v], { factor: mp.scale }, loc);
    else {
      ctx.diag.report(fmt(M.PassFailed, [`output '${out.name}' cannot be read from the spiking network`], { loc }));
      return false;
    }
    out.value = b.value("snn.decode", [charge], { window: o.window, lambda: 1 }, loc);
  }
  const fresh = new Set(oldOps);
  m.ops = m.ops.filter((op) => !fresh.has(op));
  m.removeDeadCode();
  m.attrs["coding"] = o.coding;
  m.attrs["window"] = o.window;
  if (softmaxRemoved) m.attrs["softmax_removed"] = true;
  return true;
}

function tensorTypeRank(v: Value): number {
  return v.type.shape.length;
}
