/**
 * Every DRC rule, triggered through the CLI by a tiny user profile: the readable message, exit code 1
 * and nothing written. (v-saturation is a warning: the compile succeeds and says so.)
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { removeDir, tempDir, tscc, ROOT } from "../../cli/support.js";
import { RULES } from "../../../backends/loihi/drc.js";
import { NO_FIT_RULES } from "../../../backends/loihi/passes.js";
import { CNN_SMALL } from "./support.js";

const dir = tempDir("tscc-loihi-drc-");
afterAll(() => removeDir(dir));

async function compileWith(name: string, profile: Record<string, unknown>, extra: string[] = []): Promise<{ code: number; stderr: string; out: string }> {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(profile));
  const out = join(dir, `out-${name}`);
  const r = await tscc(["compile", CNN_SMALL, "--target", "loihi", "--calibration", "example:fashion-mnist", "-O", "calibration-limit=8", "-O", `profile=${file}`, "-o", out, ...extra], ROOT);
  return { code: r.code, stderr: r.stderr, out };
}

const cases: [rule: string, profile: Record<string, unknown>, expected: string][] = [
  ["compartments", { cx_per_core: 3 }, "compartments 4 > 3 on core 0 (layer /Relu): a tsc neuron needs 4 compartments: raise cx_per_core"],
  ["delay-slots", { delay_slot_budget: 16, delay_slots: 8 }, "delay-slots 4×8 = 32 > 16 on core 0 (layer /Relu): fewer delay slots (delay_slots) or a larger delay_slot_budget"],
  ["synapse-memory", { syn_bits_per_core: 640 }, "synapse bits 28672 > 640 on core 0 (layer /Relu_2): one neuron's fan-in does not fit a core's synapse memory: split along input channels or use fewer weight bits"],
  ["in-axons", { in_axons: 20 }, "in-axons 42 > 20 on core 0 (layer /Relu): split along input channels"],
  ["out-axons", { out_axons: 16 }, "out-axons 36 > 16 on core 0 (layer /MaxPool): split the source layer into smaller tiles or lower its fan-out"],
  ["cx-profiles", { max_cx_profiles: 2 }, "compartment profiles 4 > 2 on core 0 (layer /Relu): put fewer kinds of compartments on a core (one layer per core)"],
  ["vth-profiles", { max_vth_profiles: 2 }, "threshold profiles 4 > 2 on core 0 (layer /Relu): put fewer layers on a core"],
  ["syn-formats", { max_syn_formats: 1 }, "synapse formats 2 > 1 on core 0 (layer /Relu): put fewer synapse groups on a core or share exponents (exponent=layer)"],
  // The numeric rules fail only where no threshold class, exponent or fan-in split fits: Loihi 2's
  // smallest threshold is one unit (64), and a weight that alone exceeds a register cannot be split.
  ["weight-range", { base: "loihi2", weight_exp_max: -7 }, "weight mantissa(s) clipped at ±127 (layer /fc2/Gemm, exponent -7): no legal configuration"],
  ["threshold-range", { base: "loihi2", weight_exp_max: -7 }, "is below one threshold unit 2^6 = 64 (layer /fc2/Gemm): no legal configuration"],
  ["bias-range", { base: "loihi2", bias_mant_bits: 2, bias_exp_max: 0 }, "bias-range"],
  ["tsc-window", { refract_max: 16 }, "tsc-window 33 > 16: window 32 (layers /Relu, /MaxPool, /Relu_1, /MaxPool_1, /Relu_2) needs a refractory delay of 33 steps for one-shot comparators (refract_max 16)"],
  ["q-overflow", { base: "loihi2", q_bits: 6 }, "q-overflow worst-case per-step input"],
  ["u-overflow", { base: "loihi2", u_bits: 8, q_bits: 20 }, "u-overflow worst-case current"],
  ["chips", { max_chips: 1, cx_per_core: 64 }, "chips 12 > 1: the mapping needs"],
];

describe("each DRC rule fails a compile with a readable message, exit 1 and nothing written", () => {
  test("every rule is covered here", () => {
    const covered = new Set([...cases.map((c) => c[0]), "v-saturation", "delay-range"]);
    expect(RULES.map((r) => r.rule).filter((r) => !covered.has(r))).toEqual([]);
  });
  for (const [rule, profile, expected] of cases) {
    test(rule, async () => {
      const r = await compileWith(rule, profile);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(expected);
      expect(r.stderr).toMatch(NO_FIT_RULES.includes(rule) ? /error TSCC3101/ : /error TSCC3005/);
      expect(existsSync(r.out)).toBe(false);
    });
  }
  test("v-saturation is a warning: the compile succeeds and reports it", async () => {
    const r = await compileWith("vsat", { v_bits: 14 });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("warning TSCC3006: v-saturation worst-case membrane");
    expect(existsSync(join(r.out, "resource-report.json"))).toBe(true);
  });
  test("delay-range passes (the mapping programs no synaptic delays) and is reported", async () => {
    const r = await compileWith("delays", { delay_max: 0 });
    expect(r.code).toBe(0);
    const rep = JSON.parse((await import("node:fs")).readFileSync(join(r.out, "resource-report.json"), "utf8"));
    expect(rep.drc.find((d: { rule: string }) => d.rule === "delay-range").pass).toBe(true);
  });

  test("per-layer windows: a large gain folded into a layer's weights fails q-overflow, naming the layer and the gain", async () => {
    // Loihi 2 with 12-bit q: cnn-small fits with one window; /Relu at 512 steps over an encoder of 2
    // integrates every input spike with gain 256, and its weights no longer fit the register.
    const profile = { base: "loihi2", q_bits: 12 };
    expect((await compileWith("gain-ok", profile)).code).toBe(0);
    const r = await compileWith("gain", profile, ["--layer-windows", "#0=2,#1=512"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error TSCC3101: q-overflow worst-case per-step input \d+ > 4095 \(2\^12 − 1\) \(layer \/Relu, window gain 256 \(T 512 \/ T_src 2\) folded into its weights\): no legal configuration/);
    expect(r.stderr).toContain("or give the layer a window closer to its sources' (--layer-windows) to lower the gain");
    expect(r.stderr).not.toContain("/Relu_1");
    expect(existsSync(r.out)).toBe(false);
  });
  test("per-layer windows: tsc-window checks each layer's own window (an OR gate's: its source's)", async () => {
    expect((await compileWith("win-ok", { refract_max: 16 }, ["--window", "8"])).code).toBe(0);
    const r = await compileWith("win", { refract_max: 16 }, ["--window", "8", "--layer-windows", "#2=20"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("tsc-window 21 > 16: window 20 (layers /Relu_1, /MaxPool_1) needs a refractory delay of 21 steps");
    expect(r.stderr.match(/tsc-window/g)).toHaveLength(1);
  });
});
