/**
 * Data files: `.npy` (generated headers: every dtype NumPy writes incl. big-endian, object, unicode,
 * complex; Fortran order; hostile shapes; lying header lengths; short or long data; versions 0–4; plus
 * byte edits of real files) read as `tscc run` inputs, labels and calibration sets; ONNX TensorProto
 * `.pb` inputs; and PNG/JPEG calibration folders (byte edits of real images, and images whose
 * declared width × height is hostile with the checksums kept valid).
 */
import { crc32 } from "node:zlib";
import fc from "fast-check";
import jpeg from "jpeg-js";
import onnxProto from "onnx-proto";
import { PNG } from "pngjs";
import { tinyFiles, tinyImages } from "../corpus.js";
import { hostileNumber, mutatedBytes } from "../mutate.js";
import { defineTarget, type FuzzCase } from "../target.js";

const { onnx } = onnxProto;

const CALIBRATE = (spec: string): string[] => ["compile", "tiny.onnx", "--target", "ir", "--passes", `canonicalize,normalize-thresholds{calibration=${spec}}`, "-o", "out"];

type Role = "input" | "labels" | "calibration";

function argvFor(role: Role, file: string): string[] {
  if (role === "input") return ["run", "tiny.onnx", "--input", file, "--labels", "y.npy"];
  if (role === "labels") return ["run", "tiny.onnx", "--input", "x.npy", "--labels", file];
  return CALIBRATE(file);
}

const role = fc.constantFrom<Role>("input", "labels", "calibration");

interface NpyHeader {
  version: number;
  descr: string;
  fortran: string;
  shape: (number | string)[];
  trailingComma: boolean;
  lenDelta: number;
  dataBytes: "exact" | "short" | "long" | "none";
  junk: string;
}

const npyHeader: fc.Arbitrary<NpyHeader> = fc.record({
  version: fc.constantFrom(1, 1, 1, 2, 3, 0, 4, 255),
  descr: fc.constantFrom("<f4", "<f8", "<i8", "<i4", "|u1", "|i1", "|b1", ">f4", ">f8", ">i8", "|O", "<c8", "<U4", "|S3", "<i2", "<u4", "<f2", "=f4", "<M8[s]", "", "f4"),
  fortran: fc.constantFrom("False", "False", "True", "0", "None"),
  shape: fc.array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom<number | string>(1, 2, 8, 0, 64) }, { weight: 2, arbitrary: hostileNumber() }, { weight: 1, arbitrary: fc.constantFrom<number | string>("x", "-0", "1.5", "1e3", "") }), { maxLength: 5 }),
  trailingComma: fc.boolean(),
  lenDelta: fc.constantFrom(0, 0, 0, -1, 1, -8, 64, 70000),
  dataBytes: fc.constantFrom("exact" as const, "exact" as const, "short" as const, "long" as const, "none" as const),
  junk: fc.constantFrom("", "", "'extra': 1, ", "'descr': '<f4', ", "'shape': (1,), "),
});

const DESCR_BYTES: Record<string, number> = { "<f4": 4, "<f8": 8, "<i8": 8, "<i4": 4, "|u1": 1, "|i1": 1, "|b1": 1, ">f4": 4, ">f8": 8, ">i8": 8, "|O": 8, "<c8": 8, "<U4": 16, "|S3": 3, "<i2": 2, "<u4": 4, "<f2": 2, "=f4": 4 };

