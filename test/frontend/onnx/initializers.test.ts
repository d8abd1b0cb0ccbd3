/**
 * How the importer reads tensor payloads: raw_data vs typed fields, raw_data at every byte
 * alignment (the in-place realignment in load.ts), float16 and double initializers, int64 beyond
 * 2^31 (Long) and 2^53, IR-3 models that list initializers as graph inputs, and unnamed nodes.
 * Values are checked against the typed-field encoding and against onnxruntime.
 */
import { describe, expect, test } from "vitest";
import onnxProto from "onnx-proto";
import { printModule, type TensorData } from "../../../ir/index.js";
import { importOnnxModel } from "../../../src/frontend/onnx/import.js";
import { decodeOnnx, decodeTensor } from "../../../src/frontend/onnx/load.js";
import { buildModel, tensorProto, type InitializerSpec, type ModelSpec } from "../../support/onnx-builder.js";
import { editModel, expectSameAsOrt, importBytes } from "../../support/onnx-import.js";
import { Rng } from "../../support/random.js";

const { onnx } = onnxProto;

const list = (d: TensorData): (number | bigint)[] => Array.from(d as ArrayLike<number | bigint>);

/** A Conv whose weights and bias, and a Reshape whose target, are initializers in `encoding`. */
function convReshapeModel(encoding: "raw" | "typed", weights = new Rng(5).f32(2 * 3 * 2 * 2)): Uint8Array {
  return buildModel({
    name: "encodings",
    opset: 13,
    inputs: [{ name: "x", shape: ["N", 3, 4, 4] }],
    initializers: [
      { name: "w", dims: [2, 3, 2, 2], data: weights, encoding },
      { name: "b", dims: [2], data: Float32Array.of(0.5, -0.25), encoding },
      { name: "target", dims: [2], data: BigInt64Array.of(0n, -1n), encoding },
    ],
    nodes: [
      { op: "Conv", inputs: ["x", "w", "b"], outputs: ["c"] },
      { op: "Reshape", inputs: ["c", "target"], outputs: ["y"] },
    ],
    outputs: ["y"],
  });
}

/** Import `bytes` placed `shift` bytes into a fresh ArrayBuffer, so that payload offsets vary mod 4. */
function loadAt(bytes: Uint8Array, shift: number) {
  const buf = new Uint8Array(new ArrayBuffer(bytes.length + 8), shift, bytes.length);
  buf.set(bytes);
  return { proto: decodeOnnx(buf, "shifted.onnx"), file: "shifted.onnx", bytes: buf };
}

