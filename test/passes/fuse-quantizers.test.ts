/**
 * fuse-quantizers on ONNX models built in code: every supported spelling of a QCFS or Q/DQ quantiser
 * becomes `activation = "quant"` with the L, λ, φ and rounding of the graph (and the input quantiser
 * becomes `input_levels`), and every near miss stays unfused with a warning naming the node and the
 * reason. In both cases the module computes what onnxruntime computes on the original model, before
 * and after canonicalize.
 */
import { describe, expect, test } from "vitest";
import { DiagnosticBag, PassManager, builtinOps, silentLogger, type Module, type Op } from "../../ir/index.js";
import { legalizeForSnn } from "../../backends/emulator/legalize.js";
import { buildModel } from "../support/onnx-builder.js";
import { expectSameAsOrt, importBytes } from "../support/onnx-import.js";
import { builtinPassRegistry } from "../support/ir.js";
import { clampFirst, f32, floorFirst, gemmModel, node, qdq, scalar, type Chain } from "../support/qat-onnx.js";
import { Rng } from "../support/random.js";

interface Canonical {
  raw: Module;
  m: Module;
  warnings: string[];
}

async function canonicalize(bytes: Uint8Array): Promise<Canonical> {
  const raw = importBytes(bytes).module;
  const m = importBytes(bytes).module;
  const diag = new DiagnosticBag();
  const pm = new PassManager(builtinPassRegistry());
  await pm.run(pm.parse("canonicalize"), m, { ops: builtinOps(), log: silentLogger, inputs: {}, diag });
  return { raw, m, warnings: diag.items.map((d) => `TSCC${d.code}: ${d.message}`) };
}

/** Both the imported and the canonical module compute what onnxruntime computes, on inputs that cross every level. */
async function expectOrtAgrees(bytes: Uint8Array, c: Canonical, lo = -2, hi = 2): Promise<void> {
  await expectSameAsOrt(bytes, c.raw, { batch: 64, lo, hi, seed: 3, tol: 1e-6 });
  await expectSameAsOrt(bytes, c.m, { batch: 64, lo, hi, seed: 3, tol: 1e-6 });
}

const opNames = (m: Module): string[] => m.ops.map((op) => op.name);
const opOf = (m: Module, node: string): Op => m.ops.find((op) => op.loc.kind === "onnx" ? op.loc.node === node : op.loc.kind === "fused" && op.loc.locs.some((l) => l.kind === "onnx" && l.node === node))!;