function npyBytes(h: NpyHeader): Uint8Array {
  const dims = h.shape.map(String);
  const shapeText = dims.length === 1 && h.trailingComma ? `(${dims[0]},)` : `(${dims.join(", ")})`;
  let dict = `{'descr': '${h.descr}', 'fortran_order': ${h.fortran}, ${h.junk}'shape': ${shapeText}, }`;
  const pre = h.version >= 2 ? 12 : 10;
  dict += " ".repeat((64 - ((pre + dict.length + 1) % 64)) % 64) + "\n";
  const header = Buffer.from(dict, h.version === 3 ? "utf8" : "latin1");
  const n = h.shape.reduce<number>((a, d) => a * (typeof d === "number" ? d : Number(d) || 0), 1);
  const want = Number.isFinite(n) && n >= 0 ? n * (DESCR_BYTES[h.descr] ?? 4) : 0;
  const size = h.dataBytes === "none" ? 0 : Math.min(4096, h.dataBytes === "short" ? Math.floor(want / 2) : h.dataBytes === "long" ? want + 13 : want);
  const out = new Uint8Array(pre + header.length + size);
  out.set(Buffer.from("\x93NUMPY", "latin1"), 0);
  out[6] = h.version;
  out[7] = 0;
  const hl = Math.max(0, header.length + h.lenDelta);
  if (h.version >= 2) new DataView(out.buffer).setUint32(8, hl, true);
  else new DataView(out.buffer).setUint16(8, hl & 0xffff, true);
  out.set(header, pre);
  // Data: small pixel-like values (a float32 1.0 pattern when it fits).
  for (let i = 0; i < size; i++) out[pre + header.length + i] = i % 4 === 3 ? 0x3f : i % 4 === 2 ? 0x80 : 0;
  return out;
}

function tensorProtoCorpus(): Uint8Array {
  const x = tinyImages(2, 12);
  // The npy header of tinyImages is 128 bytes (10 + padded dict): the data follows.
  const data = x.subarray(128);
  return onnx.TensorProto.encode({ name: "x", dims: [2, 1, 8, 8], dataType: 1, rawData: data }).finish();
}

export const npyTarget = defineTarget({
  name: "npy",
  summary:
    "generated .npy headers (versions 0–4 and 255; 21 dtypes incl. big-endian, object, unicode, complex, float16, datetime; Fortran order; hostile shapes; lying header lengths; short, long or missing data; stray keys) and byte edits of real .npy files, each used as a run input, labels or a calibration set; ONNX TensorProto .pb inputs (byte edits and hostile dims/types)",
  weight: 3,
  async prepare() {
    const f = tinyFiles();
    return { npys: [f["x.npy"]!, f["y.npy"]!, f["calib.npy"]!], pb: tensorProtoCorpus() };
  },
  base: () => tinyFiles(),
  arbitrary: (p) =>
    fc.oneof(
      { weight: 4, arbitrary: fc.record({ h: npyHeader, role }).map(({ h, role: r }): FuzzCase => ({ files: { "case.npy": npyBytes(h) }, argv: argvFor(r, "case.npy"), note: `npy v${h.version} ${h.descr} fortran=${h.fortran} shape=(${h.shape.join(",")}) as ${r}` })) },
      { weight: 3, arbitrary: fc.record({ b: mutatedBytes(p.npys), role }).map(({ b, role: r }): FuzzCase => ({ files: { "case.npy": b }, argv: argvFor(r, "case.npy"), note: `byte-mutated .npy as ${r}` })) },
      { weight: 1, arbitrary: mutatedBytes([p.pb]).map((b): FuzzCase => ({ files: { "case.pb": b }, argv: argvFor("input", "case.pb"), note: "byte-mutated TensorProto input" })) },
      {
        weight: 1,
        arbitrary: fc.record({ dims: fc.array(hostileNumber(), { maxLength: 5 }), type: fc.integer({ min: 0, max: 17 }), raw: fc.boolean() }).map(({ dims, type, raw }): FuzzCase => {
          const t = onnx.TensorProto.decode(p.pb);
          t.dims = dims.map((d) => (Number.isSafeInteger(d) ? d : 2 ** 40));
          t.dataType = type;
          if (!raw) {
            t.rawData = new Uint8Array(0);
            t.floatData = [0.5, 0.25];
          }
          return { files: { "case.pb": onnx.TensorProto.encode(t).finish() }, argv: argvFor("input", "case.pb"), note: `TensorProto dims [${dims.join(",")}] type ${type}` };
        }),
      },
    ),
  valid: () => ({ files: { "case.npy": tinyImages(3, 5) }, argv: argvFor("input", "case.npy").slice(0, 4), note: "valid input" }),
});

// ---------------------------------------------------------------------------------------------------
// Images

function pngOf(width: number, height: number, colorType: 0 | 2 | 4 | 6, bitDepth: 8 | 16, seed: number): Uint8Array {
  const png = new PNG({ width, height, colorType, inputColorType: 6, bitDepth, inputHasAlpha: true });
  for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 37 + seed * 11) & 0xff;
  return new Uint8Array(PNG.sync.write(png, { colorType, inputColorType: 6, bitDepth, inputHasAlpha: true }));
}

