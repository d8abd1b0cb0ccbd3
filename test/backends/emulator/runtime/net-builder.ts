/**
 * A small builder of emulator Networks for the runtime tests (shapes of conv/pool outputs are computed
 * here, independently of the runtime's own geometry code).
 */
import type { Coding, Network, Node, ValueInfo } from "../../../../backends/emulator/runtime/network.js";

export interface ConvOpts {
  strides?: [number, number];
  pads?: [number, number, number, number];
  dilations?: [number, number];
  group?: number;
}

export class NetBuilder {
  readonly values: ValueInfo[] = [];
  readonly nodes: Node[] = [];
  private readonly ins: number[] = [];
  private readonly outs: number[] = [];

  constructor(
    readonly coding: Coding,
    readonly window: number,
  ) {}

  shape(v: number): readonly number[] {
    return this.values[v]!.shape;
  }

  private value(kind: "spikes" | "charge", shape: readonly number[], name?: string): number {
    this.values.push({ kind, shape: [...shape], name: name ?? `v${this.values.length}` });
    return this.values.length - 1;
  }

  /** Encoder; `shape` is the encoded (padded) population. */
  encode(shape: readonly number[], o: { scale?: number; rounding?: "round" | "floor"; mode?: "current" | "poisson"; seed?: number; pads?: number[]; padValues?: number[]; window?: number } = {}): number {
    const out = this.value("spikes", shape, "input");
    this.nodes.push({ kind: "encode", out, scale: o.scale ?? 1, rounding: o.rounding ?? "floor", mode: o.mode ?? "current", seed: o.seed ?? 1, pads: o.pads ?? [], padValues: o.padValues ?? [], ...win(o.window) });
    this.ins.push(out);
    return out;
  }

  dense(src: number, w: Float32Array | number[], n: number, b?: Float32Array | number[]): number {
    const out = this.value("charge", [n]);
    const wa = Float32Array.from(w);
    if (wa.length % n !== 0) throw new Error("dense weights");
    this.nodes.push({ kind: "dense", in: src, out, w: wa, ...(b ? { b: Float32Array.from(b) } : {}) });
    return out;
  }

  conv(src: number, w: Float32Array | number[], wShape: [number, number, number, number], o: ConvOpts = {}, b?: Float32Array | number[]): number {
    const [C, H, W] = this.shape(src) as [number, number, number];
    const strides = o.strides ?? [1, 1];
    const pads = o.pads ?? [0, 0, 0, 0];
    const dil = o.dilations ?? [1, 1];
    const group = o.group ?? 1;
    if (wShape[1] * group !== C) throw new Error("conv channels");
    const OH = Math.floor((H + pads[0] + pads[2] - dil[0] * (wShape[2] - 1) - 1) / strides[0]) + 1;
    const OW = Math.floor((W + pads[1] + pads[3] - dil[1] * (wShape[3] - 1) - 1) / strides[1]) + 1;
    const out = this.value("charge", [wShape[0], OH, OW]);
    this.nodes.push({ kind: "conv", in: src, out, w: Float32Array.from(w), wShape, strides, pads, dilations: dil, group, ...(b ? { b: Float32Array.from(b) } : {}) });
    return out;
  }

  scale(src: number, factor: number): number {
    const out = this.value("charge", this.shape(src));
    this.nodes.push({ kind: "scale", in: src, out, factor });
    return out;
  }

  add(a: number, b: number): number {
    const out = this.value("charge", this.shape(a));
    this.nodes.push({ kind: "add", a, b, out });
    return out;
  }

  tsc(src: number, o: { theta?: number; phi?: number; lambda?: number; window?: number } = {}): number {
    const out = this.value("spikes", this.shape(src));
    this.nodes.push({ kind: "tsc", in: src, out, theta: o.theta ?? 1, phi: o.phi ?? 0, lambda: o.lambda ?? 1, ...win(o.window) });
    return out;
  }

  ifn(src: number, o: { theta?: number; reset?: "subtract" | "zero"; vInit?: number; lambda?: number } = {}): number {
    const out = this.value("spikes", this.shape(src));
    this.nodes.push({ kind: "if", in: src, out, theta: o.theta ?? 1, reset: o.reset ?? "subtract", vInit: o.vInit ?? 0, lambda: o.lambda ?? 1 });
    return out;
  }

  maxpool(src: number, kernel: [number, number], strides: [number, number], pads: [number, number, number, number] = [0, 0, 0, 0]): number {
    const [C, H, W] = this.shape(src) as [number, number, number];
    const OH = Math.floor((H + pads[0] + pads[2] - kernel[0]) / strides[0]) + 1;
    const OW = Math.floor((W + pads[1] + pads[3] - kernel[1]) / strides[1]) + 1;
    const out = this.value("spikes", [C, OH, OW]);
    this.nodes.push({ kind: "maxpool", in: src, out, kernel, strides, pads, dilations: [1, 1] });
    return out;
  }

  reshape(src: number, shape: number[]): number {
    const out = this.value("spikes", shape);
    this.nodes.push({ kind: "reshape", in: src, out });
    return out;
  }

  concat(ins: number[], axis: number): number {
    const s = [...this.shape(ins[0]!)];
    s[axis] = ins.reduce((a, v) => a + this.shape(v)[axis]!, 0);
    const out = this.value("spikes", s);
    this.nodes.push({ kind: "concat", ins, out, axis });
    return out;
  }

  decode(src: number, lambda = 1, window?: number): number {
    const out = this.value("charge", this.shape(src), "logits");
    this.nodes.push({ kind: "decode", in: src, out, lambda, ...win(window) });
    this.outs.push(out);
    return out;
  }

  /** Index of the node producing value v. */
  nodeOf(v: number): number {
    return this.nodes.findIndex((n) => n.out === v);
  }

  build(): Network {
    return {
      coding: this.coding,
      window: this.window,
      values: this.values,
      nodes: this.nodes,
      inputs: this.ins.map((v, k) => ({ name: `x${k}`, value: v })),
      outputs: this.outs.map((v, k) => ({ name: `y${k}`, value: v })),
    };
  }
}

/** A per-layer window field (absent = the network's window). */
function win(window: number | undefined): { window?: number } {
  return window === undefined ? {} : { window };
}
