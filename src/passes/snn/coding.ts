/**
 * The spike coding as a strategy: what the encoder and the neurons of a converted network are. The
 * converter (convert.ts and its per-op parts) builds the same synapses for both codings and asks the
 * strategy for everything that differs.
 */
import type { Attrs, Builder, Loc, Value } from "../../../ir/index.js";

export interface Coding {
  readonly name: "tsc" | "rate";
  /** Attributes of `snn.encode` (without `scale` and the border), for an encoder window of `window` steps. */
  encoder(window: number): Attrs;
  /** The neuron population that turns `charge` into spikes: a TSC neuron or an integrate-and-fire neuron. */
  neuron(b: Builder, charge: Value, loc: Loc, lambda: number, window: number): Value;
}

export interface TscCodingOptions {
  /** Initial membrane offset in units of θ (½ rounds to nearest, 0 floors). */
  readonly phi: number;
  /** Input encoder: interval = round or floor of x·T/λ₀. */
  readonly rounding: "round" | "floor";
}

export interface RateCodingOptions {
  /** Input as a constant current into layer 1, or Poisson spikes. */
  readonly mode: "current" | "poisson";
  readonly reset: "subtract" | "zero";
  /** Initial membrane potential in units of θ. */
  readonly vInit: number;
  /** Seed of the Poisson input. */
  readonly seed: number;
}

/** Temporal-Switch Coding (tsc.md §2–§3): two spikes per neuron, TSC neurons with a window each. */
export function tscCoding(o: TscCodingOptions): Coding {
  return {
    name: "tsc",
    encoder: (window) => ({ coding: "tsc", window, rounding: o.rounding, mode: "current", seed: 0 }),
    neuron: (b, charge, loc, lambda, window) => b.value("snn.tsc", [charge], { window, theta: 1, phi: o.phi, lambda }, loc),
  };
}

/** Rate coding, the baseline: integrate-and-fire neurons over the whole run of `window` steps. */
export function rateCoding(o: RateCodingOptions): Coding {
  return {
    name: "rate",
    encoder: (window) => ({ coding: "rate", window, rounding: "round", mode: o.mode, seed: o.seed }),
    neuron: (b, charge, loc, lambda, window) => b.value("snn.if", [charge], { window, theta: 1, reset: o.reset, v_init: o.vInit, lambda }, loc),
  };
}
