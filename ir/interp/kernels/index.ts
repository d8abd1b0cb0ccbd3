/** Float32 reference kernels of the `nn` dialect (ONNX semantics), usable without an IR module. */
export { activationOf, gemmNN, gemmNT, isIdentity, NO_ACTIVATION, type Activation } from "./gemm.js";
export { conv, type ConvParams } from "./conv.js";
export { gemm, matmul, type GemmParams } from "./linear.js";
export { averagePool, globalAveragePool, maxPool, type PoolParams } from "./pool.js";
export {
  add,
  batchNorm,
  cast,
  clamp,
  clip,
  dequantizeLinear,
  div,
  floor,
  mul,
  quantizeInPlace,
  quantizeLinear,
  relu,
  round,
  roundHalfEven,
  softmax,
  sub,
  type Quantizer,
} from "./elementwise.js";
export { concat, flatten, gather, pad, reshape, shapeOf, squeeze, unsqueeze } from "./layout.js";
export { count, type WindowParams } from "./util.js";
