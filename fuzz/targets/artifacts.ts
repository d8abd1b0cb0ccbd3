/**
 * Compiled artifacts read back by `tscc run`: the emulator's (manifest.json, weights.bin,
 * closed-form.onnx, reference/model.tir + weights.bin, the .tscc-output marker) and the Loihi
 * backend's (manifest.json, network.json, weights.bin, hw-profile.json, resource-report.json), each
 * mutated on its own; and user chip profiles (`-O profile=file.json`) read by `tscc compile --target loihi`.
 * The generated model.js is never mutated: an artifact is code by design (see docs/reliability.md).
 */
import fc from "fast-check";
import { BUILTIN_PROFILES, profileJson } from "../../backends/loihi/profile.js";
import { emulatorArtifact, loihiArtifact, tinyFiles } from "../corpus.js";
import { hostileNumber, hostileString, mutatedBytes, mutatedJson, mutatedText } from "../mutate.js";
import { defineTarget, type FileContent, type FuzzCase } from "../target.js";
import { mutatedWeights } from "./weights.js";

const ART = "art";

interface ArtifactCorpus {
  files: Record<string, Uint8Array>;
}

const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b ?? new Uint8Array(0));

/** A mutation of one artifact file, chosen by kind of file. */
function fileMutation(files: Record<string, Uint8Array>, name: string): fc.Arbitrary<FileContent> {
  const bytes = files[name]!;
  if (name.endsWith(".json") || name === ".tscc-output") {
    return fc.oneof({ weight: 4, arbitrary: mutatedJson([JSON.parse(text(bytes))]) }, { weight: 1, arbitrary: mutatedBytes([bytes]) });
  }
  if (name.endsWith("weights.bin")) return mutatedWeights([bytes]);
  if (name.endsWith(".tir")) return mutatedText([text(bytes)]);
  return mutatedBytes([bytes]);
}

function artifactArbitrary(p: ArtifactCorpus, mutable: readonly { name: string; weight: number }[], engines: readonly (readonly string[])[]): fc.Arbitrary<FuzzCase> {
  const one = fc.oneof(...mutable.map((m) => ({ weight: m.weight, arbitrary: fileMutation(p.files, m.name).map((c) => [m.name, c] as const) })));
  return fc
    .record({ edits: fc.array(one, { minLength: 1, maxLength: 2 }), engine: fc.constantFrom(...engines), missing: fc.option(fc.constantFrom(...mutable.map((m) => m.name)), { freq: 12, nil: undefined }) })
    .map(({ edits, engine, missing }): FuzzCase => {
      const files: Record<string, FileContent> = {};
      for (const [name, c] of edits) files[`${ART}/${name}`] = c;
      // A missing file: an empty symlink target is as good as a deleted file for the reader.
      if (missing) files[`${ART}/${missing}`] = { symlink: "does-not-exist" };
      return { files, argv: ["run", ART, "--input", "x.npy", "--labels", "y.npy", ...engine], note: `${edits.map(([n]) => n).join("+")}${missing ? ` (${missing} missing)` : ""} ${engine.join(" ")}`.trim() };
    });
}

function baseOf(p: ArtifactCorpus): Record<string, FileContent> {
  const out: Record<string, FileContent> = { ...tinyFiles() };
  for (const [name, b] of Object.entries(p.files)) out[`${ART}/${name}`] = b;
  return out;
}

export const emulatorArtifactTarget = defineTarget({
  name: "emulator-artifact",
  summary:
    "the tiny CNN's emulator artifact, 1–2 files mutated or missing: manifest.json and the .tscc-output marker (JSON edits), weights.bin (bytes, header, resized blobs with recomputed or stale SHA-256), closed-form.onnx (bytes), reference/model.tir (tokens) and reference/weights.bin; run with the fast (onnxruntime and JavaScript) and event engines",
  weight: 2,
  async prepare() {
    return { files: await emulatorArtifact() };
  },
  base: baseOf,
  arbitrary: (p) =>
    artifactArbitrary(
      p,
      [
        { name: "manifest.json", weight: 4 },
        { name: "weights.bin", weight: 4 },
        { name: ".tscc-output", weight: 1 },
        { name: "closed-form.onnx", weight: 1 },
        { name: "reference/model.tir", weight: 2 },
        { name: "reference/weights.bin", weight: 1 },
      ],
      [[], ["--engine", "event"], ["--engine", "fast", "-O", "fast=js"]],
    ),
  valid: () => ({ files: {}, argv: ["run", ART, "--input", "x.npy", "--labels", "y.npy"], note: "unmutated" }),
});

