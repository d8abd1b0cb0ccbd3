/**
 * Mutators shared by the fuzz targets, as fast-check arbitraries (so failing cases shrink to a few
 * small edits): byte-level mutation of real files, structure-aware mutation of JSON documents and
 * token-level mutation of text.
 */
import fc from "fast-check";

/** Numbers that break size arithmetic: zero, negatives, 2^31 / 2^32 / 2^53 edges, 10^12, huge floats. */
export const HOSTILE_NUMBERS: readonly number[] = [0, 1, -1, -7, 255, 65535, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 32 + 1, 2 ** 53, 1e12, 1e308, -1e12, 0.5];

export const hostileNumber = (): fc.Arbitrary<number> => fc.oneof(fc.constantFrom(...HOSTILE_NUMBERS), fc.integer({ min: -4, max: 64 }));

/** Strings that probe paths, quoting and code generation. */
export const HOSTILE_STRINGS: readonly string[] = [
  "",
  "../outside.bin",
  "/etc/passwd",
  "a/../../outside.bin",
  "..",
  "x\ny",
  "*/ globalThis.__tsccPwned = 1; /*",
  '"); globalThis.__tsccPwned = 1; ("',
  "${globalThis.__tsccPwned = 1}",
  "\u2028\u2029",
  "<script>alert(1)</script>",
  "a|b`c",
  "\u0000",
  "%0",
  "@x",
];

export const hostileString = (): fc.Arbitrary<string> => fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 12 }));

// ---------------------------------------------------------------------------------------------------
// Bytes

type ByteOp =
  | { op: "flip"; at: number; bit: number }
  | { op: "set"; at: number; value: number }
  | { op: "word"; at: number; value: number; width: 2 | 4 | 8 }
  | { op: "truncate"; at: number }
  | { op: "delete"; at: number; len: number }
  | { op: "duplicate"; at: number; len: number }
  | { op: "insert"; at: number; bytes: Uint8Array }
  | { op: "splice"; at: number; other: number; from: number };

const at = fc.nat({ max: 0x7fffffff });

const byteOp: fc.Arbitrary<ByteOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("flip" as const), at, bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("set" as const), at, value: fc.oneof(fc.constantFrom(0, 1, 0x7f, 0x80, 0xff), fc.integer({ min: 0, max: 255 })) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("word" as const),
      at,
      value: fc.constantFrom(0, 0xffffffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0x10000, 0x100),
      width: fc.constantFrom(2 as const, 4 as const, 8 as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("truncate" as const), at }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), at, len: fc.integer({ min: 1, max: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("duplicate" as const), at, len: fc.integer({ min: 1, max: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("insert" as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("splice" as const), at, other: fc.nat(), from: at }) },
);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function applyByteOp(b: Uint8Array, o: ByteOp, corpus: readonly Uint8Array[]): Uint8Array {
  const n = b.length;
  if (n === 0 && o.op !== "insert") return b;
  const i = o.at % Math.max(1, n);
  switch (o.op) {
    case "flip": {
      const c = Uint8Array.from(b);
      c[i] = c[i]! ^ (1 << o.bit);
      return c;
    }
    case "set": {
      const c = Uint8Array.from(b);
      c[i] = o.value;
      return c;
    }
    case "word": {
      const c = Uint8Array.from(b);
      for (let k = 0; k < o.width && i + k < n; k++) c[i + k] = k < 4 ? (o.value >>> (8 * k)) & 0xff : 0xff * (o.value >>> 31);
      return c;
    }
    case "truncate":
      return b.slice(0, i);
    case "delete":
      return concat(b.subarray(0, i), b.subarray(Math.min(n, i + o.len)));
    case "duplicate":
      return concat(b.subarray(0, i + Math.min(o.len, n - i)), b.subarray(i));
    case "insert":
      return concat(b.subarray(0, i), o.bytes, b.subarray(i));
    case "splice": {
      const other = corpus[o.other % corpus.length]!;
      return concat(b.subarray(0, i), other.subarray(o.from % Math.max(1, other.length)));
    }
  }
}

/** A file from `corpus` after 1–6 byte edits (bit flips, hostile words, truncation, deletion, splicing). */
export function mutatedBytes(corpus: readonly Uint8Array[], maxOps = 6): fc.Arbitrary<Uint8Array> {
  return fc
    .record({ pick: fc.nat(), ops: fc.array(byteOp, { minLength: 1, maxLength: maxOps }) })
    .map(({ pick, ops }) => ops.reduce((b, o) => applyByteOp(b, o, corpus), corpus[pick % corpus.length]!));
}

// ---------------------------------------------------------------------------------------------------
// JSON

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

type JsonOp =
  | { op: "replace"; at: number; value: Json }
  | { op: "delete"; at: number }
  | { op: "duplicate"; at: number }
  | { op: "number"; at: number; value: number }
  | { op: "addKey"; at: number; key: string; value: Json };

const hostileJson: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, -1, 1e12, 2 ** 53, 1e308, -1e308, "", "x", [], {}, [0], [-1], [1e12], { a: 1 }),
  hostileNumber(),
  hostileString(),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
);

const jsonOp: fc.Arbitrary<JsonOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("replace" as const), at, value: hostileJson }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), at }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("duplicate" as const), at }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("number" as const), at, value: hostileNumber() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("addKey" as const), at, key: fc.constantFrom("__proto__", "constructor", "extra", "kind", "w", "in"), value: hostileJson }) },
);

