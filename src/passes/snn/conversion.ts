/**
 * The state of one nn → snn conversion and the helpers every per-op part uses: where each nn value went
 * (spikes, charge, a pending average pool), the encoder, constants, and the neurons (through the coding
 * strategy, with the window the layer was given).
 */
import { Builder, M, fmt, onnxNodeName, tensorType, type Attrs, type Input, type Loc, type Module, type Op, type PassContext, type Value } from "../../../ir/index.js";
import type { Coding } from "./coding.js";

export interface ConvertOptions {
  readonly coding: Coding;
  /** Steps per window (TSC: of every layer without its own entry in `windows`; rate: of the whole run). */
  readonly window: number;
  readonly avgpool: "merge" | "spike";
  /**
   * TSC per-layer windows, by layer key: the ONNX node name of the layer (the model input's name for the
   * encoder), or `#k` for the k-th neuron population in conversion order (`#0` is the encoder).
   */
  readonly windows?: ReadonlyMap<string, number>;
}

/** A neuron population the conversion made, with the window it was given. */
export interface ConvertedLayer {
  /** `#k`: the population's position in conversion order (`#0` is the encoder). */
  readonly index: string;
  /** The ONNX node it realises (the model input's name for the encoder); "" when it has none. */
  readonly name: string;
  readonly window: number;
  /** The network sets the window (a quantised layer's L, a quantised input's levels): tuning leaves it. */
  readonly fixed: boolean;
}

/** A conversion problem at `loc` (reported as a pass diagnostic; the op's dependents are skipped). */
export class ConvertError extends Error {
  constructor(
    msg: string,
    readonly loc: Loc,
  ) {
    super(msg);
  }
}

/** Thrown to skip an op that depends on a failed one, without a second diagnostic. */
export class Skip extends Error {}

/** Average pools (a chain of them) waiting to be absorbed by the next weight layer. */
export interface PoolSpec {
  /** The nn value whose spikes are pooled (unpooled input of the first pool). */
  readonly src: Value;
  /** Unpooled shape [?, C, H, W]. */
  readonly inShape: readonly number[];
  /** The pool ops, in order. */
  readonly chain: readonly Op[];
  /** Pooled output shape [?, C, Hp, Wp] (of the last pool). */
  readonly outShape: readonly number[];
  readonly loc: Loc;
}

/** A neuron population's spikes and the factor their synapses' weights take (λ₀ for the encoder). */
export interface SpikeSource {
  readonly v: Value;
  readonly scale: number;
}

export type Mapped =
  | ({ kind: "spikes" } & SpikeSource)
  | { kind: "charge"; v: Value }
  | { kind: "pool"; pool: PoolSpec }
  | { kind: "pool-flat"; pool: PoolSpec }
  /** A layer that failed to convert (already reported): its dependents are skipped silently. */
  | { kind: "failed" };

export function f32(v: Value): Float32Array {
  return v.constant!.data as Float32Array;
}

export class Conversion {
  readonly b: Builder;
  /** Where each nn value went. */
  readonly map = new Map<Value, Mapped>();
  readonly users: Map<Value, Op[]>;
  /** The nn ops, in order (removed once the conversion succeeds). */
  readonly nnOps: readonly Op[];
  readonly inputValue: Value;
  readonly inputLoc: Loc;
  readonly inputName: string;
  /** λ₀: the input value that maps to a full window. */
  readonly lambda0: number;
  softmaxRemoved = false;
  /** The neuron populations made so far, the encoder first. */
  readonly layers: ConvertedLayer[] = [];
  /** Keys of `o.windows` that named a population. */
  readonly usedKeys = new Set<string>();
  private encoded: Value | undefined;

  constructor(
    readonly m: Module,
    ctx: PassContext,
    input: Input,
    readonly o: ConvertOptions,
  ) {
    this.b = new Builder(m, ctx.ops);
    this.nnOps = [...m.ops];
    this.users = m.users();
    this.inputValue = input.value;
    this.inputLoc = input.loc;
    this.inputName = input.name;
    this.lambda0 = (m.attrs["input_scale"] as number | undefined) ?? 1;
  }

