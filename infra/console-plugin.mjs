/**
 * The console's assets as strings inside the admin function's bundle. `import appJs from
 * "./src/main.ts?bundle"` gives the browser script bundled and minified; a `.css?bundle` import the
 * minified stylesheet; an `.html?bundle` import the page as written. One plugin for every bundler
 * that builds the admin function: the local runner (infra/local/bundle.ts), SST (`nodejs.plugins`,
 * which loads this file by path in plain Node, hence .mjs), the infra graph's build stub, and vitest
 * (through the Vite plugin below, which shares the same build).
 */
import { readFile } from "node:fs/promises";
import { dirname, extname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const SUFFIX = "?bundle";
const NAMESPACE = "console-asset";
// Vite picks plugins by the id's ending: a virtual id ending in .css would go to its CSS pipeline.
const VIRTUAL_PREFIX = `\0${NAMESPACE}:`;
const VIRTUAL_SUFFIX = ".js";
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Browsers an operator's desk may run; nothing older needs to be served. */
export const BROWSER_TARGET = ["chrome109", "edge109", "firefox115", "safari16"];

/**
 * Builds one asset: its text and every file it was made from (for watch mode). UTF-8 output: the
 * assets are served as UTF-8, and escaping every Chinese character as `\uXXXX` would double the
 * catalog's bytes.
 */
export async function bundleConsoleAsset(file) {
  const ext = extname(file);
  if (ext === ".html") return { text: await readFile(file, "utf8"), files: [file] };
  if (ext !== ".ts" && ext !== ".css") throw new Error(`console asset ${file}: expected .ts, .css or .html`);
  const result = await build({
    entryPoints: [file],
    absWorkingDir: root,
    bundle: true,
    minify: true,
    write: false,
    metafile: true,
    charset: "utf8",
    legalComments: "none",
    target: BROWSER_TARGET,
    logLevel: "silent",
    ...(ext === ".ts" ? { platform: "browser", format: "iife" } : { loader: { ".css": "css" } }),
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error(`console asset ${file}: esbuild wrote nothing`);
  const files = Object.keys(result.metafile.inputs).map((input) => resolve(root, input));
  return { text: output.text, files };
}

/** The asset an import names, or undefined when the import is not a `?bundle` one. */
export function assetPath(specifier, fromDir) {
  return specifier.endsWith(SUFFIX) ? resolve(fromDir, specifier.slice(0, -SUFFIX.length)) : undefined;
}

const asModule = (text) => `export default ${JSON.stringify(text)};`;

/** The esbuild plugin. */
export function consoleAssets() {
  return {
    name: "console-assets",
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /\?bundle$/ }, (args) => ({
        path: assetPath(args.path, args.resolveDir),
        namespace: NAMESPACE,
      }));
      pluginBuild.onLoad({ filter: /.*/, namespace: NAMESPACE }, async (args) => {
        const { text, files } = await bundleConsoleAsset(args.path);
        return { contents: asModule(text), loader: "js", watchFiles: files };
      });
    },
  };
}

/** The same imports under Vite (vitest loads serve.ts through it). */
export function consoleAssetsVite() {
  return {
    name: "console-assets",
    enforce: "pre",
    resolveId(source, importer) {
      if (!importer) return null;
      const path = assetPath(source, dirname(importer.split("?")[0] ?? importer));
      return path === undefined ? null : `${VIRTUAL_PREFIX}${path}${VIRTUAL_SUFFIX}`;
    },
    async load(id) {
      if (!id.startsWith(VIRTUAL_PREFIX)) return null;
      const { text, files } = await bundleConsoleAsset(
        id.slice(VIRTUAL_PREFIX.length, -VIRTUAL_SUFFIX.length),
      );
      for (const file of files) this.addWatchFile(file);
      return asModule(text);
    },
  };
}

/** What SST's `nodejs.plugins` expects: the file's default export is the list of plugins. */
export default [consoleAssets()];
