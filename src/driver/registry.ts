/** Everything one compilation can use: ops, passes, backends. Built fresh per compilation; no globals. */
import { builtinOps, fmt, M, PassRegistry, TsccError, type OpDef, type OpRegistry, type Pass } from "../../ir/index.js";
import type { Backend, PluginApi } from "../../backends/api.js";
import { BUILTIN_BACKENDS } from "../../backends/index.js";
import { registerBuiltinPasses } from "../passes/index.js";

export class Registry {
  readonly ops: OpRegistry = builtinOps();
  readonly passes = new PassRegistry();
  private readonly backends = new Map<string, Backend>();
  /** Which plugin registered each backend (for messages). */
  readonly origins = new Map<string, string>();

  constructor() {
    registerBuiltinPasses(this.passes);
    for (const b of BUILTIN_BACKENDS) this.addBackend(b, "built-in");
  }

  addBackend(b: Backend, origin: string): void {
    if (this.backends.has(b.name)) {
      throw new TsccError(fmt(M.NameCollision, ["backend", b.name, ` (by ${this.origins.get(b.name)}; now again by ${origin})`]));
    }
    this.backends.set(b.name, b);
    this.origins.set(b.name, origin);
    for (const p of b.passes?.() ?? []) {
      if (!p.name.startsWith(`${b.name}:`)) throw new TsccError(fmt(M.PluginInvalid, [origin, `backend pass '${p.name}' must be named '${b.name}:<pass>'`]));
      this.passes.register(p);
    }
    for (const d of b.ops?.() ?? []) this.addOp(d, origin);
  }

  addOp(def: OpDef, origin: string): void {
    if (this.ops.has(def.name)) throw new TsccError(fmt(M.NameCollision, ["op", def.name, ` (again by ${origin})`]));
    this.ops.register(def);
  }

  addPass(p: Pass, origin: string): void {
    if (this.passes.get(p.name)) throw new TsccError(fmt(M.NameCollision, ["pass", p.name, ` (again by ${origin})`]));
    this.passes.register(p);
  }

  backend(name: string): Backend {
    const b = this.backends.get(name);
    if (!b) throw new TsccError(fmt(M.UnknownBackend, [name, this.backendNames().join(", ")]));
    return b;
  }

  backendNames(): string[] {
    return [...this.backends.keys()];
  }

  allBackends(): Backend[] {
    return [...this.backends.values()];
  }

  /** The API object handed to a plugin's register(). */
  pluginApi(origin: string): PluginApi {
    return {
      registerBackend: (b) => this.addBackend(b, origin),
      registerPass: (p) => this.addPass(p, origin),
      registerOp: (d) => this.addOp(d, origin),
    };
  }
}
