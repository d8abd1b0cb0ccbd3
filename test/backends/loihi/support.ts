/** Shared helpers of the loihi backend tests: compiles of the Fashion-MNIST examples, cached per process. */
import { join } from "node:path";
import { compile, type CompileResult } from "../../../src/driver/compile.js";
import { ROOT } from "../../cli/support.js";

export const CNN_SMALL = join(ROOT, "examples/fashion-mnist/cnn-small.onnx");
export const VGG_BN = join(ROOT, "examples/fashion-mnist/vgg-bn.onnx");
export const TEST_IMAGES = join(ROOT, "examples/fashion-mnist/test-images.npy");
export const TEST_LABELS = join(ROOT, "examples/fashion-mnist/test-labels.npy");

/** Calibration limited to a few images: the tests check the mapping, not the last point of accuracy. */
export const FAST_OPTIONS: Record<string, string> = { calibration: "example:fashion-mnist", "calibration-limit": "64" };

const cache = new Map<string, Promise<CompileResult>>();

export function compileLoihi(model: string, outDir: string | undefined, options: Record<string, string> = {}): Promise<CompileResult> {
  const key = `${model}|${outDir ?? ""}|${JSON.stringify(options)}`;
  let r = cache.get(key);
  if (!r) cache.set(key, (r = compile({ model, target: "loihi", outDir, backendOptions: { ...FAST_OPTIONS, ...options }, cwd: ROOT })));
  return r;
}
