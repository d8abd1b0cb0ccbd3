import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores on CI: keep the worker count small so heavy tests do not starve each other.
    maxWorkers: 2,
  },
});