describe("initializer encodings", () => {
  test("raw_data and typed fields (float_data, int64_data) import to the same module and match onnxruntime", async () => {
    const raw = importBytes(convReshapeModel("raw"), "encodings.onnx").module;
    const typedBytes = convReshapeModel("typed");
    const typed = importBytes(typedBytes, "encodings.onnx").module;
    expect(printModule(raw, { inlineWeights: true })).toBe(printModule(typed, { inlineWeights: true }));
    await expectSameAsOrt(typedBytes, typed);
  });

  test.each([
    ["shorter than 128 bytes (copied when the header is too short to move into)", 7],
    ["of 128 bytes or more (moved left in place)", 40],
  ])("raw_data at every offset mod 4 reads the values of the typed encoding: payload %s", (_what, n) => {
    const data = new Rng(n).f32(n, -4, 4);
    const spec = (encoding: "raw" | "typed"): ModelSpec => ({
      opset: 13,
      inputs: [{ name: "x", shape: ["N", n] }],
      initializers: [{ name: "b", dims: [n], data, encoding }],
      nodes: [{ op: "Add", inputs: ["x", "b"], outputs: ["y"] }],
      outputs: ["y"],
    });
    const expected = importBytes(buildModel(spec("typed"))).module.consts.get("b")!.data;
    expect(list(expected)).toEqual(list(data));
    const bytes = buildModel(spec("raw"));
    const residues = new Set<number>();
    for (let shift = 0; shift < 4; shift++) {
      const loaded = loadAt(bytes, shift);
      residues.add(loaded.proto.graph!.initializer![0]!.rawData!.byteOffset % 4);
      const first = importOnnxModel(loaded).module.consts.get("b")!.data;
      // A second import of the same decoded model must neither misread nor clobber the first one's data.
      const second = importOnnxModel(loaded).module.consts.get("b")!.data;
      expect(first).toBeInstanceOf(Float32Array);
      expect(list(first), `shift ${shift}`).toEqual(list(expected));
      expect(list(second), `shift ${shift}, second import`).toEqual(list(expected));
    }
    expect([...residues].sort()).toEqual([0, 1, 2, 3]);
  });

  test("float16 and double initializers (raw and typed) become f32 constants with the values onnxruntime uses", async () => {
    // Exactly representable float16 values: 1, -2.5, 2^-14 (smallest normal), 2^-24 (smallest subnormal), 65504 (largest).
    const halfBits = [0x3c00, 0xc100, 0x0400, 0x0001, 0x7bff];
    const halfValues = [1, -2.5, 2 ** -14, 2 ** -24, 65504];
    const doubles = Float64Array.of(0.1, -1 / 3, 1e30, 2.5e-7, -7);
    const half: onnxProto.onnx.ITensorProto[] = [
      { name: "h_raw", dims: [5], dataType: onnx.TensorProto.DataType.FLOAT16, rawData: new Uint8Array(Uint16Array.from(halfBits).buffer) },
      { name: "h_typed", dims: [5], dataType: onnx.TensorProto.DataType.FLOAT16, int32Data: halfBits },
    ];
    const bytes = editModel(
      buildModel({
        name: "widths",
        opset: 13,
        inputs: [{ name: "x", shape: ["N", 5] }],
        initializers: [
          { name: "d_raw", dims: [5], data: doubles },
          { name: "d_typed", dims: [5], data: doubles, encoding: "typed" },
        ],
        nodes: [
          ...["h_raw", "h_typed", "d_raw", "d_typed"].map((c) => ({ op: "Cast", inputs: [c], outputs: [`${c}_f`], attrs: { to: 1 } })),
          { op: "Add", inputs: ["x", "h_raw_f"], outputs: ["a1"] },
          { op: "Add", inputs: ["a1", "h_typed_f"], outputs: ["a2"] },
          { op: "Add", inputs: ["x", "d_raw_f"], outputs: ["b1"] },
          { op: "Add", inputs: ["b1", "d_typed_f"], outputs: ["b2"] },
        ],
        outputs: ["a2", "b2"],
      }),
      (m) => m.graph!.initializer!.push(...half.map((t) => onnx.TensorProto.create(t))),
    );
    const m = importBytes(bytes, "widths.onnx").module;
    for (const name of ["h_raw", "h_typed"]) {
      const c = m.consts.get(name)!;
      expect(c.type.dtype).toBe("f32");
      expect(list(c.data)).toEqual(halfValues);
    }
    for (const name of ["d_raw", "d_typed"]) {
      const c = m.consts.get(name)!;
      expect(c.type.dtype).toBe("f32");
      expect(list(c.data)).toEqual(Array.from(doubles, Math.fround));
    }
    await expectSameAsOrt(bytes, m);
  });

  test("int64 values beyond 2^31 and 2^53 decode exactly from int64_data (Long) and from raw_data", () => {
    const values = [2n ** 31n, -(2n ** 31n) - 1n, 2n ** 40n + 3n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n)];
    for (const encoding of ["raw", "typed"] as const) {
      const t = tensorProto({ dims: [values.length], data: BigInt64Array.from(values), encoding }, "big");
      // Through the wire format, so that typed int64 values come back as protobufjs Long objects.
      const decoded = onnx.TensorProto.decode(onnx.TensorProto.encode(t).finish());
      const { dtype, data } = decodeTensor(decoded, { file: "big.onnx", modelDir: "." });
      expect(dtype).toBe("i64");
      expect(Array.from(data as BigInt64Array), encoding).toEqual(values);
    }
  });

  test("Slice with PyTorch's 'to the end' bound INT64_MAX (typed, as a Long) is evaluated at import and matches onnxruntime", async () => {
    const bytes = buildModel({
      name: "int64-max",
      opset: 13,
      inputs: [{ name: "x", shape: ["N", 6] }],
      initializers: [
        { name: "dims", dims: [4], data: BigInt64Array.of(9n, 3n, 2n, 1n), encoding: "typed" },
        { name: "starts", dims: [1], data: BigInt64Array.of(1n), encoding: "typed" },
        { name: "ends", dims: [1], data: BigInt64Array.of(2n ** 63n - 1n), encoding: "typed" },
        { name: "zero", dims: [1], data: BigInt64Array.of(0n) },
      ],
      nodes: [
        { op: "Slice", inputs: ["dims", "starts", "ends"], outputs: ["tail"] },
        { op: "Concat", inputs: ["zero", "tail"], outputs: ["target"], attrs: { axis: 0 } },
        { op: "Reshape", inputs: ["x", "target"], outputs: ["y"] },
      ],
      outputs: ["y"],
    });
    const m = importBytes(bytes).module;
    expect(m.outputs[0]!.value.type).toEqual({ kind: "tensor", shape: [-1, 3, 2, 1], dtype: "f32" });
    await expectSameAsOrt(bytes, m);
  });
});

describe("graph structure", () => {
  test("IR version 3 lists initializers as graph inputs: they are constants, not model inputs", async () => {
    const inits: InitializerSpec[] = [
      { name: "w", dims: [3, 4], data: new Rng(3).f32(12) },
      { name: "b", dims: [3], data: Float32Array.of(1, 2, 3), encoding: "typed" },
    ];
    const bytes = buildModel({
      name: "ir3",
      opset: 7,
      irVersion: 3,
      initializersAsInputs: true,
      inputs: [{ name: "x", shape: ["N", 4] }],
      initializers: inits,
      nodes: [{ op: "Gemm", inputs: ["x", "w", "b"], outputs: ["y"], attrs: { transB: 1 } }],
      outputs: ["y"],
    });
    expect(onnx.ModelProto.decode(bytes).graph!.input!.map((i) => i.name)).toEqual(["x", "w", "b"]);
    const m = importBytes(bytes).module;
    expect(m.inputs.map((i) => i.name)).toEqual(["x"]);
    expect([...m.consts.keys()].sort()).toEqual(["b", "w"]);
    await expectSameAsOrt(bytes, m);
  });

  test("unnamed nodes are located as <OpType>_<index>", () => {
    const bytes = editModel(
      buildModel({
        opset: 13,
        inputs: [{ name: "x", shape: ["N", 4] }],
        initializers: [{ name: "b", dims: [4], data: Float32Array.of(1, 2, 3, 4) }],
        nodes: [
          { op: "Add", inputs: ["x", "b"], outputs: ["s"] },
          { op: "Relu", inputs: ["s"], outputs: ["y"] },
        ],
        outputs: ["y"],
      }),
      (m) => m.graph!.node!.forEach((n) => (n.name = "")),
    );
    expect(onnx.ModelProto.decode(bytes).graph!.node!.map((n) => n.name)).toEqual(["", ""]);
    const text = printModule(importBytes(bytes).module);
    expect(text).toContain('loc(onnx.node "Add_0" #0 Add)');
    expect(text).toContain('loc(onnx.node "Relu_1" #1 Relu)');
  });
});