describe("fuse-quantizers fuses QCFS and Q/DQ quantisers into their layer", () => {
  test("QCFS in Bu et al.'s order (floor, then clip)", async () => {
    const bytes = gemmModel(floorFirst(4, 2.5));
    const c = await canonicalize(bytes);
    expect(c.warnings).toEqual([]);
    expect(opNames(c.m)).toEqual(["nn.gemm", "nn.gemm"]);
    expect(opOf(c.m, "fc1").attrs).toMatchObject({ activation: "quant", quant_levels: 4, quant_lambda: 2.5, quant_phi: 0.5, quant_rounding: "floor" });
    await expectOrtAgrees(bytes, c);
  });

  test("QCFS clamp first (clip(z/λ, 0, 1), then floor)", async () => {
    const bytes = gemmModel(clampFirst(8, Math.fround(1.7)));
    const c = await canonicalize(bytes);
    expect(c.warnings).toEqual([]);
    expect(opNames(c.m)).toEqual(["nn.gemm", "nn.gemm"]);
    expect(opOf(c.m, "fc1").attrs).toMatchObject({ activation: "quant", quant_levels: 8, quant_lambda: Math.fround(1.7), quant_phi: 0.5, quant_rounding: "floor" });
    await expectOrtAgrees(bytes, c);
  });

  test("scalar chains spelled differently compose to the same quantiser", async () => {
    const L = 4;
    const lambda = 2;
    const spellings: { name: string; chain: Chain; relu?: boolean; rounding: "floor" | "half_even" }[] = [
      {
        name: "one Mul by L/λ, Sub −½, Mul by λ/L, then Relu and Clip(max λ) after the floor",
        rounding: "floor",
        chain: {
          inits: [scalar("a", L / lambda), scalar("mhalf", -0.5), scalar("p", lambda / L), scalar("top", lambda)],
          nodes: [
            node("Mul", ["a", "z"], ["u"]),
            node("Sub", ["u", "mhalf"], ["w"]),
            node("Floor", ["w"], ["k"]),
            node("Mul", ["k", "p"], ["y0"]),
            node("Relu", ["y0"], ["y1"]),
            node("Clip", ["y1", "", "top"], ["q"]),
          ],
        },
      },
      {
        name: "Div by λ/L, Add with the constant first, Floor, Clip(0, L) in level units, Div by L/λ",
        rounding: "floor",
        chain: {
          inits: [scalar("s", lambda / L), scalar("half", 0.5), scalar("zero", 0), scalar("L", L), scalar("inv", L / lambda)],
          nodes: [
            node("Div", ["z", "s"], ["u"]),
            node("Add", ["half", "u"], ["w"]),
            node("Floor", ["w"], ["k"]),
            node("Clip", ["k", "zero", "L"], ["kc"]),
            node("Div", ["kc", "inv"], ["q"]),
          ],
        },
      },
      {
        name: "Round (halves to even) of z·L/λ after a ReLU, clipped to L levels from above only",
        relu: true,
        rounding: "half_even",
        chain: {
          inits: [scalar("s", lambda / L), scalar("L", L)],
          nodes: [node("Div", ["z", "s"], ["u"]), node("Round", ["u"], ["k"]), node("Clip", ["k", "", "L"], ["kc"]), node("Mul", ["kc", "s"], ["q"])],
        },
      },
    ];
    for (const s of spellings) {
      const bytes = gemmModel(s.chain, { relu: s.relu });
      const c = await canonicalize(bytes);
      expect(c.warnings, s.name).toEqual([]);
      expect(opNames(c.m), s.name).toEqual(["nn.gemm", "nn.gemm"]);
      const a = opOf(c.m, "fc1").attrs;
      expect(a["activation"], s.name).toBe("quant");
      expect(a["quant_levels"], s.name).toBe(L);
      expect(a["quant_lambda"] as number, s.name).toBeCloseTo(lambda, 6);
      expect(a["quant_phi"] as number, s.name).toBeCloseTo(0.5, 6);
      expect(a["quant_rounding"], s.name).toBe(s.rounding);
      await expectOrtAgrees(bytes, c);
    }
  });

  test("a clip before the floor that cuts the top level is a quantiser with fewer levels (clip(z/λ, 0, 0.8) with L = 4: L = 3, λ' = 0.75·λ)", async () => {
    const bytes = gemmModel(clampFirst(4, 2, 0, 0.8));
    const c = await canonicalize(bytes);
    expect(c.warnings).toEqual([]);
    const a = opOf(c.m, "fc1").attrs;
    expect(a).toMatchObject({ activation: "quant", quant_levels: 3, quant_rounding: "floor" });
    expect(a["quant_lambda"] as number).toBeCloseTo(1.5, 6);
    await expectOrtAgrees(bytes, c);
  });

  test("Relu → QuantizeLinear → DequantizeLinear, uint8 with zero point 0: L = 255, λ = 255·scale", async () => {
    const s = Math.fround(4 / 255);
    const bytes = gemmModel(qdq(s, 0, "uint8"), { relu: true });
    const c = await canonicalize(bytes);
    expect(c.warnings).toEqual([]);
    expect(opNames(c.m)).toEqual(["nn.gemm", "nn.gemm"]);
    expect(opOf(c.m, "fc1").attrs).toMatchObject({ activation: "quant", quant_levels: 255, quant_lambda: s * 255, quant_phi: 0.5, quant_rounding: "half_even" });
    await expectOrtAgrees(bytes, c, -4, 4);
  });

  test("QuantizeLinear → DequantizeLinear int8: zero point −128 starts the grid at 0 (no ReLU needed), zero point 0 after a ReLU gives 127 levels", async () => {
    const s = 0.03125;
    const shifted = gemmModel(qdq(s, -128, "int8"));
    const c1 = await canonicalize(shifted);
    expect(c1.warnings).toEqual([]);
    expect(opOf(c1.m, "fc1").attrs).toMatchObject({ activation: "quant", quant_levels: 255, quant_lambda: 255 * s, quant_rounding: "half_even" });
    await expectOrtAgrees(shifted, c1, -4, 4);
    const symmetric = gemmModel(qdq(s, 0, "int8"), { relu: true });
    const c2 = await canonicalize(symmetric);
    expect(c2.warnings).toEqual([]);
    expect(opOf(c2.m, "fc1").attrs).toMatchObject({ activation: "quant", quant_levels: 127, quant_lambda: 127 * s, quant_rounding: "half_even" });
    await expectOrtAgrees(symmetric, c2, -4, 4);
  });

  test("a quantiser on the graph input becomes input_levels (the encoder realises it)", async () => {
    const L = 8;
    const rng = new Rng(9);
    const bytes = buildModel({
      opset: 13,
      inputs: [{ name: "x", shape: ["N", 1, 4, 4] }],
      initializers: [
        scalar("L", L),
        scalar("half", 0.5),
        scalar("zero", 0),
        scalar("one", 1),
        { name: "w", dims: [2, 1, 3, 3], data: rng.f32(18, -1, 1) },
        { name: "b", dims: [2], data: rng.f32(2, -0.2, 0.2) },
      ],
      nodes: [
        node("Mul", ["x", "L"], ["xL"]),
        node("Add", ["xL", "half"], ["w0"]),
        node("Floor", ["w0"], ["k"], "in_floor"),
        node("Div", ["k", "L"], ["kL"]),
        node("Clip", ["kL", "zero", "one"], ["xq"]),
        node("Conv", ["xq", "w", "b"], ["y"], "conv", { pads: [1, 1, 1, 1] }),
      ],
      outputs: ["y"],
    });
    const c = await canonicalize(bytes);
    expect(c.warnings).toEqual([]);
    expect(c.m.attrs).toMatchObject({ input_levels: L, input_rounding: "floor" });
    expect(opNames(c.m)).toEqual(["nn.conv"]);
    expect(c.m.ops[0]!.operands[0]).toBe(c.m.inputs[0]!.value);
    await expectOrtAgrees(bytes, c, -0.2, 1.2);
  });

  test("a uint8 Q/DQ pair of scale 1/255 on the input is input_levels = 255 with halves to even", async () => {
    const s = Math.fround(1 / 255);
    const bytes = buildModel({
      opset: 13,
      inputs: [{ name: "x", shape: ["N", 5] }],
      initializers: [scalar("s", s), { name: "zp", dims: [], data: Uint8Array.of(0) }, { name: "w", dims: [3, 5], data: new Rng(4).f32(15) }],
      nodes: [node("QuantizeLinear", ["x", "s", "zp"], ["qi"]), node("DequantizeLinear", ["qi", "s", "zp"], ["xq"]), node("Gemm", ["xq", "w"], ["y"], "fc", { transB: 1 })],
      outputs: ["y"],
    });
    const c = await canonicalize(bytes);
    expect(c.warnings).toEqual([]);
    expect(c.m.attrs).toMatchObject({ input_levels: 255, input_rounding: "half_even" });
    expect(opNames(c.m)).toEqual(["nn.gemm"]);
    await expectOrtAgrees(bytes, c, -0.2, 1.2);
  });
});

