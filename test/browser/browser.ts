import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
  type Route,
} from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { serveConsole } from "../../functions/console/serve.ts";
import type { HttpEvent } from "../../functions/http.ts";

/** Debian's Chromium (`apt-get install -y chromium`); playwright-core never downloads a browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const ARTIFACTS_DIR = join(import.meta.dirname, "..", "..", "test-artifacts", "browser");

/**
 * Headless Chromium as the machine allows it: no sandbox (tests run as root in CI), and none of the
 * background connections (updates, sync, QUIC probes) a closed network refuses at every start.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (or set CHROMIUM_PATH); .ci/run does this`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Launches Chromium before this file's tests and closes it after; call the answer inside tests and hooks. */
export function useChromium(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error("Chromium is not launched yet (use it in a hook or test)");
    return browser;
  };
}

/**
 * Fulfils `route` with the console's page or asset as the admin function serves it (with its CSP);
 * false, leaving the route alone, when the path is not the console's (an API call).
 */
export async function fulfilConsolePage(route: Route): Promise<boolean> {
  const request = route.request();
  const url = new URL(request.url());
  const page = serveConsole({
    rawPath: url.pathname,
    queryStringParameters: Object.fromEntries(url.searchParams),
    headers: {},
    requestContext: { http: { method: request.method() } },
  } as unknown as HttpEvent);
  if (!page) return false;
  const headers = Object.fromEntries(Object.entries(page.headers ?? {}).map(([k, v]) => [k, String(v)]));
  await route.fulfill({ status: page.statusCode, headers, body: String(page.body) });
  return true;
}

/** Where the browser tests serve the console: every request to it is answered by a test's route. */
export const CONSOLE_ORIGIN = "http://console.test";
/** The admin token the tests' API fixtures accept. */
export const ADMIN_TOKEN = "fixture-admin-token";

/** A new context of `browser` with every request answered by `fulfil`, on the console, signed in (令牌, 进入控制台). */
export async function openSignedIn(
  browser: Browser,
  fulfil: (route: Route) => Promise<void>,
  options: BrowserContextOptions,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext(options);
  await context.route(`${CONSOLE_ORIGIN}/**`, fulfil);
  const page = await context.newPage();
  await page.goto(`${CONSOLE_ORIGIN}/admin`);
  await page.getByLabel(/^令牌/).fill(ADMIN_TOKEN);
  await page.getByRole("button", { name: "进入控制台" }).click();
  return { context, page };
}

/** Saves numbered full-page screenshots of one test file under test-artifacts/browser/, last run's removed. */
export function screenshots(prefix: string): (page: Page, step: string) => Promise<void> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  for (const file of readdirSync(ARTIFACTS_DIR)) {
    if (file.startsWith(`${prefix}-`)) rmSync(join(ARTIFACTS_DIR, file));
  }
  let n = 0;
  return async (page, step) => {
    n += 1;
    await page.screenshot({
      path: join(ARTIFACTS_DIR, `${prefix}-${String(n).padStart(2, "0")}-${step}.png`),
      fullPage: true,
    });
  };
}
