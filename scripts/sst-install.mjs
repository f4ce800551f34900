#!/usr/bin/env node
// Installs SST's platform (.sst/platform: component sources, config.d.ts, @pulumi/aws) offline, the
// way LOCAL_STACK.md describes: the `sst` binary must not try to download Pulumi, bun or telemetry.
// Skips when the platform is already there, unless --force. Needed by `npm run typecheck` (infra types)
// and test/infra (the real components under Pulumi mocks); `npm test` runs it first (pretest).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const ready = ["src/components/index.ts", "config.d.ts", "node_modules/@pulumi/aws/package.json"].every((f) =>
  existsSync(join(root, ".sst", "platform", f)),
);
if (ready && !process.argv.includes("--force")) process.exit(0);

const started = Date.now();
console.log("installing the SST platform into .sst/platform (offline, about a minute)…");
const result = spawnSync(join(root, "node_modules", ".bin", "sst"), ["install", "--stage", "ci"], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, SST_SKIP_DEPENDENCY_CHECK: "1", SST_TELEMETRY_DISABLED: "1", NO_BUN: "1" },
});
if (result.status !== 0) {
  console.error(`sst install failed (${result.error?.message ?? `exit ${result.status}`})`);
  process.exit(result.status ?? 1);
}
console.log(`SST platform installed in ${Math.round((Date.now() - started) / 1000)} s`);
