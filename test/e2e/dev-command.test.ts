import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FanoutClient } from "../../infra/local/fanout-client.ts";
import { WeChatSimulator } from "../../infra/local/wechat-sim/simulator.ts";
import {
  buildTransaction,
  createTestMerchant,
  signNotify,
  tamper,
  writeMerchantFiles,
} from "../../infra/local/wechatpay-signer.ts";
import { openids } from "./harness.ts";
import { TaskApi } from "./task-api.ts";

// `npm run dev` as a user runs it: configured only through the environment, pointed at a WeChat
// API it did not start and a WeChat Pay key pair it did not generate.
const appId = "wxLOOKALIKE00001";
const appSecret = "lookalike-secret-0001";
const templateId = "TPL_LOOKALIKE";
const adminToken = "dev-admin-token-0123456789";
const merchant = createTestMerchant({ appId, mchId: "1611111111" });
let keyDir: string;
let lookalike: WeChatSimulator;
let dev: ChildProcess;
let baseUrl: string;

beforeAll(async () => {
  keyDir = mkdtempSync(join(tmpdir(), "fanout-dev-test-"));
  lookalike = new WeChatSimulator({ appId, appSecret, templateIds: [templateId], strictUsers: true });
  const apiBase = await lookalike.start(0);
  dev = spawn("npm", ["run", "--silent", "dev"], {
    env: {
      ...process.env,
      PORT: "0",
      WECHAT_API_BASE: apiBase,
      WECHAT_APP_ID: appId,
      WECHAT_APP_SECRET: appSecret,
      WECHAT_TEMPLATE_ID: templateId,
      WECHATPAY_MCH_ID: merchant.mchId,
      WECHATPAY_APIV3_KEY: merchant.apiV3Key,
      WECHATPAY_PUBLIC_KEY_ID: merchant.publicKeyId,
      WECHATPAY_PUBLIC_KEY_FILE: writeMerchantFiles(merchant, keyDir),
      ADMIN_TOKEN: adminToken,
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const output: string[] = [];
  baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line:\n${output.join("\n")}`)), 50_000);
    dev.once("exit", (code) => reject(new Error(`npm run dev exited ${code}:\n${output.join("\n")}`)));
    createInterface({ input: dev.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      output.push(line);
      const match = /ready (http:\/\/\S+)/.exec(line);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
});

afterAll(async () => {
  if (dev?.pid && dev.exitCode === null) {
    const exited = new Promise((resolve) => dev.once("exit", resolve));
    process.kill(-dev.pid, "SIGTERM");
    await exited;
  }
  await lookalike?.stop();
  rmSync(keyDir, { recursive: true, force: true });
});

describe("npm run dev", () => {
  it("uses the given WeChat API and key pair: a paid post reaches every eligible user once", async () => {
    const client = new FanoutClient(baseUrl, adminToken);
    const users = openids("Dev", 60);
    const optedOut = openids("DevOut", 3);
    lookalike.addUsers([...users, ...optedOut]);
    await client.importSubscribers([
      ...users.map((openid) => ({ openid })),
      ...optedOut.map((openid) => ({ openid, optedIn: false })),
    ]);
    await client.registerPost({ outTradeNo: "DEV0000001", amount: 300, content: "供应：水泥 50 吨" });
    const notify = signNotify(
      merchant,
      buildTransaction(merchant, { outTradeNo: "DEV0000001", amountTotal: 300 }),
    );

    expect((await client.notify(tamper.probe(notify))).status).toBe(401);
    const answers = await Promise.all([client.notify(notify), client.notify(notify), client.notify(notify)]);
    expect(answers.map((a) => a.status)).toEqual([204, 204, 204]);
    const status = await client.waitForBroadcast("DEV0000001");

    expect(status).toMatchObject({ total: 60, sent: 60, failed: 0, pending: 0 });
    for (const id of users) expect(lookalike.ledger(id)).toHaveLength(1);
    for (const id of optedOut) expect(lookalike.ledger(id)).toHaveLength(0);
    expect(lookalike.stats().tokenFetches.stable).toBeLessThanOrEqual(3);
  });

  it("sends a push task to an uploaded list once, through the given WeChat API", async () => {
    const api = new TaskApi(baseUrl, adminToken);
    const listed = openids("DevTask", 25);
    lookalike.addUsers(listed);
    const taskId = await api.create({ templateId });
    expect((await api.upload(taskId, [...listed, ...listed.slice(0, 5)])).body).toMatchObject({
      added: 25,
      duplicates: 5,
    });
    const presses = await Promise.all([api.send(taskId), api.send(taskId), api.send(taskId)]);
    expect(presses.map((p) => p.status).sort()).toEqual([202, 409, 409]);
    expect(await api.waitDone(taskId)).toMatchObject({ total: 25, sent: 25, failed: 0, pending: 0 });
    for (const id of listed) {
      const got = lookalike.ledger(id).filter((d) => d.templateId === templateId);
      expect(got, id).toHaveLength(1);
      expect(got[0]?.body).toMatchObject({ client_msg_id: expect.any(String) });
    }
    expect((await api.send(taskId)).status).toBe(409);
  });

  it("refuses the admin API without the configured token", async () => {
    const res = await fetch(`${baseUrl}/api/posts/DEV0000001`, { headers: { authorization: "Bearer nope" } });
    expect(res.status).toBe(401);
  });
});
