/**
 * One small converter per nn op kind (tsc.md §2–§6). Each reads where its operands went
 * (`Conversion.map`) and records where its result goes: spikes of a neuron population, charge not yet
 * fired (a residual branch or the logits), or an average pool that the next weight layer absorbs.
 */
import { fuseLocs, type Op, type Value } from "../../../ir/index.js";
import { ConvertError, type Conversion, type SpikeSource } from "./conversion.js";
import { synapses } from "./synapses.js";

export type OpConverter = (cv: Conversion, op: Op) => void;

function activationOk(op: Op): void {
  if (op.attrs["activation"] === "clip") {
    const lo = op.num("clip_min");
    const hi = op.num("clip_max");
    if (lo > 0) throw new ConvertError(`clip to [${lo}, …] with a positive lower bound cannot be carried by spikes`, op.loc);
    if (hi < 1 - 1e-6) throw new ConvertError(`clip upper bound ${hi} is below the layer's λ; raise the percentile`, op.loc);
  }
}

function hasActivation(op: Op): boolean {
  const act = op.attrs["activation"];
  return act === "relu" || act === "clip";
}

/** conv, gemm, matmul: synapses, then neurons when the layer has an activation, else charge. */
const weightLayer: OpConverter = (cv, op) => {
  activationOk(op);
  const charge = synapses(cv, op);
  cv.map.set(op.result, hasActivation(op) ? { kind: "spikes", v: cv.neuron(charge, op, op.num("lambda")), scale: 1 } : { kind: "charge", v: charge });
};

/** Residual Add + ReLU: one membrane integrates both parts across their windows (tsc.md §6.4). */
const residualAdd: OpConverter = (cv, op) => {
  if (!hasActivation(op)) throw new ConvertError("an Add without a ReLU after it has no spiking counterpart (TSC carries non-negative values only)", op.loc);
  activationOk(op);
  const part = (i: number, factor: number): Value => {
    const v = op.operands[i]!;
    const mp = cv.mapped(v);
    if (mp?.kind === "charge") {
      if (Math.abs(factor - 1) > 1e-12) throw new ConvertError("a residual branch with a scale factor; normalise the network first", op.loc);
      return mp.v;
    }
    const sp = cv.spikesOf(v, op);
    return cv.b.value("snn.scale", [sp.v], { factor: factor * sp.scale }, op.loc);
  };
  const charge = cv.b.value("snn.add", [part(0, op.num("alpha")), part(1, op.num("beta"))], {}, op.loc);
  cv.setSpikes(op.result, cv.neuron(charge, op, op.num("lambda")));
};

/** A ReLU or Clip left unfused: neurons on charge; on spikes the identity (codes are ≥ 0 and saturate at λ). */
const activation: OpConverter = (cv, op) => {
  const x = op.operands[0]!;
  const mp = cv.mapped(x);
  if (mp?.kind === "charge") {
    cv.setSpikes(op.result, cv.neuron(mp.v, op, (op.attrs["lambda"] as number | undefined) ?? 1));
    return;
  }
  if (op.name === "nn.clip" && (op.num("min") > 0 || op.num("max") < 1 - 1e-6)) throw new ConvertError("a clip narrower than [0, λ] on spikes cannot be converted", op.loc);
  cv.map.set(op.result, { kind: "spikes", ...cv.spikesOf(x, op) });
};

/** Max pool: OR of switches (TSC) or the running-count gate (rate); no window, no arithmetic. */
const maxPool: OpConverter = (cv, op) => {
  const src = cv.spikesOf(op.operands[0]!, op);
  const v = cv.b.value("snn.max_pool", [src.v], { kernel_shape: op.ints("kernel_shape"), strides: op.ints("strides"), pads: op.ints("pads"), dilations: op.ints("dilations"), ceil_mode: op.num("ceil_mode") }, op.loc);
  cv.setSpikes(op.result, v, src.scale);
};

/** Whether a pool's result can stay pending: every user absorbs it (conv only after one simple pool). */
function mergeable(cv: Conversion, op: Op, chainSoFar: readonly Op[]): boolean {
  const us = cv.users.get(op.result) ?? [];
  if (us.length === 0 || cv.m.isOutput(op.result)) return false;
  const simple = chainSoFar.length === 0 && op.name === "nn.average_pool" && op.ints("pads").every((p) => p === 0) && op.num("ceil_mode") === 0 && op.ints("dilations").every((d) => d === 1);
  return us.every((u) => {
    if (u.name === "nn.average_pool" || u.name === "nn.global_average_pool") return mergeable(cv, u, [...chainSoFar, op]);
    if (u.name === "nn.conv") return simple && u.operands[0] === op.result && u.ints("dilations").every((d) => d === 1);
    if (u.name === "nn.flatten" || u.name === "nn.reshape") {
      const flatUsers = cv.users.get(u.result) ?? [];
      return u.result.type.shape.length === 2 && flatUsers.length > 0 && flatUsers.every((f) => (f.name === "nn.gemm" || f.name === "nn.matmul") && f.operands[0] === u.result);
    }
    return false;
  });
}

