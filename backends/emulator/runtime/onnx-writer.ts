/**
 * A minimal ONNX (protobuf) writer for single-layer models, inside the runtime so that it stays
 * self-contained: the rate engine on onnxruntime builds one model per synapse group from the network
 * itself (no files, no onnx-proto). Only what those models need: Conv / Gemm / Mul nodes, float32 and
 * int64 initializers, float32 graph inputs and outputs with a symbolic batch.
 */

class Buf {
  private chunks: Uint8Array[] = [];
  private small: number[] = [];

  private flush(): void {
    if (this.small.length) {
      this.chunks.push(Uint8Array.from(this.small));
      this.small = [];
    }
  }

  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.small.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.small.push(Number(x));
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }

  int(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    this.flush();
    this.chunks.push(b.slice());
    return this;
  }

  str(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  msg(field: number, m: Buf): this {
    return this.bytes(field, m.finish());
  }

  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    for (let i = 0; i < 4; i++) this.small.push(b[i]!);
    return this;
  }

  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.chunks.reduce((a, c) => a + c.length, 0));
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

export type AttrValue = { ints: readonly number[] } | { int: number } | { float: number };

export interface NodeSpec {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs?: Readonly<Record<string, AttrValue>>;
}

export interface TensorSpec {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array | readonly number[];
  /** "float" (Float32Array data) or "int64" (number[] data). */
  readonly type: "float" | "int64";
}

export interface ModelSpec {
  readonly nodes: readonly NodeSpec[];
  readonly initializers: readonly TensorSpec[];
  /** Graph inputs and outputs: float32, leading dimension symbolic ("batch"). */
  readonly inputs: readonly { readonly name: string; readonly shape: readonly number[] }[];
  readonly outputs: readonly { readonly name: string; readonly shape: readonly number[] }[];
}

function attribute(name: string, v: AttrValue): Buf {
  const a = new Buf().str(1, name);
  if ("ints" in v) {
    for (const x of v.ints) a.int(8, x);
    a.int(20, 7);
  } else if ("int" in v) a.int(3, v.int).int(20, 2);
  else a.float(2, v.float).int(20, 1);
  return a;
}

function valueInfo(name: string, shape: readonly number[]): Buf {
  const dims = new Buf();
  dims.msg(1, new Buf().str(2, "batch"));
  for (const d of shape) dims.msg(1, new Buf().int(1, d));
  const tensorType = new Buf().int(1, 1).msg(2, dims);
  return new Buf().str(1, name).msg(2, new Buf().msg(1, tensorType));
}

/** Encode an opset-13 ModelProto. */
export function writeModel(spec: ModelSpec): Uint8Array {
  const g = new Buf();
  spec.nodes.forEach((n, k) => {
    const node = new Buf();
    for (const i of n.inputs) node.str(1, i);
    for (const o of n.outputs) node.str(2, o);
    node.str(3, `${n.op}_${k}`).str(4, n.op);
    for (const [name, v] of Object.entries(n.attrs ?? {})) node.msg(5, attribute(name, v));
    g.msg(1, node);
  });
  g.str(2, "tscc_layer");
  for (const t of spec.initializers) {
    const tp = new Buf();
    for (const d of t.dims) tp.int(1, d);
    tp.int(2, t.type === "float" ? 1 : 7).str(8, t.name);
    if (t.type === "float") {
      const f = t.data as Float32Array;
      tp.bytes(9, new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
    } else for (const x of t.data as readonly number[]) tp.int(7, x);
    g.msg(5, tp);
  }
  for (const i of spec.inputs) g.msg(11, valueInfo(i.name, i.shape));
  for (const o of spec.outputs) g.msg(12, valueInfo(o.name, o.shape));
  return new Buf().int(1, 7).str(2, "tscc").msg(7, g).msg(8, new Buf().str(1, "").int(2, 13)).finish();
}
