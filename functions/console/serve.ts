import { createHash } from "node:crypto";
import { type HttpEvent, type HttpResult, JSON_HEADERS, json } from "../http.ts";
import appCss from "./app.css?bundle";
import pageHtml from "./page.html?bundle";
import appJs from "./src/main.ts?bundle";

/**
 * The operator console: one page, one script, one stylesheet, built into the admin function's bundle
 * as strings by infra/console-plugin.mjs (the script from the TypeScript in src/, bundled and minified
 * for the browser), the same way locally and under SST, with no copy step. The page holds no secret:
 * it asks for the admin token and sends it as a bearer token on every API call, so these files are
 * served without one.
 */

export const CONSOLE_PATH = "/admin";

// Assets are named by their content hash so the browser may cache them for good; a deploy changes the
// hash, and the page itself (never cached without revalidation) points at the new names.
const hash = (text: string): string => createHash("sha256").update(text).digest("hex").slice(0, 12);
const jsVersion = hash(appJs);
const cssVersion = hash(appCss);
const page = pageHtml
  .replace("{{APP_JS}}", `${CONSOLE_PATH}/app.js?v=${jsVersion}`)
  .replace("{{APP_CSS}}", `${CONSOLE_PATH}/app.css?v=${cssVersion}`);

/**
 * Only same-origin scripts, styles and API calls; no inline script or style, no framing, no form
 * posts, no plugins: a hostile string that slipped into the page could neither run nor phone home.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
};

interface Asset {
  readonly body: string;
  readonly contentType: string;
  readonly version?: string;
}

const assets: Record<string, Asset> = {
  [CONSOLE_PATH]: { body: page, contentType: "text/html; charset=utf-8" },
  [`${CONSOLE_PATH}/`]: { body: page, contentType: "text/html; charset=utf-8" },
  [`${CONSOLE_PATH}/app.js`]: {
    body: appJs,
    contentType: "text/javascript; charset=utf-8",
    version: jsVersion,
  },
  [`${CONSOLE_PATH}/app.css`]: { body: appCss, contentType: "text/css; charset=utf-8", version: cssVersion },
};

/** True for every path the console owns: answered here, never by the bearer-token API. */
export function isConsolePath(path: string): boolean {
  return path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`);
}

/** The console's answer to a request under `/admin`; undefined for any other path. */
export function serveConsole(event: HttpEvent): HttpResult | undefined {
  const path = event.rawPath;
  if (!isConsolePath(path)) return undefined;
  const method = event.requestContext.http.method;
  if (method !== "GET" && method !== "HEAD") {
    return {
      ...json(405, { error: "method not allowed" }),
      headers: { ...JSON_HEADERS, allow: "GET, HEAD" },
    };
  }
  const asset = assets[path];
  if (!asset) return json(404, { error: "no such console asset" });
  // An asset requested under its current hash never changes; anything else (the page, or an old
  // or missing ?v= after a deploy) must be revalidated so the console never mixes versions.
  const immutable = asset.version !== undefined && event.queryStringParameters?.v === asset.version;
  return {
    statusCode: 200,
    headers: {
      ...SECURITY_HEADERS,
      "content-type": asset.contentType,
      "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    },
    body: method === "HEAD" ? "" : asset.body,
  };
}
