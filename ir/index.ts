/** Public IR API (`tscc/ir`): everything a pass or backend author may use. */
export * from "./types.js";
export * from "./location.js";
export * from "./module.js";
export * from "./opdef.js";
export * from "./shape-eval.js";
export * from "./shapes.js";
export * from "./builder.js";
export * from "./verifier.js";
export * from "./printer.js";
export * from "./parser.js";
export * from "./json.js";
export * from "./weights.js";
export * from "./pass.js";
export * from "./ops/index.js";
export { NN_OPS, ACTIVATION_HOSTS, ACTIVATION_ATTRS, reshapeShape } from "./ops/nn.js";
export * from "./diagnostics/diagnostic.js";
export * from "./diagnostics/messages.js";
export * from "./diagnostics/render.js";
