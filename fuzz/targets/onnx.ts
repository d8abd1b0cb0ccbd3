/**
 * ONNX models: byte-level mutation of real PyTorch exports, and structure-aware edits of the decoded
 * protobuf (hostile dims and element types, payloads that disagree with dims, attributes of the wrong
 * type, dangling names, cycles, duplicate outputs, bad opsets, external data pointing outside the
 * model's folder, past the end of its file or through a symbolic link).
 */
import fc from "fast-check";
import onnxProto from "onnx-proto";
import { fixtureBytes, tinyFiles, tinyModel } from "../corpus.js";
import { hostileNumber, hostileString, mutatedBytes } from "../mutate.js";
import { defineTarget, type FileContent, type FuzzCase } from "../target.js";

const { onnx } = onnxProto;

const COMPILE = ["compile", "model.onnx", "--target", "ir", "-o", "out"];

export const onnxBytesTarget = defineTarget({
  name: "onnx-bytes",
  summary: "8 PyTorch-exported fixtures (opsets 7–17) + the tiny CNN, 1–6 byte edits each: bit flips, hostile 16/32/64-bit words, truncation, deletion, duplication, insertion, splicing two models; read by `tscc compile --target ir`",
  weight: 3,
  async prepare() {
    return { corpus: [...fixtureBytes(), tinyModel()] };
  },
  base: () => ({}),
  arbitrary: (p) => mutatedBytes(p.corpus).map((bytes): FuzzCase => ({ files: { "model.onnx": bytes }, argv: COMPILE, note: `${bytes.length}-byte mutated model` })),
  valid: (p) => ({ files: { "model.onnx": p.corpus[0]! }, argv: COMPILE, note: "unmutated fixture" }),
});

type Edit =
  | { e: "initDims"; at: number; dims: number[] }
  | { e: "initType"; at: number; code: number }
  | { e: "initPayload"; at: number; field: "floatData" | "int64Data" | "int32Data" | "doubleData" | "both" | "none"; n: number }
  | { e: "inputDim"; axis: number; value: number | string }
  | { e: "inputType"; kind: "sequence" | "map" | "none" | "elem"; code: number }
  | { e: "attrType"; node: number; attr: number; type: number }
  | { e: "attrValue"; node: number; attr: number; value: number[] | number | string }
  | { e: "dangling"; node: number; slot: number; name: string }
  | { e: "cycle"; node: number; slot: number; to: number }
  | { e: "dupOutput"; node: number; other: number }
  | { e: "opType"; node: number; op: string }
  | { e: "removeNode"; node: number }
  | { e: "outputs"; mode: "none" | "dangling" | "duplicate" | "initializer" }
  | { e: "opset"; version: number; domain: string }
  | { e: "irVersion"; version: number }
  | { e: "subgraph"; node: number }
  | { e: "external"; at: number; location: string; offset: string | undefined; length: string | undefined; data: "exact" | "short" | "none" };

const idx = fc.nat({ max: 1000 });
const longString = fc.constantFrom("0", "-1", "1e3", "abc", "", "4294967296", "9007199254740993", "864", "100000000000000000000");