describe("near misses stay unfused, with a warning naming the node and the reason", () => {
  const cases: { name: string; bytes: () => Uint8Array; warning: RegExp }[] = [
    {
      name: "the scale after the floor is not λ/L (L/λ·λ/L = 0.98)",
      bytes: () => gemmModel(floorFirst(4, 2, 0.98 * 2)),
      warning: /^TSCC3300: Floor after 'fc1' is not a QCFS quantiser: scale L\/λ·λ\/L = 0\.98 ≠ 1; it stays unfused/,
    },
    {
      name: "a positive lower clip (Clip(0.25, 1)): level 0 never occurs",
      bytes: () => gemmModel(clampFirst(4, 2, 0.25, 1)),
      warning: /Floor after 'fc1' is not a QCFS quantiser: its lowest level is 1, not 0 \(a positive lower clip/,
    },
    {
      name: "a clip that is not to [0, 1] and ends between levels (Clip(0, 0.9) after the floor, L = 4)",
      bytes: () => gemmModel(floorFirst(4, 2, 2, 0.9)),
      warning: /Floor after 'fc1' is not a QCFS quantiser: the clip at 0\.9 falls between levels \(level 3\.6\)/,
    },
    {
      name: "a Floor without any clip",
      bytes: () =>
        gemmModel({
          inits: [scalar("a", 2), scalar("half", 0.5), scalar("p", 0.5)],
          nodes: [node("Mul", ["z", "a"], ["u"]), node("Add", ["u", "half"], ["w"]), node("Floor", ["w"], ["k"]), node("Mul", ["k", "p"], ["q"])],
        }),
      warning: /Floor after 'fc1' is not a QCFS quantiser: nothing clips it from below/,
    },
    {
      name: "a Floor after a ReLU without an upper clip",
      bytes: () =>
        gemmModel(
          {
            inits: [scalar("a", 2), scalar("half", 0.5), scalar("p", 0.5)],
            nodes: [node("Mul", ["z", "a"], ["u"]), node("Add", ["u", "half"], ["w"]), node("Floor", ["w"], ["k"]), node("Mul", ["k", "p"], ["q"])],
          },
          { relu: true },
        ),
      warning: /Floor after 'fc1' is not a QCFS quantiser: nothing clips it from above/,
    },
    {
      name: "a Floor after a Mul by a per-feature (non-scalar) λ",
      bytes: () =>
        gemmModel({
          inits: [f32("lam", [1, 2, 3, 4, 5, 6], [6]), scalar("L", 4), scalar("half", 0.5), scalar("zero", 0), scalar("one", 1)],
          nodes: [
            node("Div", ["z", "lam"], ["u"], "per_feature"),
            node("Mul", ["u", "L"], ["uL"]),
            node("Add", ["uL", "half"], ["w"]),
            node("Floor", ["w"], ["k"]),
            node("Div", ["k", "L"], ["kL"]),
            node("Clip", ["kL", "zero", "one"], ["q"]),
          ],
        }),
      warning: /Floor after 'per_feature' is not a QCFS quantiser: its input comes from 'per_feature' \(Div\), not from a conv, gemm, matmul or add .*non-scalar second operand/,
    },
    {
      name: "a Q/DQ pair whose scales differ",
      bytes: () => gemmModel(qdq(0.03125, 0, "uint8", 0.0625), { relu: true }),
      warning: /QuantizeLinear after 'fc1' is not a QuantizeLinear\/DequantizeLinear quantiser: scale L\/λ·λ\/L = 2 ≠ 1/,
    },
    {
      name: "an int8 Q/DQ pair with zero point 0 and no ReLU (negative levels)",
      bytes: () => gemmModel(qdq(0.03125, 0, "int8")),
      warning: /QuantizeLinear after 'fc1' is not a QuantizeLinear\/DequantizeLinear quantiser: its lowest level is -128, not 0/,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const bytes = c.bytes();
      const r = await canonicalize(bytes);
      expect(r.warnings).toHaveLength(1);
      expect(r.warnings[0]).toMatch(c.warning);
      const anchor = r.m.ops.find((op) => op.name === "nn.floor" || op.name === "nn.quantize_linear");
      expect(anchor, "the quantiser stays in the graph").toBeDefined();
      expect(opOf(r.m, "fc1").attrs["activation"]).not.toBe("quant");
      // Unfused, the module still computes the ONNX model; a spiking conversion refuses the leftover op by name.
      await expectOrtAgrees(bytes, r);
      const diag = new DiagnosticBag();
      legalizeForSnn(r.m, diag, "emulator");
      expect(diag.items.some((d) => d.loc === anchor!.loc && /no spiking counterpart/.test(d.message))).toBe(true);
    });
  }
});