export const loihiArtifactTarget = defineTarget({
  name: "loihi-artifact",
  summary:
    "the tiny CNN's Loihi artifact (loihi1, T = 8), 1–2 files mutated or missing: manifest.json, network.json, hw-profile.json, resource-report.json, .tscc-output (JSON edits), weights.bin (bytes, header, resized blobs with recomputed or stale SHA-256); run bit-accurately (event) and in integer closed form (fast)",
  weight: 2,
  async prepare() {
    return { files: await loihiArtifact() };
  },
  base: baseOf,
  arbitrary: (p) =>
    artifactArbitrary(
      p,
      [
        { name: "manifest.json", weight: 3 },
        { name: "network.json", weight: 5 },
        { name: "weights.bin", weight: 4 },
        { name: "hw-profile.json", weight: 1 },
        { name: "resource-report.json", weight: 1 },
        { name: ".tscc-output", weight: 1 },
      ],
      [[], ["--engine", "fast"]],
    ),
  valid: () => ({ files: {}, argv: ["run", ART, "--input", "x.npy", "--labels", "y.npy"], note: "unmutated" }),
});

const PROFILE_ARGV = ["compile", "tiny.onnx", "--target", "loihi", "--calibration", "calib.npy", "--window", "8", "-O", "profile=profile.json", "-o", "out"];

/** Every field a user profile may set, from the built-in profile. */
function fullProfile(name: "loihi1" | "loihi2"): Record<string, unknown> {
  const { derived: _d, ...rest } = profileJson(BUILTIN_PROFILES[name]!) as Record<string, unknown> & { derived: unknown };
  return { base: name, ...rest, name: `fuzz-${name}` };
}

export const loihiProfileTarget = defineTarget({
  name: "loihi-profile",
  summary:
    "user chip profiles: the full loihi1/loihi2 profiles and small overrides of them, with 1–4 JSON edits (wrong types, hostile numbers such as 0, −1, 2^53, 1e308, unknown or deleted fields, nested tsc/energy/sources objects), or 1–3 fields set to hostile values; read by `tscc compile --target loihi -O profile=...`",
  weight: 1,
  async prepare() {
    const docs = [fullProfile("loihi1"), fullProfile("loihi2"), { base: "loihi1", cx_per_core: 512 }, { base: "loihi2", tsc: { bias: "neuron" }, energy: {} }, { base: "loihi1", weight_bits: 6, q_bits: 18 }];
    return { docs, keys: Object.keys(fullProfile("loihi1")) };
  },
  base: () => tinyFiles(),
  arbitrary: (p) =>
    fc.oneof(
      { weight: 3, arbitrary: mutatedJson(p.docs).map((json): FuzzCase => ({ files: { "profile.json": json }, argv: PROFILE_ARGV, note: "mutated profile" })) },
      {
        weight: 2,
        arbitrary: fc
          .array(fc.record({ key: fc.constantFrom(...p.keys), value: fc.oneof(hostileNumber(), hostileString(), fc.constantFrom<unknown>(null, [], {}, true, [1e12], [-1])) }), { minLength: 1, maxLength: 3 })
          .map((fields): FuzzCase => {
            const doc: Record<string, unknown> = { base: "loihi1" };
            for (const f of fields) doc[f.key] = f.value;
            return { files: { "profile.json": JSON.stringify(doc) }, argv: PROFILE_ARGV, note: `profile overriding ${fields.map((f) => `${f.key}=${JSON.stringify(f.value)}`).join(", ")}` };
          }),
      },
      { weight: 1, arbitrary: mutatedBytes(p.docs.map((d) => new TextEncoder().encode(JSON.stringify(d)))).map((b): FuzzCase => ({ files: { "profile.json": b }, argv: PROFILE_ARGV, note: "byte-mutated profile" })) },
    ),
  valid: (p) => ({ files: { "profile.json": JSON.stringify(p.docs[2]) }, argv: PROFILE_ARGV, note: "a valid override" }),
});
