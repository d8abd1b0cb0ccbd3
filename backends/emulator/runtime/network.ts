/**
 * The emulator's network description: a topologically ordered list of spiking layers over numbered
 * values. This folder (`runtime/`) is copied verbatim (as compiled JavaScript) into every emulator
 * artifact, so it imports nothing outside itself but `node:` modules.
 *
 * Shapes are per sample (no batch dimension). Conventions (tsc.md): TSC spike pairs carry an interval
 * d ∈ {0..T}; weights and biases are normalised (W̃, b̃), so the firing quantum θ is 1 by default.
 *
 * Per-layer windows (TSC): encode, tsc and decode nodes may carry their own `window` T (default
 * `net.window`). A source firing in a window of T_s steps stands for the activation d/T_s; a population
 * with window T integrates it with gain T/T_s (schedule.ts), so V = T·(Σ W̃·d/T_s + b̃) + φ and
 * d = clip(floor(V/θ), 0, T): the weights stay window-independent.
 */

export type Coding = "tsc" | "rate";

/** What flows on a value: spikes of a population, or charge (synaptic input) into one. */
export type ValueKind = "spikes" | "charge";

export interface ValueInfo {
  readonly kind: ValueKind;
  /** Per-sample shape, e.g. [C, H, W] or [K]. */
  readonly shape: readonly number[];
  /** Human name (the ONNX node it came from), for per-layer reports. */
  readonly name: string;
}

export interface EncodeNode {
  readonly kind: "encode";
  readonly out: number;
  /** TSC: steps of the encoding window (default `net.window`). */
  readonly window?: number;
  /** Input value v maps to interval round(v·T/scale) (TSC) or rate v/scale (rate). */
  readonly scale: number;
  readonly rounding: "round" | "floor";
  /** Rate coding only: constant current into the first synapses, or Bernoulli (Poisson) spikes. */
  readonly mode: "current" | "poisson";
  readonly seed: number;
  /** Rate coding only: the input rate x/scale quantised to L levels, floor(x/scale·L + ½)/L (a trained input quantiser). */
  readonly levels?: number;
  /** Optional border of constant pixels [top, left, bottom, right] around a [C, H, W] input... */
  readonly pads: readonly number[];
  /** ...with one value per channel (mean padding of a folded input normalisation). */
  readonly padValues: readonly number[];
}

export interface ConvNode {
  readonly kind: "conv";
  readonly in: number;
  readonly out: number;
  /** W̃ [M, C/group, kh, kw], row-major. */
  readonly w: Float32Array;
  readonly wShape: readonly [number, number, number, number];
  /** b̃ [M]: charge added to every neuron once per integration step (TSC: b̃·T at window start). */
  readonly b?: Float32Array;
  readonly strides: readonly [number, number];
  /** [top, left, bottom, right]. */
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
  readonly group: number;
}

export interface DenseNode {
  readonly kind: "dense";
  readonly in: number;
  readonly out: number;
  /** W̃ [N, K], row-major. */
  readonly w: Float32Array;
  readonly b?: Float32Array;
}

/** One-to-one synapses with a common weight (identity shortcut). */
export interface ScaleNode {
  readonly kind: "scale";
  readonly in: number;
  readonly out: number;
  readonly factor: number;
}

/** Two charges into the same neurons (residual). */
export interface AddNode {
  readonly kind: "add";
  readonly a: number;
  readonly b: number;
  readonly out: number;
}

export interface TscNode {
  readonly kind: "tsc";
  readonly in: number;
  readonly out: number;
  /** Steps of this population's firing window T (default `net.window`). */
  readonly window?: number;
  readonly theta: number;
  /** Initial membrane offset (0 floors, 0.5·θ rounds). */
  readonly phi: number;
  /** ANN value of a full window (for decoding hidden activations). */
  readonly lambda: number;
}

export interface IfNode {
  readonly kind: "if";
  readonly in: number;
  readonly out: number;
  readonly theta: number;
  readonly reset: "subtract" | "zero";
  /** Initial membrane potential as a fraction of θ. */
  readonly vInit: number;
  readonly lambda: number;
}

export interface MaxPoolNode {
  readonly kind: "maxpool";
  readonly in: number;
  readonly out: number;
  readonly kernel: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
}

export interface ReshapeNode {
  readonly kind: "reshape";
  readonly in: number;
  readonly out: number;
}

export interface ConcatNode {
  readonly kind: "concat";
  readonly ins: readonly number[];
  readonly out: number;
  /** Axis of the per-sample shape (0 = channels for [C, H, W]). */
  readonly axis: number;
}

/** The output layer: integrates only; logits = lambda · V / T (TSC) or lambda · V / steps (rate). */
export interface DecodeNode {
  readonly kind: "decode";
  readonly in: number;
  readonly out: number;
  /** TSC: the T of logits = λ·V/T, V = T·(Σ W̃·d/T_s + b̃) (default `net.window`; the logits do not depend on it). */
  readonly window?: number;
  readonly lambda: number;
}

export type Node = EncodeNode | ConvNode | DenseNode | ScaleNode | AddNode | TscNode | IfNode | MaxPoolNode | ReshapeNode | ConcatNode | DecodeNode;

export interface Network {
  readonly coding: Coding;
  /** TSC: steps per layer window (of every node without its own `window`). Rate: steps of the whole run. */
  readonly window: number;
  readonly values: readonly ValueInfo[];
  /** Topological order. */
  readonly nodes: readonly Node[];
  readonly inputs: readonly { readonly name: string; readonly value: number }[];
  readonly outputs: readonly { readonly name: string; readonly value: number }[];
}

/** Steps of a node's own window: its `window` when it has one (encode, tsc, decode), else `net.window`. */
export function nodeWindow(net: Network, n: Node): number {
  return (n.kind === "encode" || n.kind === "tsc" || n.kind === "decode" ? n.window : undefined) ?? net.window;
}

/** Per-sample element count of a value. */
export function size(net: Network, v: number): number {
  return net.values[v]!.shape.reduce((a, b) => a * b, 1);
}

/** Values a node reads. */
export function nodeInputs(n: Node): number[] {
  switch (n.kind) {
    case "encode":
      return [];
    case "add":
      return [n.a, n.b];
    case "concat":
      return [...n.ins];
    default:
      return [n.in];
  }
}
