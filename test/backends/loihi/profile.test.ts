/** Chip profiles: built-ins are consistent and sourced; user profiles are validated with readable errors. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { isTsccError } from "../../../ir/index.js";
import { BUILTIN_PROFILES, listBits, loadProfile, parseProfile, profileProblems } from "../../../backends/loihi/profile.js";
import { removeDir, tempDir, tscc, ROOT } from "../../cli/support.js";
import { CNN_SMALL } from "./support.js";

const dir = tempDir("tscc-loihi-prof-");
afterAll(() => removeDir(dir));

function messages(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (isTsccError(e)) return e.diagnostics.map((d) => d.message);
    throw e;
  }
  return [];
}

test("built-in profiles are consistent and every field has a source", () => {
  for (const p of Object.values(BUILTIN_PROFILES)) {
    expect(profileProblems(p)).toEqual([]);
    for (const k of Object.keys(p)) if (!["name", "description", "confidence", "sources"].includes(k)) expect(p.sources[k], `${p.name}.${k}`).toBeDefined();
  }
  expect(BUILTIN_PROFILES["loihi2"]!.confidence).toBe("low");
});

test("readable errors name the file and the field, all at once", () => {
  expect(messages(() => parseProfile({ cx_per_core: -3, in_axons: 1.5, tsc: { neuron_cx: 0 }, bogus: 1 }, "profile.json"))).toEqual([
    "profile.json: cx_per_core must be a positive integer, got -3",
    "profile.json: in_axons must be a positive integer, got 1.5",
    "profile.json: tsc.neuron_cx must be a positive integer, got 0",
    "profile.json: bogus: unknown field",
  ]);
  expect(messages(() => parseProfile({ weight_exp_min: 3, weight_exp_max: 2 }, "p.json"))).toEqual(["p.json: weight_exp_min (3) must not exceed weight_exp_max (2)"]);
  expect(messages(() => parseProfile({ base: "loihi3" }, "p.json"))).toEqual(['p.json: base must be "loihi1" or "loihi2", got "loihi3"']);
});

test("shifts and exponents are bounded and one threshold unit fits v (fuzz finding: vth_shift 2^32 hung the quantiser)", () => {
  expect(messages(() => parseProfile({ base: "loihi1", vth_shift: 4294967296, syn_header_bits: 38 }, "p.json"))).toEqual(["p.json: vth_shift must be an integer from 0 to 32, got 4294967296"]);
  expect(messages(() => parseProfile({ weight_exp_min: -1e12, bias_exp_max: 2 ** 53, syn_header_bits: 65 }, "p.json"))).toEqual([
    "p.json: weight_exp_min must be an integer from -32 to 32, got -1000000000000",
    "p.json: bias_exp_max must be an integer from 0 to 32, got 9007199254740992",
    "p.json: syn_header_bits must be an integer from 0 to 64, got 65",
  ]);
  expect(messages(() => parseProfile({ vth_shift: 24 }, "p.json"))).toEqual([
    "p.json: vth_shift (24) must be less than v_bits (24): the threshold unit 2^vth_shift must fit the membrane register",
  ]);
  // The extremes of the ranges are accepted (the fuzzer compiles with them: bounded work, coded diagnostics at worst).
  expect(parseProfile({ vth_shift: 23, bias_exp_max: 32, weight_exp_min: -32, weight_exp_max: 32, weight_fixed_shift: 32, syn_header_bits: 64 }, "p.json").vth_shift).toBe(23);
});

test("a user profile overrides a base profile and marks its fields as user-supplied", () => {
  const p = parseProfile({ base: "loihi2", cx_per_core: 2048 }, "mine.json");
  expect(p.cx_per_core).toBe(2048);
  expect(p.tsc.synapse).toBe("graded");
  expect(p.sources["cx_per_core"]!.source).toBe("user profile mine.json");
});

test("an invalid profile file fails the compile with exit 1 and the field named", async () => {
  const file = join(dir, "profile.json");
  writeFileSync(file, JSON.stringify({ cx_per_core: -3 }));
  const r = await tscc(["compile", CNN_SMALL, "--target", "loihi", "-O", `profile=${file}`, "-o", join(dir, "out")], ROOT);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("profile.json: cx_per_core must be a positive integer, got -3");
  writeFileSync(file, "{ not json");
  expect(messages(() => loadProfile(file))[0]).toMatch(/not valid JSON/);
});

test("list storage follows nengo-loihi's bits_per_axon", () => {
  const p = BUILTIN_PROFILES["loihi1"]!;
  // 64 entries of 8 bits: 512 + 10 header bits → 9 words; 65 entries add a block of 1 entry (18 bits → 1 word).
  expect(listBits(p, 64, 8)).toBe(576);
  expect(listBits(p, 65, 8)).toBe(640);
  // mapping.md §6.3: dense 8-bit 784 → 256: 784 lists of 256 weights = 784 × 2,304 bits.
  expect(listBits(p, 256, 8)).toBe(2304);
});
