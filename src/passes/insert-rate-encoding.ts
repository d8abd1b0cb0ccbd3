/**
 * nn → snn with rate coding: the conversion baseline as SNN Toolbox and SpikingJelly users know it —
 * integrate-and-fire neurons with reset by subtraction, the same percentile normalisation, and the
 * real-valued input fed as a constant current into the first layer (Poisson input is optional).
 */
import { definePass, fmt, M } from "../../ir/index.js";
import { convertToSnn, rateCoding } from "./snn/convert.js";

export const insertRateEncodingPass = definePass({
  name: "insert-rate-encoding",
  summary: "convert the normalised ANN into a rate-coded IF SNN (the baseline TSC is measured against)",
  options: {
    window: { kind: "int", default: 256, doc: "time steps of the whole run" },
    input: { kind: "enum", choices: ["current", "poisson"], default: "current", doc: "constant-current input into layer 1, or Poisson spikes" },
    reset: { kind: "enum", choices: ["subtract", "zero"], default: "subtract", doc: "reset by subtraction (soft) or to zero (hard)" },
    "v-init": { kind: "float", default: 0.5, doc: "initial membrane potential in units of θ (0.5 removes the floor bias, as φ does for TSC)" },
    avgpool: { kind: "enum", choices: ["merge", "spike"], default: "merge", doc: "merge average pooling into the next layer or make it a spiking layer" },
    seed: { kind: "int", default: 1, doc: "seed of the Poisson input" },
  },
  requires: ["normalized"],
  provides: ["spiking"],
  run(m, ctx) {
    if ((ctx.options["window"] as number) < 1) {
      ctx.diag.report(fmt(M.BadPassOption, ["insert-rate-encoding", `window must be at least 1 step, got ${ctx.options["window"]}`]));
      return { changed: false };
    }
    const ok = convertToSnn(m, ctx, {
      coding: rateCoding({
        mode: ctx.options["input"] as "current" | "poisson",
        reset: ctx.options["reset"] as "subtract" | "zero",
        vInit: ctx.options["v-init"] as number,
        seed: ctx.options["seed"] as number,
      }),
      window: ctx.options["window"] as number,
      avgpool: ctx.options["avgpool"] as "merge" | "spike",
    });
    return { changed: ok !== undefined };
  },
});
