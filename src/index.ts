/**
 * The programmatic API (`import { compile } from "tscc"`): what the CLI does, as functions.
 *
 *     import { compile, createRegistry } from "tscc";
 *     const reg = await createRegistry(["tscc-backend-example"]);   // plugins, resolved from cwd
 *     const r = await compile({ model: "net.onnx", target: "example", outDir: "out" }, reg);
 *
 * The IR is in `tscc/ir`, the backend and plugin API in `tscc/backend`.
 */
export { compile, createRegistry, resolvePipeline, backendOptions, verifyLoaded, type CompileRequest, type CompileResult } from "./driver/compile.js";
export { loadModel, modelKind, type LoadedIr, type ModelKind } from "./driver/load-model.js";
export { loadPlugin, resolvePluginSpec } from "./driver/plugin-loader.js";
export { Registry } from "./driver/registry.js";
export { importOnnxFile, importOnnxModel, type ImportOptions, type ImportResult } from "./frontend/onnx/import.js";
export { VERSION } from "./version.js";
