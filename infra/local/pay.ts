/**
 * `npm run pay -- <outTradeNo>`: pays a post registered with the stack `npm run dev` is running, with
 * that stack's demo WeChat Pay merchant (the demo-merchant.json it wrote): a notify signed and
 * encrypted as WeChat Pay would send it, to /wechatpay/notify. Exits 0 once the notify is accepted
 * (with `--wait`, once the broadcast is done), 1 when it is refused, 2 on a usage problem.
 */
import { readFileSync } from "node:fs";
import { exitUsage, readCommandLine, wholeNumber } from "./cli.ts";
import {
  type DemoMerchantFile,
  demoMerchantFile,
  demoMerchantPath,
  describePayment,
  payWithDemoMerchant,
} from "./demo-pay.ts";
import { FanoutClient } from "./fanout-client.ts";

const { values, positionals } = readCommandLine({
  command: "npm run pay",
  summary: [
    "npm run pay: pays a registered post with the demo WeChat Pay merchant of the running `npm run dev`",
    "(模拟支付), by a genuinely signed notify to its /wechatpay/notify; the broadcast then starts.",
  ].join("\n"),
  positionals: [
    { name: "outTradeNo", description: "the post's out_trade_no, as registered with POST /api/posts" },
  ],
  flags: {
    wait: { type: "boolean", description: "wait until the broadcast is done and print its counts" },
    timeout: {
      type: "string",
      placeholder: "s",
      default: "600",
      description: "with --wait: give up after this many seconds",
      parse: wholeNumber(1, 86_400, "seconds"),
    },
  },
  environment: [
    ["FANOUT_DEV_DIR", "where npm run dev wrote demo-merchant.json (default: .local/)"],
    [
      "ADMIN_TOKEN",
      "the operator's token, when you gave npm run dev one (default: the generated one, from the file)",
    ],
  ],
  examples: ["npm run pay -- DEMO1700000000000", "npm run pay -- DEMO1700000000000 --wait"],
});
const outTradeNo = positionals[0] as string;

const path = demoMerchantPath();
const merchant = readMerchantFile(path);
const adminToken = process.env.ADMIN_TOKEN || merchant.adminToken;
if (!adminToken) exitUsage("npm run pay: set ADMIN_TOKEN to the token npm run dev was given");
const client = new FanoutClient(merchant.baseUrl, adminToken);

try {
  const paid = await payWithDemoMerchant(client, merchant, outTradeNo);
  console.log(`${outTradeNo}: ${describePayment(paid)}`);
  if (paid.kind !== "notified" || paid.status !== 204) process.exit(1);
  if (values.wait) {
    const done = await client.waitForBroadcast(outTradeNo, {
      timeoutMs: values.timeout * 1000,
      intervalMs: 500,
    });
    console.log(
      `${outTradeNo}: broadcast done: ${done.total} recipients, sent ${done.sent}, failed ${done.failed}, ` +
        `unknown ${done.unknown}, skipped ${done.skipped}`,
    );
  }
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  const unreachable = error instanceof TypeError && /fetch failed/.test(message);
  console.error(
    unreachable
      ? `npm run pay: nothing answers at ${merchant.baseUrl}: is npm run dev still running?`
      : `npm run pay: ${message}`,
  );
  process.exit(1);
}

function readMerchantFile(file: string): DemoMerchantFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return exitUsage(
      `npm run pay: no ${file}: start npm run dev first (with its demo merchant: no WECHATPAY_* set)` +
        " or set FANOUT_DEV_DIR to where it wrote it",
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = demoMerchantFile.safeParse(json);
  if (!parsed.success)
    return exitUsage(`npm run pay: ${file} is not a demo merchant file written by npm run dev`);
  return parsed.data;
}
