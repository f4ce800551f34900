import type { Plugin } from "esbuild";
import type { Plugin as VitePlugin } from "vite";

export declare const BROWSER_TARGET: string[];
export declare function bundleConsoleAsset(file: string): Promise<{ text: string; files: string[] }>;
export declare function assetPath(specifier: string, fromDir: string): string | undefined;
export declare function consoleAssets(): Plugin;
export declare function consoleAssetsVite(): VitePlugin;
declare const plugins: Plugin[];
export default plugins;
