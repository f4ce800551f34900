/**
 * `npm run dev`: the local stack in the foreground, configured from the environment (README,
 * "Configuration"). Prints one line with `ready` and the base URL once every endpoint answers.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { startLocalApp } from "./local-app.ts";

const port = process.env.PORT ? Number(process.env.PORT) : 3000;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error("PORT must be a port number");
  process.exit(2);
}

const app = await startLocalApp({ port, log: (line) => console.error(line) });
if (!process.env.ADMIN_TOKEN) console.log(`ADMIN_TOKEN (generated) = ${app.adminToken}`);
if (!process.env.APP_TOKEN) console.log(`APP_TOKEN (generated, the business app's) = ${app.appToken}`);
if (app.simulator) console.log(`WeChat simulator at ${app.env.WECHAT_API_BASE} (controls under /__sim/)`);
if (app.merchant) {
  // Everything a client needs to sign notifies for the generated merchant, kept out of the console.
  const merchantFile = join(dirname(app.env.WECHATPAY_PUBLIC_KEY_FILE ?? "."), "demo-merchant.json");
  writeFileSync(merchantFile, JSON.stringify(app.merchant, null, 2), { mode: 0o600 });
  console.log(`Demo WeChat Pay merchant (keys, APIv3 key, ids): ${merchantFile}`);
}
if (app.env.WECHAT_TOKEN_SOURCE === "external") {
  // The central token server pushes here: PUT {"accessToken","expiresIn"} on every refresh.
  console.log(`Access token push (central token server): PUT ${app.baseUrl}/api/access-token`);
  if (!process.env.WECHAT_TOKEN_PUSH_SECRET)
    console.log(`WECHAT_TOKEN_PUSH_SECRET (generated) = ${app.env.WECHAT_TOKEN_PUSH_SECRET}`);
}
console.log(`Admin console: ${app.baseUrl}/admin (asks for ADMIN_TOKEN)`);
console.log(`ready ${app.baseUrl}`);

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await app.stop();
  process.exit(0);
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
