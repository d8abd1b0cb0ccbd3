// Entry of worker threads started from TypeScript sources (tests, benchmarks run by tsx): registers
// tsx's loader in this thread (workers do not inherit the main thread's module hooks) and then loads the
// TypeScript worker named in workerData.entry. Built code (dist/) starts its .js workers directly.
//
// tsx resolves an import of `x.js` to `x.ts` when both exist, which is wrong for a compiled emulator
// artifact (model.js beside model.ts, runtime/*.js beside runtime/*.ts): a .js file imported by an
// absolute file: URL, or relatively from another .js file, is resolved by Node as it is, ahead of tsx.
import { register as registerHooks } from "node:module";
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const plainJs = `export async function resolve(specifier, context, next) {
  const js = /\\.js$/.test(specifier);
  if (js && specifier.startsWith("file:")) return { url: specifier, shortCircuit: true };
  if (js && specifier.startsWith(".") && /^file:.*\\.js$/.test(context.parentURL ?? "")) return { url: new URL(specifier, context.parentURL).href, shortCircuit: true };
  return next(specifier, context);
}`;
registerHooks(`data:text/javascript,${encodeURIComponent(plainJs)}`);
await import(workerData.entry);
