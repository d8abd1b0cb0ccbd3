import { definePass } from "../../ir/index.js";

/** Remove inference no-ops: nn.identity and nn.dropout. */
export const dropIdentityPass = definePass({
  name: "drop-identity",
  summary: "remove Identity and inference-mode Dropout ops",
  run(m) {
    let changed = false;
    for (const op of [...m.ops]) {
      if (op.name !== "nn.identity" && op.name !== "nn.dropout") continue;
      m.replaceAllUses(op.result, op.operands[0]!);
      m.erase(op);
      changed = true;
    }
    return { changed };
  },
});
