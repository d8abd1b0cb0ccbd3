import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Builds dist/ once if it is stale: the CLI tests spawn bin/tscc.js, which runs dist/.
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores on CI: keep the worker count small so heavy tests do not starve each other.
    maxWorkers: 2,
  },
});
