/**
 * Fuse ReLU and Clip into the conv, gemm, matmul or add that produces their input (the layer's
 * `activation` attribute), so later passes see one layer with its nonlinearity, as the SNN neuron
 * will realise it. Chains such as Relu → Clip(0, 6) collapse into one clip.
 */
import { ACTIVATION_HOSTS, definePass, fuseLocs, type Attrs, type Op } from "../../ir/index.js";
import { soleProducer } from "./util.js";

/** The activation attributes after applying `act` on top of the host's current activation. */
function compose(host: Op, act: Op): Attrs | undefined {
  const cur = host.str("activation");
  if (cur === "quant") {
    // The quantiser's outputs lie in [0, λ]: a ReLU, or a clip that contains [0, λ], changes nothing.
    const [lo, hi] = act.name === "nn.relu" ? [0, Infinity] : [act.num("min"), act.num("max")];
    return lo <= 0 && hi >= host.num("quant_lambda") ? {} : undefined;
  }
  const [lo0, hi0] = cur === "none" ? [-Infinity, Infinity] : cur === "relu" ? [0, Infinity] : [host.num("clip_min"), host.num("clip_max")];
  const [lo1, hi1] = act.name === "nn.relu" ? [0, Infinity] : [act.num("min"), act.num("max")];
  // clip(clip(x, lo0, hi0), lo1, hi1) = clip(x, max(lo0, lo1), min(hi0, hi1)) when the intervals overlap.
  const lo = Math.max(lo0, lo1);
  const hi = Math.min(hi0, hi1);
  if (lo > hi) return undefined;
  if (lo === 0 && hi === Infinity) return { activation: "relu", clip_min: 0, clip_max: Infinity };
  return { activation: "clip", clip_min: lo, clip_max: hi };
}

export const fuseActivationsPass = definePass({
  name: "fuse-activations",
  summary: "fuse Relu/Clip into the conv, gemm, matmul or add before them",
  run(m) {
    let changed = false;
    let users = m.users();
    for (const act of [...m.ops]) {
      if (act.name !== "nn.relu" && act.name !== "nn.clip") continue;
      const host = soleProducer(m, act.operands[0]!, users);
      if (!host || !ACTIVATION_HOSTS.has(host.name)) continue;
      const attrs = compose(host, act);
      if (!attrs) continue;
      host.attrs = { ...host.attrs, ...attrs };
      host.loc = fuseLocs(host.loc, act.loc);
      m.replaceAllUses(act.result, host.result);
      m.erase(act);
      users = m.users();
      changed = true;
    }
    return { changed };
  },
});
