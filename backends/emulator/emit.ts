/**
 * The emulator artifact: a self-contained folder that runs without tscc installed.
 *
 *   manifest.json      what the network is (coding, window, input preprocessing, layers, schedule)
 *   weights.bin        the normalised weights (runtime/weights-file.ts reads them)
 *   model.ts/.js/.d.ts the layers wired as code, generated with ts-morph
 *   runtime/*.ts/.js   the engines (event-level and closed form), copied from tscc
 *   reference/         the ANN the network was converted from (model.tir + weights.bin), for accuracy
 *                      and agreement checks
 *
 * Everything is deterministic: no timestamps, no absolute paths, files in a fixed order.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Module as IrModule, printModule, tensorType, writeWeights, type Module } from "../../ir/index.js";
import type { EmitContext } from "../api.js";
import { buildNetwork, type BuiltNetwork } from "./build-network.js";
import { closedFormOnnx } from "./onnx-export.js";
import type { Node } from "./runtime/network.js";

export const ARTIFACT_FORMAT = "tscc-emulator";
export const ARTIFACT_VERSION = 1;

/** The runtime's TypeScript sources (next to this file in the repository, or beside dist/ when installed). */
export function runtimeSourceDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const c of [join(here, "runtime"), join(here, "..", "..", "..", "backends", "emulator", "runtime")]) {
    if (existsSync(join(c, "network.ts"))) return c;
  }
  throw new Error("emulator runtime sources not found (expected backends/emulator/runtime/*.ts in the tscc package)");
}

function weightsFileOf(blobs: Map<string, Float32Array>): Uint8Array {
  const m = new IrModule("weights");
  for (const [name, data] of blobs) m.addConst(name, tensorType([data.length]), data);
  return writeWeights(m);
}

/**
 * The runtime as compiled by tscc's own build (dist/backends/emulator/runtime/*.js and *.d.ts), when
 * present: transpiling it afresh costs seconds of TypeScript start-up on every compile.
 */
function compiledRuntimeDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const c of [join(here, "runtime"), join(here, "..", "..", "dist", "backends", "emulator", "runtime")]) {
    if (existsSync(join(c, "network.js")) && existsSync(join(c, "network.d.ts"))) return c;
  }
  return undefined;
}

/** TypeScript text of one node literal, weights as `w.get("name")`. */
function nodeLiteral(n: Node, names: { w?: string; b?: string } | undefined): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(n)) {
    if (k === "w" && names?.w) parts.push(`w: w.get(${JSON.stringify(names.w)})`);
    else if (k === "b" && names?.b) parts.push(`b: w.get(${JSON.stringify(names.b)})`);
    else parts.push(`${k}: ${JSON.stringify(v)}`);
  }
  return `{ ${parts.join(", ")} }`;
}

/** The runtime's TypeScript sources, as `runtime/<file>.ts` → text. */
function runtimeSources(): Map<string, string> {
  const rtDir = runtimeSourceDir();
  const sources = new Map<string, string>();
  for (const f of readdirSync(rtDir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .sort())
    sources.set(`runtime/${f}`, readFileSync(join(rtDir, f), "utf8"));
  return sources;
}

/** Generate model.ts with ts-morph and transpile it together with the runtime. */
export async function generateModule(built: BuiltNetwork, header: string): Promise<Map<string, string>> {
  const { VariableDeclarationKind } = await import("ts-morph");
  const { network, blobNames } = built;
  const sf = await modelSource(header, "./runtime/network.js", "Network");
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    declarations: [{ name: "coding", initializer: JSON.stringify(network.coding) + " as const" }],
    docs: ["Spike coding of this network."],
  });
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    declarations: [{ name: "window", initializer: String(network.window) }],
    docs: [network.coding === "tsc" ? "Time steps per layer window (T)." : "Time steps of a run."],
  });
  sf.addFunction({
    isExported: true,
    name: "network",
    parameters: [{ name: "w", type: "WeightStore" }],
    returnType: "Network",
    docs: ["The spiking layers wired in order; weights come from `w`."],
    statements: (writer) => {
      writer.writeLine("return {");
      writer.indent(() => {
        writer.writeLine(`coding: ${JSON.stringify(network.coding)},`);
        writer.writeLine(`window: ${network.window},`);
        writer.writeLine("values: [");
        writer.indent(() => network.values.forEach((v, i) => writer.writeLine(`${JSON.stringify(v)}, // ${i}`)));
        writer.writeLine("],");
        writer.writeLine("nodes: [");
        writer.indent(() => network.nodes.forEach((n) => writer.writeLine(`${nodeLiteral(n, blobNames.get(n))},`)));
        writer.writeLine("],");
        writer.writeLine(`inputs: ${JSON.stringify(network.inputs)},`);
        writer.writeLine(`outputs: ${JSON.stringify(network.outputs)},`);
      });
      writer.writeLine("};");
    },
  });
  return finishModelSource(sf, "Network");
}

type SourceFile = import("ts-morph").SourceFile;

/**
 * A new model.ts: the header comment and the imports every artifact module has (the network type from
 * `typeModule`, the weights reader); the caller adds `network(w)` and finishModelSource the rest.
 */
