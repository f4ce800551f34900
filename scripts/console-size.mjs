#!/usr/bin/env node
// The console's assets as the admin function serves them, raw and gzipped: serve.ts is bundled with
// the console plugin exactly as the admin function is, then asked for each file.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { consoleAssets } from "../infra/console-plugin.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const work = mkdtempSync(join(tmpdir(), "console-size-"));
const outfile = join(work, "serve.mjs");
const result = await build({
  entryPoints: [join(root, "functions", "console", "serve.ts")],
  bundle: true,
  platform: "node",
  format: "esm",
  write: false,
  plugins: [consoleAssets()],
  logLevel: "silent",
});
writeFileSync(outfile, result.outputFiles[0].text);
const { serveConsole } = await import(pathToFileURL(outfile).href);
rmSync(work, { recursive: true, force: true });

const get = (path) =>
  String(serveConsole({ rawPath: path, requestContext: { http: { method: "GET" } } }).body);
console.log("asset             raw B   gzip B");
for (const path of ["/admin/app.js", "/admin/app.css", "/admin"]) {
  const body = Buffer.from(get(path), "utf8");
  const gzip = gzipSync(body).length;
  console.log(`${path.padEnd(15)} ${String(body.length).padStart(7)} ${String(gzip).padStart(8)}`);
}
