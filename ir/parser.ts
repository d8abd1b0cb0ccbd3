/** Parser for the textual IR written by printer.ts. Errors are TSCC2001 diagnostics with file:line:col. */
import { fmt, TsccError } from "./diagnostics/diagnostic.js";
import { M } from "./diagnostics/messages.js";
import { UNKNOWN_LOC, type Loc } from "./location.js";
import { Module, Op, type AttrValue, type Attrs, type BlobRef, type Value } from "./module.js";
import { withDefaults, type OpRegistry } from "./opdef.js";
import { builtinOps } from "./ops/index.js";
import { allocData, BATCH, DTYPES, formatType, MAX_TENSOR_ELEMENTS, numel, type DType, type TensorData, type TensorType, type Type } from "./types.js";

export interface ParseOptions {
  /** Shown in diagnostics and recorded in file locations. */
  file?: string;
  registry?: OpRegistry;
  /** Resolves `blob(...)` references; called lazily on first access of the constant's data. */
  loadBlob?: (ref: BlobRef, type: TensorType) => TensorData;
}

class Parser {
  pos = 0;
  constructor(
    readonly src: string,
    readonly opts: ParseOptions,
  ) {}

  lineCol(pos = this.pos): { line: number; col: number } {
    let line = 1;
    let last = -1;
    for (let i = 0; i < pos && i < this.src.length; i++) {
      if (this.src.charCodeAt(i) === 10) {
        line++;
        last = i;
      }
    }
    return { line, col: pos - last };
  }

  fileLoc(pos = this.pos): Loc {
    const { line, col } = this.lineCol(pos);
    return { kind: "file", file: this.opts.file ?? "<input>", line, col };
  }

  error(msg: string, pos = this.pos): never {
    throw new TsccError(fmt(M.ParseError, [msg], { loc: this.fileLoc(pos) }));
  }

  ws(): void {
    for (;;) {
      const c = this.src[this.pos];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") this.pos++;
      else if (c === "/" && this.src[this.pos + 1] === "/") {
        while (this.pos < this.src.length && this.src[this.pos] !== "\n") this.pos++;
      } else return;
    }
  }

  peek(s: string): boolean {
    this.ws();
    return this.src.startsWith(s, this.pos);
  }

  accept(s: string): boolean {
    if (this.peek(s)) {
      this.pos += s.length;
      return true;
    }
    return false;
  }

  expect(s: string, what = `'${s}'`): void {
    if (!this.accept(s)) this.error(`expected ${what}, found ${this.describeHere()}`);
  }

  describeHere(): string {
    this.ws();
    if (this.pos >= this.src.length) return "end of input";
    const m = /^\S{1,20}/.exec(this.src.slice(this.pos));
    return `'${m ? m[0] : this.src[this.pos]}'`;
  }

  ident(what = "an identifier"): string {
    this.ws();
    const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(this.src.slice(this.pos, this.pos + 256));
    if (!m) this.error(`expected ${what}, found ${this.describeHere()}`);
    this.pos += m[0].length;
    return m[0];
  }

  string(): string {
    this.ws();
    if (this.src[this.pos] !== '"') this.error(`expected a string, found ${this.describeHere()}`);
    let i = this.pos + 1;
    while (i < this.src.length && this.src[i] !== '"') i += this.src[i] === "\\" ? 2 : 1;
    const raw = this.src.slice(this.pos, i + 1);
    try {
      const s = JSON.parse(raw) as string;
      this.pos = i + 1;
      return s;
    } catch {
      return this.error("malformed string");
    }
  }

  /** A number token as text (so ints and floats can be told apart), including inf/nan. */
  numberText(): string {
    this.ws();
    const m = /^-?(?:inf|nan|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)/.exec(this.src.slice(this.pos, this.pos + 64));
    if (!m) this.error(`expected a number, found ${this.describeHere()}`);
    this.pos += m[0].length;
    return m[0];
  }

  number(): number {
    return textToNumber(this.numberText());
  }

