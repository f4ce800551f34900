/**
 * `npm run dev`: the local stack in the foreground, configured from the environment (README,
 * "Configuration"). Prints what a developer needs to poke it (dev-summary.ts), then one line with
 * `ready` and the base URL once every endpoint answers.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { checkPortFree, exitUsage, portProblem, readCommandLine } from "./cli.ts";
import { type DemoMerchantFile, demoMerchantPath } from "./demo-pay.ts";
import { devSummary } from "./dev-summary.ts";
import { type LocalApp, LocalSettingError, startLocalApp } from "./local-app.ts";

readCommandLine({
  command: "npm run dev",
  summary: [
    "npm run dev: the whole system on this machine until Ctrl-C (本地开发环境): DynamoDB Local, the SQS",
    "emulator, the Lambda runner and, unless WECHAT_API_BASE is set, the WeChat simulator. Configured",
    "from the environment only (README, Configuration): unset WeChat and WeChat Pay settings get demo",
    "values, and what was generated is printed.",
  ].join("\n"),
  flags: {},
  environment: [
    ["PORT", "HTTP port on 127.0.0.1 (default: 3000; 0 picks a free one)"],
    ["SIM_TEMPLATE_IDS", "more template ids the simulator accepts, comma-separated (default: none)"],
    ["SIM_SUBSCRIBE_TEMPLATE_IDS", "more subscribe template ids it accepts (default: none)"],
    ["FANOUT_DEV_DIR", "where demo-merchant.json is written, for npm run pay (default: .local/)"],
    ["WECHAT_API_BASE", "a WeChat API to use instead of the simulator (default: the simulator)"],
    ["WECHATPAY_*", "a WeChat Pay merchant to use instead of the demo one (default: generated)"],
    ["ADMIN_TOKEN …", "every other setting of README, Configuration (default: generated)"],
  ],
  examples: ["npm run dev", "PORT=3100 SIM_TEMPLATE_IDS=TPL_ORDER_SHIPPED,TPL_EVENT_JOINED npm run dev"],
});

const port = process.env.PORT ? Number(process.env.PORT) : 3000;
if (!Number.isInteger(port) || port < 0 || port > 65535)
  exitUsage(
    `npm run dev: PORT must be a port number from 0 to 65535, got ${JSON.stringify(process.env.PORT)}`,
  );

let app: LocalApp;
try {
  // Before the emulators start: a busy port is said at once, not after their start-up.
  await checkPortFree(port);
  app = await startLocalApp({ port, log: (line) => console.error(line) });
} catch (error) {
  const problem = portProblem(error) ?? (error instanceof LocalSettingError ? error.message : undefined);
  if (problem) exitUsage(`npm run dev: ${problem}`);
  console.error(`npm run dev: could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const merchantFile = app.merchant ? writeMerchantFile(app) : undefined;
const sim = app.simulator?.templateIds();
const summary = devSummary({
  baseUrl: app.baseUrl,
  env: app.env,
  awsEnv: app.stack.awsEnv,
  given: process.env,
  ...(sim ? { simulator: sim } : {}),
  ...(merchantFile ? { merchantFile } : {}),
});
console.log(summary.join("\n"));
console.log(`\nready ${app.baseUrl}`);

/**
 * Everything a client needs to sign notifies for the generated merchant, and where the stack listens,
 * for `npm run pay`; kept out of the console. The operator's token only when it was generated here.
 */
function writeMerchantFile(running: LocalApp): string {
  const path = demoMerchantPath();
  const contents: DemoMerchantFile = {
    ...(running.merchant as NonNullable<LocalApp["merchant"]>),
    baseUrl: running.baseUrl,
    ...(process.env.ADMIN_TOKEN ? {} : { adminToken: running.adminToken }),
  };
  mkdirSync(dirname(path), { recursive: true });
  // Removed first: the mode applies only to a file being created.
  rmSync(path, { force: true });
  writeFileSync(path, `${JSON.stringify(contents, null, 2)}\n`, { mode: 0o600 });
  return path;
}

/** Removes demo-merchant.json unless another `npm run dev` has written its own since. */
function removeMerchantFile(path: string): void {
  try {
    if ((JSON.parse(readFileSync(path, "utf8")) as DemoMerchantFile).baseUrl === app.baseUrl) rmSync(path);
  } catch {
    // Already gone, or not ours to remove.
  }
}

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (merchantFile) removeMerchantFile(merchantFile);
  await app.stop();
  process.exit(0);
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
