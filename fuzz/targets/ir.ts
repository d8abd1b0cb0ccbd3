/**
 * IR files: `.tir` text (token-level edits, hostile numbers and dims, a `weights_file` that points
 * outside the folder), its `weights.bin` sidecar (byte edits, header edits, blobs whose SHA-256 or
 * size disagree with the IR) and `.tir.json` (structural JSON edits).
 */
import fc from "fast-check";
import { irCorpus } from "../corpus.js";
import { mutatedBytes, mutatedJson, mutatedText } from "../mutate.js";
import { defineTarget, type FuzzCase } from "../target.js";
import { mutatedWeights } from "./weights.js";

const compileArgv = (file: string): string[] => ["compile", file, "--target", "ir", "-o", "out"];

export const tirTarget = defineTarget({
  name: "tir",
  summary:
    "IR text of 4 imported fixtures (nn dialect) and the converted tiny CNN (snn dialect), inline or with a weights.bin sidecar; 1–5 token edits (delete, duplicate, swap, hostile numbers such as 2^32, 1e309, nan, stray punctuation, hostile strings), or the sidecar mutated (bytes, header JSON, resized blobs with matching or mismatched SHA-256), or weights_file pointing outside the folder; read by `tscc compile --target ir`",
  weight: 3,
  prepare: () => irCorpus(),
  base: () => ({ "../outside.bin": new Uint8Array(64) }),
  arbitrary: (p) =>
    fc.oneof(
      { weight: 3, arbitrary: mutatedText(p.inline).map((text): FuzzCase => ({ files: { "model.tir": text }, argv: compileArgv("model.tir"), note: "mutated inline .tir" })) },
      {
        weight: 2,
        arbitrary: fc.record({ k: fc.nat(), text: mutatedText(p.withBlobs.map((b) => b.text)) }).map(
          ({ k, text }): FuzzCase => ({ files: { "model.tir": text, "weights.bin": p.withBlobs[k % p.withBlobs.length]!.weights }, argv: compileArgv("model.tir"), note: "mutated .tir with sidecar" }),
        ),
      },
      {
        weight: 2,
        arbitrary: fc.nat().chain((k) => {
          const b = p.withBlobs[k % p.withBlobs.length]!;
          return mutatedWeights([b.weights]).map((weights): FuzzCase => ({ files: { "model.tir": b.text, "weights.bin": weights }, argv: compileArgv("model.tir"), note: "mutated weights.bin" }));
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ k: fc.nat(), where: fc.constantFrom("../outside.bin", "/etc/passwd", "sub/../../outside.bin", "link.bin", "", ".", "weights.bin/x") }).map(({ k, where }): FuzzCase => {
          const b = p.withBlobs[k % p.withBlobs.length]!;
          const escapes = ["../outside.bin", "/etc/passwd", "sub/../../outside.bin", "link.bin"].includes(where);
          return {
            files: { "model.tir": b.text.replace('weights_file = "weights.bin"', `weights_file = ${JSON.stringify(where)}`), "weights.bin": b.weights, "link.bin": { symlink: "../outside.bin" } },
            argv: compileArgv("model.tir"),
            note: `weights_file = ${JSON.stringify(where)}`,
            ...(escapes ? { mustReject: true } : {}),
          };
        }),
      },
      { weight: 1, arbitrary: mutatedBytes(p.inline.map((t) => new TextEncoder().encode(t))).map((bytes): FuzzCase => ({ files: { "model.tir": bytes }, argv: compileArgv("model.tir"), note: "byte-mutated .tir" })) },
    ),
  valid: (p) => ({ files: { "model.tir": p.withBlobs[0]!.text, "weights.bin": p.withBlobs[0]!.weights }, argv: compileArgv("model.tir"), note: "unmutated" }),
});

export const tirJsonTarget = defineTarget({
  name: "tir-json",
  summary: "JSON IR of the same 5 modules; 1–4 structural edits (a value replaced by one of another type or a hostile number/string, keys deleted or added, array items duplicated), or byte edits; read by `tscc compile --target ir`",
  weight: 2,
  prepare: () => irCorpus(),
  base: () => ({}),
  arbitrary: (p) =>
    fc.oneof(
      { weight: 4, arbitrary: mutatedJson(p.json).map((text): FuzzCase => ({ files: { "model.tir.json": text }, argv: compileArgv("model.tir.json"), note: "mutated JSON IR" })) },
      { weight: 1, arbitrary: mutatedBytes(p.json.map((j) => new TextEncoder().encode(JSON.stringify(j)))).map((bytes): FuzzCase => ({ files: { "model.tir.json": bytes }, argv: compileArgv("model.tir.json"), note: "byte-mutated JSON IR" })) },
    ),
  valid: (p) => ({ files: { "model.tir.json": JSON.stringify(p.json[0]) }, argv: compileArgv("model.tir.json"), note: "unmutated" }),
});