const edit: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ e: fc.constant("initDims" as const), at: idx, dims: fc.array(hostileNumber(), { maxLength: 5 }) }) },
  { weight: 2, arbitrary: fc.record({ e: fc.constant("initType" as const), at: idx, code: fc.integer({ min: -1, max: 24 }) }) },
  { weight: 2, arbitrary: fc.record({ e: fc.constant("initPayload" as const), at: idx, field: fc.constantFrom("floatData" as const, "int64Data" as const, "int32Data" as const, "doubleData" as const, "both" as const, "none" as const), n: fc.nat({ max: 300 }) }) },
  { weight: 2, arbitrary: fc.record({ e: fc.constant("inputDim" as const), axis: fc.nat({ max: 5 }), value: fc.oneof(hostileNumber(), hostileString()) }) },
  { weight: 1, arbitrary: fc.record({ e: fc.constant("inputType" as const), kind: fc.constantFrom("sequence" as const, "map" as const, "none" as const, "elem" as const), code: fc.integer({ min: 0, max: 20 }) }) },
  { weight: 3, arbitrary: fc.record({ e: fc.constant("attrType" as const), node: idx, attr: idx, type: fc.integer({ min: 0, max: 14 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      e: fc.constant("attrValue" as const),
      node: idx,
      attr: idx,
      value: fc.oneof(fc.array(hostileNumber(), { maxLength: 6 }), hostileNumber(), hostileString(), fc.constantFrom("NOTSET", "SAME_UPPER", "VALID", "SAME_LOWER")),
    }),
  },
  { weight: 2, arbitrary: fc.record({ e: fc.constant("dangling" as const), node: idx, slot: idx, name: hostileString() }) },
  { weight: 2, arbitrary: fc.record({ e: fc.constant("cycle" as const), node: idx, slot: idx, to: idx }) },
  { weight: 1, arbitrary: fc.record({ e: fc.constant("dupOutput" as const), node: idx, other: idx }) },
  { weight: 2, arbitrary: fc.record({ e: fc.constant("opType" as const), node: idx, op: fc.constantFrom("", "Conv", "Relu", "Gemm", "MaxPool", "Reshape", "Concat", "Add", "Loop", "If", "Scan", "Constant", "ConstantOfShape", "Expand", "Tile", "Range", "Shape", "Flatten", "Softmax", "Custom") }) },
  { weight: 1, arbitrary: fc.record({ e: fc.constant("removeNode" as const), node: idx }) },
  { weight: 1, arbitrary: fc.record({ e: fc.constant("outputs" as const), mode: fc.constantFrom("none" as const, "dangling" as const, "duplicate" as const, "initializer" as const) }) },
  { weight: 1, arbitrary: fc.record({ e: fc.constant("opset" as const), version: hostileNumber(), domain: fc.constantFrom("", "ai.onnx", "com.microsoft", "ai.onnx.ml") }) },
  { weight: 1, arbitrary: fc.record({ e: fc.constant("irVersion" as const), version: hostileNumber() }) },
  { weight: 1, arbitrary: fc.record({ e: fc.constant("subgraph" as const), node: idx }) },
  {
    weight: 3,
    arbitrary: fc.record({
      e: fc.constant("external" as const),
      at: idx,
      location: fc.constantFrom("data.bin", "sub/data.bin", "../outside.bin", "/etc/passwd", "sub/../../outside.bin", "link.bin", "dirlink/outside.bin", "./data.bin", "", "missing.bin", "data.bin\u0000x"),
      offset: fc.option(longString, { nil: undefined }),
      length: fc.option(longString, { nil: undefined }),
      data: fc.constantFrom("exact" as const, "short" as const, "none" as const),
    }),
  },
);

/** Locations that leave the model's folder (directly, through `..`, or through a symbolic link). */
const ESCAPES = new Set(["../outside.bin", "/etc/passwd", "sub/../../outside.bin", "link.bin", "dirlink/outside.bin"]);

type M = onnxProto.onnx.ModelProto;

function pick<T>(xs: readonly T[] | null | undefined, i: number): T | undefined {
  return xs && xs.length ? xs[i % xs.length] : undefined;
}

/** Apply an edit to a decoded model; returns extra files (external data) and whether the edit is an escape. */
function apply(m: M, x: Edit, files: Record<string, FileContent>): boolean {
  const g = m.graph!;
  const nodes = g.node ?? [];
  switch (x.e) {
    case "initDims": {
      const t = pick(g.initializer, x.at);
      if (t) t.dims = x.dims.map((d) => (Number.isSafeInteger(d) ? d : Math.trunc(Math.min(Math.max(d, -(2 ** 53)), 2 ** 53))));
      return false;
    }
    case "initType": {
      const t = pick(g.initializer, x.at);
      if (t) t.dataType = x.code;
      return false;
    }
    case "initPayload": {
      const t = pick(g.initializer, x.at);
      if (!t) return false;
      const vals = Array.from({ length: x.n }, (_, i) => (i % 7) - 3);
      if (x.field !== "both") t.rawData = new Uint8Array(0);
      if (x.field === "floatData" || x.field === "both") t.floatData = vals;
      if (x.field === "int64Data") t.int64Data = vals;
      if (x.field === "int32Data") t.int32Data = vals;
      if (x.field === "doubleData") t.doubleData = vals;
      return false;
    }
    case "inputDim": {
      const inp = pick(g.input, 0);
      const dims = inp?.type?.tensorType?.shape?.dim;
      const d = pick(dims, x.axis);
      if (d) {
        if (typeof x.value === "number") {
          d.dimParam = "";
          d.dimValue = Number.isSafeInteger(x.value) ? x.value : 2 ** 40;
        } else {
          d.dimValue = 0;
          d.dimParam = x.value;
        }
      }
      return false;
    }
    case "inputType": {
      const inp = pick(g.input, 0);
      if (!inp) return false;
      if (x.kind === "sequence") inp.type = onnx.TypeProto.create({ sequenceType: { elemType: inp.type } });
      else if (x.kind === "map") inp.type = onnx.TypeProto.create({ mapType: { keyType: 7, valueType: inp.type } });
      else if (x.kind === "none") inp.type = null;
      else if (inp.type?.tensorType) inp.type.tensorType.elemType = x.code;
      return false;
    }
    case "attrType": {
      const a = pick(pick(nodes, x.node)?.attribute, x.attr);
      if (a) a.type = x.type;
      return false;
    }
    case "attrValue": {
      const a = pick(pick(nodes, x.node)?.attribute, x.attr);
      if (!a) return false;
      const safe = (v: number): number => (Number.isSafeInteger(v) ? v : Math.trunc(Math.max(-(2 ** 53), Math.min(2 ** 53, v))));
      if (Array.isArray(x.value)) {
        a.ints = x.value.map(safe);
        a.floats = x.value;
      } else if (typeof x.value === "number") {
        a.i = safe(x.value);
        a.f = x.value;
      } else a.s = new TextEncoder().encode(x.value);
      return false;
    }
    case "dangling": {
      const n = pick(nodes, x.node);
      if (n?.input?.length) n.input[x.slot % n.input.length] = x.name || "nowhere";
      return false;
    }
    case "cycle": {
      const n = pick(nodes, x.node);
      const to = pick(nodes, x.to);
      if (n?.input?.length && to?.output?.length) n.input[x.slot % n.input.length] = to.output[0]!;
      return false;
    }
    case "dupOutput": {
      const n = pick(nodes, x.node);
      const o = pick(nodes, x.other);
      if (n?.output?.length && o?.output?.length) n.output[0] = o.output[0]!;
      return false;
    }
    case "opType": {
      const n = pick(nodes, x.node);
      if (n) n.opType = x.op;
      return false;
    }
    case "removeNode":
      if (nodes.length) nodes.splice(x.node % nodes.length, 1);
      return false;
    case "outputs":
      if (x.mode === "none") g.output = [];
      else if (x.mode === "dangling") g.output = [onnx.ValueInfoProto.create({ name: "nowhere" })];
      else if (x.mode === "duplicate" && g.output?.length) g.output = [...g.output, g.output[0]!];
      else if (x.mode === "initializer" && g.initializer?.length) g.output = [onnx.ValueInfoProto.create({ name: g.initializer[0]!.name })];
      return false;
    case "opset":
      m.opsetImport = [onnx.OperatorSetIdProto.create({ domain: x.domain, version: Number.isSafeInteger(x.version) ? x.version : 2 ** 40 })];
      return false;
    case "irVersion":
      m.irVersion = Number.isSafeInteger(x.version) ? x.version : 2 ** 40;
      return false;
    case "subgraph": {
      const n = pick(nodes, x.node);
      // A copy of the graph as a GRAPH attribute (Loop/If/Scan bodies look like this).
      if (n) n.attribute = [...(n.attribute ?? []), onnx.AttributeProto.create({ name: "body", type: 5, g: onnx.GraphProto.decode(onnx.GraphProto.encode(g).finish()) })];
      return false;
    }
    case "external": {
      const t = pick(g.initializer, x.at);
      if (!t) return false;
      const payload = t.rawData && t.rawData.byteLength ? Uint8Array.from(t.rawData) : new Uint8Array(Float32Array.from(t.floatData ?? []).buffer);
      t.rawData = new Uint8Array(0);
      t.floatData = [];
      t.dataLocation = 1;
      t.externalData = [onnx.StringStringEntryProto.create({ key: "location", value: x.location })];
      if (x.offset !== undefined) t.externalData.push(onnx.StringStringEntryProto.create({ key: "offset", value: x.offset }));
      if (x.length !== undefined) t.externalData.push(onnx.StringStringEntryProto.create({ key: "length", value: x.length }));
      if (x.data !== "none") {
        const bytes = x.data === "exact" ? payload : payload.subarray(0, payload.length >> 1);
        files["data.bin"] = bytes;
        files["sub/data.bin"] = bytes;
      }
      // The folder around the case folder holds outside.bin (see base()); these links point at it.
      files["link.bin"] = { symlink: "../outside.bin" };
      files["dirlink"] = { symlink: ".." };
      return ESCAPES.has(x.location);
    }
  }
}

export const onnxStructureTarget = defineTarget({
  name: "onnx-structure",
  summary:
    "the fixtures and the tiny CNN decoded, 1–4 structural edits, re-encoded: hostile dims (negative, 0, 2^31, 2^53, 10^12) on initializers and inputs, wrong element types, payloads that disagree with dims, attributes of the wrong type or value, dangling names, cycles, duplicate outputs, unknown ops, bad opsets/IR versions, subgraphs, external data (outside the folder, absolute, through symlinks, past the end of the file, bad offsets/lengths)",
  weight: 3,
  async prepare() {
    return { corpus: [...fixtureBytes(), tinyModel()] };
  },
  base: () => ({ "../outside.bin": new Uint8Array(4096).fill(0x3f) }),
  arbitrary: (p) =>
    fc.record({ pick: fc.nat(), edits: fc.array(edit, { minLength: 1, maxLength: 4 }) }).map(({ pick: k, edits }): FuzzCase => {
      const m = onnx.ModelProto.decode(p.corpus[k % p.corpus.length]!);
      const files: Record<string, FileContent> = {};
      let escapes = false;
      for (const x of edits) escapes = apply(m, x, files) || escapes;
      // Initializers are decoded when a node first uses them: an unused one is never read.
      const used = new Set((m.graph?.node ?? []).flatMap((n) => n.input ?? []));
      const external = (m.graph?.initializer ?? []).filter((t) => t.dataLocation === 1 && used.has(t.name ?? ""));
      const escaping = escapes && external.some((t) => ESCAPES.has(t.externalData?.find((e) => e.key === "location")?.value ?? ""));
      files["model.onnx"] = onnx.ModelProto.encode(m).finish();
      return { files, argv: COMPILE, note: edits.map((x) => x.e).join(","), ...(escaping ? { mustReject: true } : {}) };
    }),
  valid: () => ({ files: { "model.onnx": tinyFiles()["tiny.onnx"]! }, argv: COMPILE, note: "the tiny CNN" }),
});
