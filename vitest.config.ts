import { defineConfig } from "vitest/config";
import { consoleAssetsVite } from "./infra/console-plugin.mjs";

export default defineConfig({
  // serve.ts imports the console's assets as `?bundle` strings, built as the admin function's bundle has them.
  plugins: [consoleAssetsVite()],
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Emulator-backed suites each boot their own stack on free ports; two at once fit a 2-core machine.
    maxWorkers: 2,
  },
});