  integer(): number {
    const start = this.pos;
    const t = this.numberText();
    if (!/^-?\d+$/.test(t)) this.error(`expected an integer, found '${t}'`, start);
    return Number(t);
  }

  symbol(): string {
    this.expect("@", "a symbol '@name'");
    if (this.src[this.pos] === '"') return this.string();
    const m = /^[A-Za-z_][A-Za-z0-9_.$-]*/.exec(this.src.slice(this.pos, this.pos + 1024));
    if (!m) this.error("expected a symbol name after '@'");
    this.pos += m[0].length;
    return m[0];
  }

  valueName(): string {
    this.ws();
    const m = /^%[A-Za-z0-9_]+/.exec(this.src.slice(this.pos, this.pos + 64));
    if (!m) this.error(`expected a value '%n', found ${this.describeHere()}`);
    this.pos += m[0].length;
    return m[0];
  }

  attrValue(): AttrValue {
    this.ws();
    const c = this.src[this.pos];
    if (c === '"') return this.string();
    if (c === "[") {
      this.pos++;
      const items: (number | string)[] = [];
      if (!this.accept("]")) {
        do {
          const v = this.attrValue();
          if (typeof v !== "number" && typeof v !== "string") this.error("lists hold numbers or strings only");
          items.push(v);
        } while (this.accept(","));
        this.expect("]");
      }
      if (items.some((x) => typeof x !== typeof items[0])) this.error("a list mixes numbers and strings");
      return items as number[] | string[];
    }
    if (this.src.startsWith("true", this.pos)) {
      this.pos += 4;
      return true;
    }
    if (this.src.startsWith("false", this.pos)) {
      this.pos += 5;
      return false;
    }
    return this.number();
  }

  attrDict(): Attrs {
    const attrs: Attrs = {};
    this.expect("{");
    if (this.accept("}")) return attrs;
    do {
      this.ws();
      const key = this.src[this.pos] === '"' ? this.string() : this.ident("an attribute name");
      if (key in attrs) this.error(`attribute '${key}' given twice`);
      this.expect("=");
      attrs[key] = this.attrValue();
    } while (this.accept(","));
    this.expect("}");
    return attrs;
  }

  type(): Type {
    this.ws();
    const start = this.pos;
    const kind = this.ident("a type");
    if (kind !== "tensor" && kind !== "spikes") this.error(`unknown type '${kind}'`, start);
    if (this.src[this.pos] !== "<") this.error("expected '<' after the type name");
    const close = this.src.indexOf(">", this.pos);
    if (close < 0) this.error("unterminated type");
    const body = this.src.slice(this.pos + 1, close);
    this.pos = close + 1;
    const dims = (text: string): number[] => {
      if (text === "") return [];
      return text.split("x").map((d, i) => {
        if (d === "?") {
          if (i !== 0) this.error("only the leading dimension may be '?'", start);
          return BATCH;
        }
        if (!/^\d+$/.test(d)) this.error(`bad dimension '${d}' in ${kind}<${body}>`, start);
        return Number(d);
      });
    };
    if (kind === "tensor") {
      const parts = body.split("x");
      const dtype = parts.pop()!;
      if (!DTYPES.includes(dtype as DType)) this.error(`unknown element type '${dtype}'`, start);
      return { kind: "tensor", shape: dims(parts.join("x")), dtype: dtype as DType };
    }
    const m = /^([?0-9x]*),\s*(\d+),\s*(tsc|rate)$/.exec(body);
    if (!m) this.error(`malformed spikes type 'spikes<${body}>' (expected spikes<shape, window, tsc|rate>)`, start);
    return { kind: "spikes", shape: dims(m[1]!), window: Number(m[2]), coding: m[3] as "tsc" | "rate" };
  }

