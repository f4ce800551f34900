import { existsSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { consoleAssets } from "../console-plugin.mjs";

// Bundled ESM still meets CommonJS dependencies that call require() (the AWS SDK among them).
const REQUIRE_SHIM =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/**
 * Bundles a TypeScript entry into one ES module, as SST bundles a handler for Lambda: containers then
 * start in a fraction of the time a TypeScript loader needs, and what runs is what would be deployed.
 * A missing entry is left alone, so the container reports Runtime.ImportModuleError like Lambda.
 */
export async function bundleEntry(entry: string, outDir: string, name: string): Promise<string> {
  if (!existsSync(entry)) return entry;
  const outfile = join(outDir, `${name}.mjs`);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    sourcemap: true,
    banner: { js: REQUIRE_SHIM },
    // The admin function's console assets, as SST builds them (infra/functions.ts: nodejs.plugins).
    plugins: [consoleAssets()],
    logLevel: "silent",
  });
  return outfile;
}