  /**
   * The window of the next population, named `name` (per-layer windows, else the default). `levels`: a
   * quantisation-aware trained layer's L, which is its window (T = L makes the code equal the trained
   * quantiser, docs/conversion.md); a per-layer window that names such a layer must agree.
   */
  private windowFor(name: string, loc: Loc, levels?: number): number {
    const index = `#${this.layers.length}`;
    let window = levels ?? this.o.window;
    for (const key of [name, index]) {
      const w = key ? this.o.windows?.get(key) : undefined;
      if (w === undefined) continue;
      this.usedKeys.add(key);
      if (levels !== undefined && w !== levels) {
        throw new ConvertError(`layer '${key}' is quantised to ${levels} levels by the network itself, so its window is ${levels} steps; a per-layer window of ${w} would change what it computes`, loc);
      }
      window = w;
      break;
    }
    this.layers.push({ index, name, window, fixed: levels !== undefined });
    return window;
  }

  /** The quantisation levels of the input (fuse-quantizers' input_levels). */
  private get inputLevels(): number | undefined {
    const l = this.m.attrs["input_levels"];
    return typeof l === "number" ? l : undefined;
  }

  /** The encoder's window (made once; a padded encoder shares it): the input's levels when it is quantised. */
  private encoderWindow(): number {
    // TSC encodes a quantised input in a window of its levels; rate coding runs every layer for the whole run.
    return this.layers.length > 0 ? this.layers[0]!.window : this.windowFor(this.inputName, this.inputLoc, this.o.coding.name === "tsc" ? this.inputLevels : undefined);
  }

  /**
   * The input encoder (`extra`: a border of constant pixels). Without a border it is made once. A
   * quantised input is encoded with round-half-up, floor(x·L + ½): the trained input quantiser (TSC: in
   * a window of L steps; rate: the input current quantised to L levels).
   */
  encoder(extra?: Attrs, loc: Loc = this.inputLoc): Value {
    const L = this.inputLevels;
    const rounding: Attrs = L === undefined ? {} : this.o.coding.name === "tsc" ? { rounding: "round" } : { levels: L };
    const attrs = { ...this.o.coding.encoder(this.encoderWindow()), ...rounding, scale: this.lambda0, ...extra };
    if (extra) return this.b.value("snn.encode", [this.inputValue], attrs, loc);
    this.encoded ??= this.b.value("snn.encode", [this.inputValue], attrs, loc);
    return this.encoded;
  }

  /** Where `v` went; throws Skip when it failed (its dependents are skipped without a second report). */
  mapped(v: Value): Mapped | undefined {
    const mp = v === this.inputValue ? undefined : this.map.get(v);
    if (mp?.kind === "failed") throw new Skip();
    return mp;
  }

  /** The spikes of nn value `v` (the encoder for the model input), read by op `at`. */
  spikesOf(v: Value, at: Op): SpikeSource {
    if (v === this.inputValue) return { v: this.encoder(), scale: this.lambda0 };
    const mp = this.mapped(v);
    if (mp?.kind === "spikes") return mp;
    throw new ConvertError(`${at.name} needs spiking input, but its operand is ${mp ? (mp.kind === "charge" ? "an activation-free layer's output" : "an average pool that could not be merged") : "not convertible"}`, at.loc);
  }

  constVal(name: string, shape: number[], data: Float32Array): Value {
    return this.m.addConst(this.m.uniqueConstName(name), tensorType(shape), data).value;
  }

  /** A readable base for the constants of `op` (its weight's name without the usual suffixes). */
  baseName(op: Op): string {
    const w = op.operands[1]?.constant?.name;
    return (w ?? op.name.replace(/^nn\./, "")).replace(/(\.norm)?(\.bn)?(\.in)?(\.weight|\.w)$/, "");
  }

  /**
   * The neurons of the layer `op`, fed by `charge`. A TSC layer with a fused quantiser (activation =
   * quant) fires in a window of its L steps with its own φ, so its intervals are the trained levels.
   */
  neuron(charge: Value, op: Op, lambda: number): Value {
    this.encoderWindow();
    const quant = op.attrs["activation"] === "quant" && this.o.coding.name === "tsc";
    const window = this.windowFor(onnxNodeName(op.loc), op.loc, quant ? op.num("quant_levels") : undefined);
    return this.o.coding.neuron(this.b, charge, op.loc, lambda, window, quant ? op.num("quant_phi") : undefined);
  }

  /** Record that nn value `v` is now the spikes of `neurons`. */
  setSpikes(v: Value, neurons: Value, scale = 1): void {
    this.map.set(v, { kind: "spikes", v: neurons, scale });
  }
}

/** Report a conversion problem. */
export function reportConvertError(ctx: PassContext, e: ConvertError): void {
  ctx.diag.report(fmt(M.PassFailed, [e.message], { loc: e.loc }));
}
