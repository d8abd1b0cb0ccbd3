import type { Severity } from "./diagnostic.js";

export interface Message {
  readonly code: number;
  readonly severity: Severity;
  readonly text: string;
}

/**
 * Every user-visible diagnostic text lives here (as TypeScript's diagnosticMessages.json does).
 * Code ranges: 1xxx ONNX import, 2xxx IR parse/verify, 3xxx passes, 4xxx backends, 5xxx CLI, config,
 * plugins and data files, 9xxx internal.
 */
export const M = {
  // 1xxx: ONNX import
  UnsupportedOnnxOp: { code: 1001, severity: "error", text: "unsupported ONNX operator '{0}' (domain '{1}', opset {2})" },
  NotOnnxModel: { code: 1002, severity: "error", text: "not a readable ONNX model: {0}" },
  MissingExternalData: { code: 1003, severity: "error", text: "external data file '{0}' of initializer '{1}' not found" },
  DynamicDimension: {
    code: 1004,
    severity: "error",
    text: "input '{0}' has a dynamic dimension '{1}' at axis {2}; only the leading batch dimension may be dynamic",
  },
  NonFloatInput: { code: 1005, severity: "error", text: "input '{0}' has element type {1}; tscc accepts float32 model inputs only" },
  NonFiniteWeight: { code: 1006, severity: "error", text: "initializer '{0}' contains {1} non-finite value(s) (NaN or Inf)" },
  UnsupportedAttribute: { code: 1007, severity: "error", text: "unsupported attribute {0} = {1}: {2}" },
  NonConstantOperand: {
    code: 1008,
    severity: "error",
    text: "input '{0}' ({1}) must be a constant (an initializer or Constant node) but is computed at run time",
  },
  ShapeInference: { code: 1009, severity: "error", text: "shape inference failed: {0}" },
  UnsupportedOpset: { code: 1010, severity: "error", text: "the model imports opset {0} of domain '{1}'; tscc supports ai.onnx opsets 7 to 21" },
  BadBatchDimension: { code: 1011, severity: "error", text: "input '{0}' has batch dimension {1}; it must be symbolic or 1" },
  BadExternalData: { code: 1012, severity: "error", text: "external data of initializer '{0}' is invalid: {1}" },
  UnsupportedTensorType: { code: 1013, severity: "error", text: "tensor '{0}' has unsupported element type {1}" },
  UndefinedValue: { code: 1014, severity: "error", text: "input '{0}' is not produced by any earlier node, initializer or graph input" },
  UnsupportedInputRank: { code: 1015, severity: "error", text: "{0}" },
  UnsupportedConstruct: { code: 1016, severity: "error", text: "{0}" },
  MissingShape: { code: 1017, severity: "error", text: "input '{0}' has no static shape in the model; tscc needs every non-batch dimension" },
  BadTensorDims: { code: 1018, severity: "error", text: "tensor '{0}' has invalid dims {1}: every dimension must be a non-negative integer" },
  TensorTooLarge: {
    code: 1019,
    severity: "error",
    text: "tensor '{0}' declares dims {1}, {2} elements, more than the {3} tscc reads (checked before anything is allocated)",
  },
  QuantPerAxis: {
    code: 1300,
    severity: "error",
    text: "{0} input '{1}' has {2} values: per-axis quantisation is not supported (tscc imports per-tensor scales and zero points)",
  },
  QuantElementType: { code: 1301, severity: "error", text: "{0} with element type {1} is not supported; tscc imports uint8 and int8 quantisation" },

  // 12xx: NIR import (HDF5 files in the layout of NIR's nir.write / nir.read)
  NirNotReadable: { code: 1201, severity: "error", text: "not a readable NIR file: {0}" },
  NirVersion: { code: 1202, severity: "error", text: "unsupported NIR version '{0}'; tscc reads files written by NIR 0.x and 1.x" },
  NirLayout: { code: 1203, severity: "error", text: "not a NIR graph: {0}" },
  NirUnknownNode: { code: 1204, severity: "error", text: "unknown NIR node type '{0}'" },
  NirMissingNode: { code: 1205, severity: "error", text: "edge '{0}' → '{1}' names '{2}', which is not a node of the graph" },
  NirShapeMismatch: { code: 1206, severity: "error", text: "shape mismatch on edge '{0}' → '{1}': {2}" },
  NirParamShape: { code: 1207, severity: "error", text: "parameter '{0}' has {1}; expected {2}" },
  NirMissingParam: { code: 1208, severity: "error", text: "missing parameter '{0}'" },
  NirParamValue: { code: 1209, severity: "error", text: "parameter '{0}': {1}" },
  NirUnsupported: { code: 1210, severity: "error", text: "tscc cannot import this node: {0}" },
  NirNoDt: { code: 1211, severity: "error", text: "the graph has time constants or delays but no time step: {0}" },
  NirNote: { code: 1212, severity: "note", text: "{0}" },

  // 2xxx: IR text, JSON and verifier
  ParseError: { code: 2001, severity: "error", text: "{0}" },
  VerifyError: { code: 2002, severity: "error", text: "{0}" },
  JsonVersion: { code: 2003, severity: "error", text: "unsupported tscc-ir JSON version {0}; this tscc reads version {1}" },
  WeightsError: { code: 2004, severity: "error", text: "{0}" },
  UnknownOp: { code: 2005, severity: "error", text: "unknown op '{0}'" },

  // 3xxx: passes and pipelines
  UnknownPass: { code: 3001, severity: "error", text: "unknown pass '{0}'" },
  BadPassOption: { code: 3002, severity: "error", text: "pass '{0}': {1}" },
  PipelineSyntax: { code: 3003, severity: "error", text: "invalid pipeline '{0}': {1}" },
  PassRequires: { code: 3004, severity: "error", text: "pass '{0}' requires {1}, which no earlier pass provides" },
  PassFailed: { code: 3005, severity: "error", text: "{0}" },
  PassWarning: { code: 3006, severity: "warning", text: "{0}" },
  PassNote: { code: 3007, severity: "note", text: "{0}" },
  // 31xx: the loihi backend's passes
  LoihiNoFit: { code: 3101, severity: "error", text: "{0}" },
  // 33xx: quantiser fusion
  NotAQuantizer: {
    code: 3300,
    severity: "warning",
    text: "{0} after {1} is not a {2} quantiser: {3}; it stays unfused (a spiking conversion will reject it)",
  },

  // 4xxx: backends
  BackendUnsupported: { code: 4001, severity: "error", text: "backend '{0}' cannot compile {1}: {2}" },
  UnknownBackend: { code: 4002, severity: "error", text: "unknown target '{0}'; available: {1}" },
  EmitFailed: { code: 4003, severity: "error", text: "{0}" },
  // 41xx: the loihi backend on NIR graphs of leaky neurons
  LoihiLeaky: { code: 4101, severity: "error", text: "cannot map onto Loihi: {0}" },
  // 42xx: the NIR backend (export to NIR)
  NirExportUnsupported: { code: 4201, severity: "error", text: "cannot export {0} to NIR: {1}" },

  // 5xxx: CLI, config, plugins, data files
  PluginLoad: { code: 5001, severity: "error", text: "cannot load plugin '{0}': {1}" },
  PluginInvalid: { code: 5002, severity: "error", text: "plugin '{0}' is invalid: {1}" },
  NameCollision: { code: 5003, severity: "error", text: "{0} '{1}' is already registered{2}" },
  DataFile: { code: 5004, severity: "error", text: "cannot read '{0}': {1}" },
  InputMismatch: { code: 5005, severity: "error", text: "{0}" },
  FileNotFound: { code: 5006, severity: "error", text: "file not found: {0}" },
  Usage: { code: 5007, severity: "error", text: "{0}" },
  OutputError: { code: 5008, severity: "error", text: "cannot write '{0}': {1}" },
  Interrupted: { code: 5020, severity: "error", text: "interrupted by {0}: stopped, and no partial output was left" },
  CountsFile: { code: 5021, severity: "error", text: "cannot merge: {0}" },

  // 9xxx: internal
  Internal: { code: 9001, severity: "error", text: "internal error: {0}" },
} as const satisfies Record<string, Message>;