  locBody(): Loc {
    this.ws();
    if (this.src[this.pos] === '"') {
      const file = this.string();
      this.expect(":");
      const line = this.integer();
      this.expect(":");
      const col = this.integer();
      return { kind: "file", file, line, col };
    }
    const word = this.ident("a location");
    if (word === "unknown") return UNKNOWN_LOC;
    if (word === "onnx.node") {
      const node = this.string();
      this.expect("#");
      const index = this.integer();
      const opType = this.ident("an ONNX op type");
      return { kind: "onnx", node, index, opType };
    }
    if (word === "nir.node") {
      const node = this.string();
      const nodeType = this.ident("a NIR node type");
      return { kind: "nir", node, nodeType };
    }
    if (word === "fused") {
      this.expect("[");
      const locs: Loc[] = [];
      do locs.push(this.locBody());
      while (this.accept(","));
      this.expect("]");
      return { kind: "fused", locs };
    }
    return this.error(`unknown location kind '${word}'`);
  }

  optLoc(): Loc | undefined {
    if (!this.peek("loc(")) return undefined;
    this.pos += 4;
    const l = this.locBody();
    this.expect(")");
    return l;
  }

  denseData(type: TensorType, start: number): TensorData {
    this.expect("<");
    this.expect("[");
    const n = numel(type.shape);
    // Every element takes at least two characters ("0,"): a type declaring more than the rest of the
    // text can hold fails before anything is allocated.
    if (n > MAX_TENSOR_ELEMENTS || n > (this.src.length - this.pos + 1) / 2) this.error(`dense<...> cannot hold the ${n} elements of ${formatType(type)}`, start);
    const data = allocData(type.dtype, n);
    let i = 0;
    if (!this.accept("]")) {
      do {
        const t = this.numberText();
        if (i >= n) this.error(`dense<...> holds more than the ${n} elements of the type`, start);
        if (data instanceof BigInt64Array) {
          if (!/^-?\d+$/.test(t)) this.error(`'${t}' is not an integer`);
          data[i] = BigInt(t);
        } else data[i] = textToNumber(t);
        i++;
      } while (this.accept(","));
      this.expect("]");
    }
    this.expect(">");
    if (i !== n) this.error(`dense<...> holds ${i} elements, the type needs ${n}`, start);
    return data;
  }