function jpegOf(width: number, height: number, quality: number, seed: number): Uint8Array {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 29 + seed * 7) & 0xff;
  return new Uint8Array(jpeg.encode({ width, height, data }, quality).data);
}

/** The PNG with IHDR's width and height replaced and its CRC recomputed. */
function pngWithSize(png: Uint8Array, w: number, h: number): Uint8Array {
  const out = Uint8Array.from(png);
  const dv = new DataView(out.buffer);
  dv.setUint32(16, w >>> 0);
  dv.setUint32(20, h >>> 0);
  dv.setUint32(29, crc32(out.subarray(12, 29)) >>> 0);
  return out;
}

/** The JPEG with its SOF0 height and width replaced. */
function jpegWithSize(jpg: Uint8Array, w: number, h: number): Uint8Array {
  const out = Uint8Array.from(jpg);
  for (let i = 2; i + 8 < out.length; i++) {
    if (out[i] === 0xff && (out[i + 1] === 0xc0 || out[i + 1] === 0xc2)) {
      const dv = new DataView(out.buffer);
      dv.setUint16(i + 5, h & 0xffff);
      dv.setUint16(i + 7, w & 0xffff);
      break;
    }
  }
  return out;
}

export const imageTarget = defineTarget({
  name: "images",
  summary:
    "calibration folders of 1–3 PNG/JPEG images for an 8×8 model: byte edits of real images (PNG gray/RGB/gray-alpha/RGBA at 8 and 16 bits, JPEG at quality 30/90), and valid-checksum images declaring hostile sizes (0, 1, 2^16−1, 2^31−1, 2^32−1 wide or high); read by the calibration loader",
  weight: 2,
  async prepare() {
    const pngs = [pngOf(8, 8, 0, 8, 1), pngOf(8, 8, 2, 8, 2), pngOf(8, 8, 6, 8, 3), pngOf(8, 8, 4, 8, 4), pngOf(8, 8, 0, 16, 5), pngOf(8, 8, 2, 16, 6)];
    const jpgs = [jpegOf(8, 8, 90, 1), jpegOf(8, 8, 30, 2), jpegOf(16, 16, 90, 3)];
    return { pngs, jpgs };
  },
  base: () => tinyFiles(),
  arbitrary: (p) => {
    const size = fc.constantFrom(0, 1, 8, 9, 65535, 2 ** 31 - 1, 2 ** 32 - 1, 100000);
    const image = fc.oneof(
      { weight: 3, arbitrary: mutatedBytes(p.pngs).map((b) => ({ ext: "png", b, note: "byte-mutated PNG" })) },
      { weight: 3, arbitrary: mutatedBytes(p.jpgs).map((b) => ({ ext: "jpg", b, note: "byte-mutated JPEG" })) },
      { weight: 1, arbitrary: fc.record({ k: fc.nat(), w: size, h: size }).map(({ k, w, h }) => ({ ext: "png", b: pngWithSize(p.pngs[k % p.pngs.length]!, w, h), note: `PNG declaring ${w}×${h}` })) },
      { weight: 1, arbitrary: fc.record({ k: fc.nat(), w: size, h: size }).map(({ k, w, h }) => ({ ext: "jpg", b: jpegWithSize(p.jpgs[k % p.jpgs.length]!, w, h), note: `JPEG declaring ${w & 0xffff}×${h & 0xffff}` })) },
    );
    return fc.record({ img: image, others: fc.nat({ max: 2 }) }).map(({ img, others }): FuzzCase => {
      const files: Record<string, Uint8Array> = { [`calib/a.${img.ext}`]: img.b };
      if (others >= 1) files["calib/b.png"] = p.pngs[0]!;
      if (others >= 2) files["calib/c.jpg"] = p.jpgs[0]!;
      return { files, argv: CALIBRATE("calib"), note: img.note };
    });
  },
  valid: (p) => ({ files: { "calib/a.png": p.pngs[0]!, "calib/b.jpg": p.jpgs[0]! }, argv: CALIBRATE("calib"), note: "valid images" }),
});
