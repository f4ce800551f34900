import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Emulator-backed suites each boot their own stack on free ports; two at once fit a 2-core machine.
    maxWorkers: 2,
  },
});