  parseModule(): Module {
    const registry = this.opts.registry ?? builtinOps();
    const ids = new Map<string, Value>();
    this.ws();
    if (!this.src.startsWith("module", this.pos)) this.error(`expected 'module', found ${this.describeHere()}`);
    this.pos += 6;
    const name = this.symbol();
    const attrs = this.peek("{") && !this.isBodyStart() ? this.attrDict() : {};
    const m = new Module(name, attrs);
    this.expect("{");
    for (;;) {
      this.ws();
      if (this.accept("}")) break;
      if (this.pos >= this.src.length) this.error("unexpected end of input: missing '}'");
      const start = this.pos;
      if (this.src.startsWith("const", this.pos) && /\s/.test(this.src[this.pos + 5] ?? "")) {
        this.pos += 5;
        const cname = this.symbol();
        if (m.consts.has(cname)) this.error(`constant @${cname} defined twice`, start);
        this.expect(":");
        const ty = this.type();
        if (ty.kind !== "tensor") this.error("constants must have tensor type", start);
        if (ty.shape.includes(BATCH)) this.error("constants cannot have a batch dimension", start);
        this.expect("=");
        const kw = this.ident("dense<...> or blob(...)");
        if (kw === "dense") m.addConst(cname, ty, this.denseData(ty, start));
        else if (kw === "blob") {
          this.expect("(");
          const bname = this.string();
          this.expect(",");
          if (this.ident() !== "sha256") this.error("expected sha256 = \"...\"");
          this.expect("=");
          const sha256 = this.string();
          this.expect(")");
          const ref = { name: bname, sha256 };
          const load = this.opts.loadBlob;
          const file = this.opts.file ?? "<input>";
          m.addConst(cname, ty, {
            blob: ref,
            load: () => {
              if (!load) throw new TsccError(fmt(M.WeightsError, [`${file}: constant @${cname} refers to blob '${bname}' but no weights file is available`]));
              return load(ref, ty);
            },
          });
        } else this.error(`expected dense<...> or blob(...), found '${kw}'`, start);
        continue;
      }
      if (this.src.startsWith("input", this.pos) && /\s/.test(this.src[this.pos + 5] ?? "")) {
        this.pos += 5;
        const id = this.valueName();
        if (ids.has(id)) this.error(`value ${id} defined twice`, start);
        this.expect(":");
        const ty = this.type();
        const a = this.attrDict();
        if (typeof a["name"] !== "string") this.error("input needs {name = \"...\"}", start);
        const v = m.addInput(a["name"], ty, this.optLoc());
        ids.set(id, v);
        continue;
      }
      if (this.src.startsWith("output", this.pos) && /\s/.test(this.src[this.pos + 6] ?? "")) {
        this.pos += 6;
        const v = this.operand(m, ids);
        const a = this.attrDict();
        if (typeof a["name"] !== "string") this.error("output needs {name = \"...\"}", start);
        m.outputs.push({ name: a["name"], value: v });
        continue;
      }
      // %a, %b = dialect.op operands {attrs} : types loc(...)
      const resultIds: string[] = [];
      do resultIds.push(this.valueName());
      while (this.accept(","));
      this.expect("=");
      const opStart = this.pos;
      const opName = this.ident("an op name");
      const def = registry.get(opName);
      if (!def) throw new TsccError(fmt(M.UnknownOp, [opName], { loc: this.fileLoc(opStart) }));
      const operands: Value[] = [];
      if (!this.peek("{") && !this.peek(":")) {
        do operands.push(this.operand(m, ids));
        while (this.accept(","));
      }
      const opAttrs = this.peek("{") ? this.attrDict() : {};
      this.expect(":");
      const types: Type[] = [];
      do types.push(this.type());
      while (this.accept(","));
      if (types.length !== resultIds.length) this.error(`${resultIds.length} results but ${types.length} types`, start);
      const loc = this.optLoc() ?? UNKNOWN_LOC;
      const op = new Op(def, operands, types, withDefaults(def, opAttrs), loc);
      resultIds.forEach((id, i) => {
        if (ids.has(id)) this.error(`value ${id} defined twice`, start);
        ids.set(id, op.results[i]!);
      });
      m.ops.push(op);
      this.opPositions.set(op, this.fileLoc(start));
    }
    this.ws();
    if (this.pos < this.src.length) this.error(`unexpected text after the module: ${this.describeHere()}`);
    return m;
  }

  readonly opPositions = new Map<Op, Loc>();

  /** `{` that opens the body rather than an attribute dictionary: the body starts with a keyword or `}`. */
  isBodyStart(): boolean {
    const rest = this.src.slice(this.pos + 1).trimStart();
    return /^(const\s|input\s|output\s|%|}|\/\/)/.test(rest);
  }

  operand(m: Module, ids: Map<string, Value>): Value {
    this.ws();
    const start = this.pos;
    if (this.src[this.pos] === "@") {
      const name = this.symbol();
      const c = m.consts.get(name);
      if (!c) this.error(`unknown constant @${name}`, start);
      return c.value;
    }
    const id = this.valueName();
    const v = ids.get(id);
    if (!v) this.error(`value ${id} is used before it is defined`, start);
    return v;
  }
}

function textToNumber(t: string): number {
  if (t === "inf") return Infinity;
  if (t === "-inf") return -Infinity;
  if (t === "nan" || t === "-nan") return NaN;
  return Number(t);
}

export interface ParseResult {
  module: Module;
  /** Text position of each op, for diagnostics about parsed files. */
  positions: Map<Op, Loc>;
}

export function parseModuleWithPositions(text: string, opts: ParseOptions = {}): ParseResult {
  const p = new Parser(text, opts);
  const module = p.parseModule();
  return { module, positions: p.opPositions };
}

export function parseModule(text: string, opts: ParseOptions = {}): Module {
  return parseModuleWithPositions(text, opts).module;
}
