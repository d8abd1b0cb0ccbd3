/**
 * Fold an explicit zero Pad into the conv or pool that consumes it: a conv pads with zeros anyway;
 * an average pool does when it counts the padding (count_include_pad = 1, or no pads of its own yet
 * and no ceil_mode); a max pool pads with −∞, which equals zero padding only when its input is
 * provably non-negative (after a ReLU).
 */
import { definePass, fuseLocs, type Op } from "../../ir/index.js";
import { isNonNegative } from "./util.js";

/** Spatial pads [begin..., end...] of an N-d pad over [batch, channel, spatial...], or undefined. */
function spatialPads(pad: Op): number[] | undefined {
  const p = pad.ints("pads");
  const r = p.length / 2;
  if (r < 3 || pad.num("value") !== 0) return undefined;
  if (p[0] !== 0 || p[1] !== 0 || p[r] !== 0 || p[r + 1] !== 0) return undefined;
  if (p.some((x) => x < 0)) return undefined;
  return [...p.slice(2, r), ...p.slice(r + 2)];
}

function canAbsorb(consumer: Op, pad: Op): boolean {
  switch (consumer.name) {
    case "nn.conv":
      return consumer.operands[0] === pad.result;
    case "nn.average_pool":
      if (consumer.num("ceil_mode") !== 0) return false;
      return consumer.num("count_include_pad") === 1 || consumer.ints("pads").every((x) => x === 0);
    case "nn.max_pool":
      return isNonNegative(pad.operands[0]!);
    default:
      return false;
  }
}

export const foldPadPass = definePass({
  name: "fold-pad",
  summary: "fold zero Pad into the following conv, average pool or (after ReLU) max pool",
  run(m) {
    let changed = false;
    const users = m.users();
    for (const pad of [...m.ops]) {
      if (pad.name !== "nn.pad" || m.isOutput(pad.result)) continue;
      const sp = spatialPads(pad);
      const us = users.get(pad.result) ?? [];
      if (!sp || us.length === 0 || !us.every((u) => canAbsorb(u, pad) && u.ints("pads").length === sp.length)) continue;
      for (const u of us) {
        const own = u.ints("pads");
        u.attrs = { ...u.attrs, pads: own.map((x, i) => x + sp[i]!) };
        if (u.name === "nn.average_pool") u.attrs["count_include_pad"] = 1;
        u.operands = u.operands.map((v) => (v === pad.result ? pad.operands[0]! : v));
        u.loc = fuseLocs(pad.loc, u.loc);
      }
      m.erase(pad);
      changed = true;
    }
    return { changed };
  },
});
