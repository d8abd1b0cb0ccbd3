/** What a per-op ONNX importer sees, and the error it throws for a node-level problem. */
import type { Builder, Diagnostic, Loc, Module, Value } from "../../../ir/index.js";
import type { NodeProto, TensorProto } from "./load.js";

export class ImportError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

export interface ImportContext {
  readonly node: NodeProto;
  /** Opset version of the node's domain. */
  readonly opset: number;
  /** Operands in ONNX order; undefined for an omitted optional input (empty name). */
  readonly inputs: readonly (Value | undefined)[];
  readonly b: Builder;
  readonly module: Module;
  readonly loc: Loc;
  readonly file: string;
  readonly modelDir: string;
  bind(output: number, v: Value): void;
  /** Whether output i is consumed by a later node or is a graph output. */
  outputUsed(output: number): boolean;
  /** Turn a TensorProto attribute (Constant's value) into a module constant. */
  tensorConst(t: TensorProto, nameHint: string): Value;
}