/** Spiking average pool: depthwise synapses 1/k² into neurons of their own. */
function spikingPool(cv: Conversion, op: Op, src: SpikeSource): Value {
  const shape = op.operands[0]!.type.shape;
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
  const charge = cv.b.value("snn.conv", [src.v, cv.constVal(`pool${cv.nnOps.indexOf(op)}.snn.w`, [c, 1, k[0]!, k[1]!], wd)], { kernel_shape: k, strides: s, pads: p, dilations: [1, 1], group: c }, op.loc);
  return cv.neuron(charge, op, (op.attrs["lambda"] as number | undefined) ?? 1);
}

/** Average pool: pending (merged into the next weight layer) or a spiking layer (`avgpool=spike`). */
const averagePool: OpConverter = (cv, op) => {
  const x = op.operands[0]!;
  const prev = cv.mapped(x);
  const chain = prev?.kind === "pool" ? prev.pool.chain : [];
  if (cv.o.avgpool === "merge" && x.type.shape.length === 4 && mergeable(cv, op, chain)) {
    const first = prev?.kind === "pool" ? prev.pool : undefined;
    cv.map.set(op.result, { kind: "pool", pool: { src: first?.src ?? x, inShape: first?.inShape ?? x.type.shape, chain: [...chain, op], outShape: op.result.type.shape, loc: fuseLocs(first?.loc ?? op.loc, op.loc) } });
  } else if (prev?.kind === "pool") {
    throw new ConvertError("internal: a pending pool chain was not absorbed", op.loc);
  } else cv.setSpikes(op.result, spikingPool(cv, op, cv.spikesOf(x, op)));
};

/** Flatten/Reshape: relabel the neurons (or carry a pending pool to the dense layer that absorbs it). */
const reshape: OpConverter = (cv, op) => {
  const x = op.operands[0]!;
  const mp = cv.mapped(x);
  if (mp?.kind === "pool") {
    cv.map.set(op.result, { kind: "pool-flat", pool: mp.pool });
    return;
  }
  const src = cv.spikesOf(x, op);
  const target = [0, ...op.result.type.shape.slice(1)];
  cv.setSpikes(op.result, cv.b.value("snn.reshape", [src.v], { shape: target }, op.loc), src.scale);
};

const concat: OpConverter = (cv, op) => {
  const srcs = op.operands.map((v) => cv.spikesOf(v, op));
  if (new Set(srcs.map((s) => s.scale)).size > 1) throw new ConvertError("concatenated inputs have different scales", op.loc);
  cv.setSpikes(op.result, cv.b.value("snn.concat", srcs.map((s) => s.v), { axis: op.num("axis") }, op.loc), srcs[0]!.scale);
};

/** A final Softmax is removed: the prediction is the argmax of the logits (tsc.md §3.5). */
const softmax: OpConverter = (cv, op) => {
  const mp = cv.mapped(op.operands[0]!);
  if (!cv.m.isOutput(op.result) || mp?.kind !== "charge") throw new ConvertError("Softmax is supported only as the final op (it is removed: the prediction is the argmax of the logits)", op.loc);
  cv.map.set(op.result, mp);
  cv.softmaxRemoved = true;
};

/** A Pad of the model input: the encoder emits the border itself (exact mean padding, docs/conversion.md). */
const pad: OpConverter = (cv, op) => {
  const x = op.operands[0]!;
  if (x !== cv.inputValue) throw new ConvertError("an explicit Pad inside the network cannot be converted (fold it into the next layer with fold-pad)", op.loc);
  const pads = op.ints("pads");
  const r = pads.length / 2;
  if (r !== 4 || pads[0] !== 0 || pads[1] !== 0 || pads[4] !== 0 || pads[5] !== 0) throw new ConvertError("only spatial padding of a [N, C, H, W] input converts", op.loc);
  const cv2 = op.attrs["channel_values"] as number[];
  const values = cv2.length ? cv2 : new Array<number>(x.type.shape[1]!).fill(op.num("value"));
  cv.setSpikes(op.result, cv.encoder({ pads: [pads[2]!, pads[3]!, pads[6]!, pads[7]!], pad_values: values }, op.loc), cv.lambda0);
};

const passThrough: OpConverter = (cv, op) => {
  cv.map.set(op.result, cv.map.get(op.operands[0]!)!);
};

/** The converter of each nn op that has a spiking counterpart. */
export const CONVERTERS: Readonly<Record<string, OpConverter>> = {
  "nn.conv": weightLayer,
  "nn.gemm": weightLayer,
  "nn.matmul": weightLayer,
  "nn.add": residualAdd,
  "nn.relu": activation,
  "nn.clip": activation,
  "nn.max_pool": maxPool,
  "nn.average_pool": averagePool,
  "nn.global_average_pool": averagePool,
  "nn.flatten": reshape,
  "nn.reshape": reshape,
  "nn.concat": concat,
  "nn.softmax": softmax,
  "nn.pad": pad,
  "nn.identity": passThrough,
  "nn.dropout": passThrough,
};