/** Every container and leaf of a document with its parent, in document order. */
function jsonSlots(doc: Json): { parent: Json[] | { [k: string]: Json } | undefined; key: string | number; value: Json }[] {
  const out: { parent: Json[] | { [k: string]: Json } | undefined; key: string | number; value: Json }[] = [];
  const walk = (v: Json, parent: Json[] | { [k: string]: Json } | undefined, key: string | number): void => {
    out.push({ parent, key, value: v });
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, v, i));
    else if (v && typeof v === "object") for (const k of Object.keys(v)) walk(v[k]!, v, k);
  };
  walk(doc, undefined, "");
  return out;
}

function applyJsonOp(doc: Json, o: JsonOp): Json {
  const slots = jsonSlots(doc);
  const s = slots[o.at % slots.length]!;
  const set = (v: Json): Json => {
    if (!s.parent) return v;
    if (Array.isArray(s.parent)) s.parent[s.key as number] = v;
    else Object.defineProperty(s.parent, s.key as string, { value: v, enumerable: true, writable: true, configurable: true });
    return doc;
  };
  switch (o.op) {
    case "replace":
      return set(structuredClone(o.value));
    case "number": {
      // Prefer numbers: find the next numeric slot from here.
      const k = slots.findIndex((x, i) => i >= o.at % slots.length && typeof x.value === "number");
      if (k < 0) return doc;
      const t = slots[k]!;
      if (!t.parent) return o.value;
      if (Array.isArray(t.parent)) t.parent[t.key as number] = o.value;
      else t.parent[t.key as string] = o.value;
      return doc;
    }
    case "delete":
      if (!s.parent) return doc;
      if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
      else delete s.parent[s.key as string];
      return doc;
    case "duplicate":
      if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 0, structuredClone(s.value));
      return doc;
    case "addKey":
      if (s.value && typeof s.value === "object" && !Array.isArray(s.value)) {
        Object.defineProperty(s.value, o.key, { value: structuredClone(o.value), enumerable: true, writable: true, configurable: true });
      }
      return doc;
  }
}

/** A JSON document after 1–4 structural edits (values of the wrong type, hostile numbers, deleted keys). */
export function mutatedJson(docs: readonly unknown[], maxOps = 4): fc.Arbitrary<string> {
  return fc
    .record({ pick: fc.nat(), ops: fc.array(jsonOp, { minLength: 1, maxLength: maxOps }), indent: fc.boolean() })
    .map(({ pick, ops, indent }) => {
      const doc = ops.reduce<Json>((d, o) => applyJsonOp(d, o), structuredClone(docs[pick % docs.length]) as Json);
      return JSON.stringify(doc, null, indent ? 1 : undefined) ?? "null";
    });
}

// ---------------------------------------------------------------------------------------------------
// Text

const TOKEN = /"(?:[^"\\\n]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[A-Za-z_][A-Za-z0-9_.]*|%[A-Za-z0-9_]+|@[A-Za-z0-9_.$-]+|\s+|./gs;

type TextOp =
  | { op: "delete"; at: number }
  | { op: "duplicate"; at: number }
  | { op: "swap"; at: number; with: number }
  | { op: "number"; at: number; value: string }
  | { op: "insert"; at: number; text: string }
  | { op: "truncate"; at: number };

const textOp: fc.Arbitrary<TextOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant("delete" as const), at }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("duplicate" as const), at }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("swap" as const), at, with: at }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("number" as const),
      at,
      value: fc.constantFrom("0", "-1", "4294967296", "2147483648", "1000000000000", "1e309", "nan", "-inf", "0.5", "99999999999999999999", "1e-400"),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("insert" as const),
      at,
      text: fc.oneof(fc.constantFrom("{", "}", "(", ")", "<", ">", "[", "]", ",", ":", "=", '"', "x", "?", "\n", "//", "%0", "@w", "\u0000"), hostileString().map((s) => JSON.stringify(s))),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("truncate" as const), at }) },
);

function applyTextOp(tokens: string[], o: TextOp): string[] {
  if (tokens.length === 0) return tokens;
  const i = o.at % tokens.length;
  const t = [...tokens];
  switch (o.op) {
    case "delete":
      t.splice(i, 1);
      return t;
    case "duplicate":
      t.splice(i, 0, t[i]!);
      return t;
    case "swap": {
      const j = o.with % t.length;
      [t[i], t[j]] = [t[j]!, t[i]!];
      return t;
    }
    case "number": {
      const k = t.findIndex((x, idx) => idx >= i && /^-?\d/.test(x));
      if (k >= 0) t[k] = o.value;
      return t;
    }
    case "insert":
      t.splice(i, 0, o.text);
      return t;
    case "truncate":
      return t.slice(0, i);
  }
}

/** A text after 1–5 token-level edits (deleted, duplicated or swapped tokens, hostile numbers, stray punctuation). */
export function mutatedText(texts: readonly string[], maxOps = 5): fc.Arbitrary<string> {
  return fc
    .record({ pick: fc.nat(), ops: fc.array(textOp, { minLength: 1, maxLength: maxOps }) })
    .map(({ pick, ops }) => ops.reduce<string[]>((toks, o) => applyTextOp(toks, o), [...(texts[pick % texts.length]!.match(TOKEN) ?? [])]).join(""));
}