export async function modelSource(header: string, typeModule: string, typeName: string): Promise<SourceFile> {
  const { Project, ts } = await import("ts-morph");
  const project = new Project({ useInMemoryFileSystem: true, compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, strict: true } });
  const sf = project.createSourceFile("/artifact/model.ts", "");
  sf.insertStatements(0, docComment(header));
  sf.addImportDeclaration({ moduleSpecifier: "node:path", namedImports: ["dirname", "join"] });
  sf.addImportDeclaration({ moduleSpecifier: "node:url", namedImports: ["fileURLToPath"] });
  sf.addImportDeclaration({ moduleSpecifier: typeModule, namedImports: [typeName], isTypeOnly: true });
  sf.addImportDeclaration({ moduleSpecifier: "./runtime/weights-file.js", namedImports: ["loadWeights", "type WeightStore"] });
  return sf;
}

/** Add `load(dir)` and the runtime's exports to model.ts, and transpile it with the runtime. */
export async function finishModelSource(sf: SourceFile, typeName: string): Promise<Map<string, string>> {
  sf.addFunction({
    isExported: true,
    name: "load",
    parameters: [{ name: "dir", type: "string", initializer: "dirname(fileURLToPath(import.meta.url))" }],
    returnType: typeName,
    docs: ["This artifact's network, with the weights read from weights.bin in `dir`."],
    statements: 'return network(loadWeights(join(dir, "weights.bin")));',
  });
  sf.addExportDeclaration({ moduleSpecifier: "./runtime/index.js" });
  sf.formatText({ indentSize: 2 });
  const sources = runtimeSources();
  sources.set("model.ts", sf.getFullText());
  return transpileArtifact(sources);
}

/** A header comment block. */
/** The header as a doc comment: a "*\/" in it (e.g. in the model's file name) must not end the comment. */
function docComment(header: string): string {
  return `/**\n${header
    .split("\n")
    .map((l) => ` * ${l.replace(/\*\//g, "*\\/")}`.trimEnd())
    .join("\n")}\n */`;
}

/**
 * Transpile the artifact's TypeScript (runtime/*.ts and model.ts) to JavaScript and declarations; the
 * runtime comes precompiled from tscc's own build when it is there.
 */
async function transpileArtifact(sources: Map<string, string>): Promise<Map<string, string>> {
  const { ts } = await import("ts-morph");
  const runtimeFiles = [...sources.keys()].filter((k) => k.startsWith("runtime/")).map((k) => k.slice("runtime/".length));
  // Every file satisfies isolated declarations, so each one transpiles on its own (no type check):
  // JavaScript with transpileModule, declarations with transpileDeclaration.
  const options = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, declaration: true };
  const out = new Map<string, string>(sources);
  const compiled = compiledRuntimeDir();
  const stale = compiled !== undefined && runtimeFiles.some((f) => !existsSync(join(compiled, f.replace(/\.ts$/, ".js"))));
  for (const [rel, text] of sources) {
    const base = rel.replace(/\.ts$/, "");
    if (compiled && !stale && rel.startsWith("runtime/")) {
      const name = base.slice("runtime/".length);
      const strip = (t: string): string => t.replace(/\n\/\/# sourceMappingURL=.*\n?$/, "\n");
      out.set(`${base}.js`, strip(readFileSync(join(compiled, `${name}.js`), "utf8")));
      out.set(`${base}.d.ts`, strip(readFileSync(join(compiled, `${name}.d.ts`), "utf8")));
      continue;
    }
    out.set(`${base}.js`, ts.transpileModule(text, { compilerOptions: options, fileName: rel }).outputText);
    const dts = ts.transpileDeclaration(text, { compilerOptions: options, fileName: rel, reportDiagnostics: true });
    if (dts.diagnostics?.length) throw new Error(`emulator codegen: ${rel} is not declaration-isolated: ${ts.flattenDiagnosticMessageText(dts.diagnostics[0]!.messageText, " ")}`);
    out.set(`${base}.d.ts`, dts.outputText);
  }
  return out;
}

/** The reference ANN (front module) without a final softmax, so its outputs compare with the decoded logits. */
export function referenceModule(front: Module, softmaxRemoved: boolean): Module {
  const ref = front.clone();
  if (softmaxRemoved) {
    for (const o of ref.outputs) {
      const op = o.value.op;
      if (op?.name === "nn.softmax") o.value = op.operands[0]!;
    }
    ref.removeDeadCode();
  }
  return ref;
}

export interface ManifestExtras {
  readonly [key: string]: unknown;
}

export async function emitArtifact(m: Module, ctx: EmitContext, manifest: (built: BuiltNetwork) => object, header: string): Promise<BuiltNetwork> {
  const built = buildNetwork(m);
  ctx.writeFile("manifest.json", JSON.stringify(sortKeys(manifest(built)), null, 2) + "\n");
  ctx.writeFile("weights.bin", weightsFileOf(built.blobs));
  if (built.network.coding === "tsc") ctx.writeFile("closed-form.onnx", closedFormOnnx(built.network));
  const files = await generateModule(built, header);
  for (const [rel, text] of [...files.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) ctx.writeFile(rel, text);
  if (ctx.frontModule) {
    const ref = referenceModule(ctx.frontModule, m.attrs["softmax_removed"] === true);
    ref.attrs["weights_file"] = "weights.bin";
    ctx.writeFile("reference/model.tir", printModule(ref));
    ctx.writeFile("reference/weights.bin", writeWeights(ref));
  }
  return built;
}

/** JSON with object keys sorted (deterministic and diff-friendly). */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object" && !ArrayBuffer.isView(v)) {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, sortKeys(o[k])]),
    );
  }
  return v;
}
