import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FanoutClient } from "../../infra/local/fanout-client.ts";
import { verificationUrl } from "../../infra/local/wechat-sim/push.ts";
import { WeChatSimulator } from "../../infra/local/wechat-sim/simulator.ts";
import {
  buildTransaction,
  createTestMerchant,
  signNotify,
  tamper,
  writeMerchantFiles,
} from "../../infra/local/wechatpay-signer.ts";
import { type DevProcess, runScript, startDev } from "../fixtures/dev-process.ts";
import { openids } from "./harness.ts";
import { TaskApi } from "./task-api.ts";

// `npm run dev` as a user runs it: configured only through the environment, pointed at a WeChat
// API it did not start and a WeChat Pay key pair it did not generate.
const appId = "wxLOOKALIKE00001";
const appSecret = "lookalike-secret-0001";
const templateId = "TPL_LOOKALIKE";
const adminToken = "dev-admin-token-0123456789";
const callbackToken = "lookalikeCallbackToken01";
const merchant = createTestMerchant({ appId, mchId: "1611111111" });
let keyDir: string;
let lookalike: WeChatSimulator;
let dev: DevProcess;
let baseUrl: string;

describe("npm run dev with your own WeChat API and WeChat Pay merchant", () => {
  beforeAll(async () => {
    keyDir = mkdtempSync(join(tmpdir(), "fanout-dev-test-"));
    lookalike = new WeChatSimulator({ appId, appSecret, templateIds: [templateId], strictUsers: true });
    const apiBase = await lookalike.start(0);
    dev = await startDev({
      PORT: "0",
      WECHAT_API_BASE: apiBase,
      WECHAT_APP_ID: appId,
      WECHAT_APP_SECRET: appSecret,
      WECHAT_TEMPLATE_ID: templateId,
      WECHAT_CALLBACK_TOKEN: callbackToken,
      WECHATPAY_MCH_ID: merchant.mchId,
      WECHATPAY_APIV3_KEY: merchant.apiV3Key,
      WECHATPAY_PUBLIC_KEY_ID: merchant.publicKeyId,
      WECHATPAY_PUBLIC_KEY_FILE: writeMerchantFiles(merchant, keyDir),
      ADMIN_TOKEN: adminToken,
      FANOUT_DEV_DIR: join(keyDir, "dev"),
    });
    baseUrl = dev.baseUrl;
  });

  afterAll(async () => {
    await dev?.stop();
    await lookalike?.stop();
    rmSync(keyDir, { recursive: true, force: true });
  });

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

  it("prints what it was given without the secrets in it, and no demo-merchant tools", async () => {
    const printed = dev.output.join("\n");
    for (const secret of [adminToken, appSecret, callbackToken, merchant.apiV3Key])
      expect(printed).not.toContain(secret);
    expect(dev.value("ADMIN_TOKEN")).toBe("(from your environment)");
    expect(dev.value("WECHAT_CALLBACK_TOKEN")).toBe("(from your environment)");
    expect(dev.value("WECHAT_API_BASE")).toBe(lookalike.url);
    expect(dev.value("callback URL")).toBe(`${baseUrl}/wechat/callback`);
    expect(printed).not.toContain("npm run pay");
    // No demo merchant, so no demo routes: the console offers no 模拟支付.
    const demo = await fetch(`${baseUrl}/__demo/`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(demo.status).toBe(404);
    const pay = await fetch(`${baseUrl}/__demo/pay/DEV0000001`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(pay.status).toBe(404);
  });

  it("refuses the admin API without the configured token", async () => {
    const res = await fetch(`${baseUrl}/api/posts/DEV0000001`, { headers: { authorization: "Bearer nope" } });
    expect(res.status).toBe(401);
  });
});

/** One line on stderr, no stack trace: what a typo or a busy port should give. */
function expectOneLine(stderr: string): void {
  expect(stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
}

describe("the local commands' command line", () => {
  it("npm run dev --help lists its settings and exits 0", async () => {
    const help = await runScript("dev", ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: npm run dev");
    expect(help.stdout).toMatch(/PORT +HTTP port on 127\.0\.0\.1 \(default: 3000/);
    expect(help.stdout).toContain("SIM_TEMPLATE_IDS");
  });

  it("a bad flag or setting is one line and exit 2, for dev, start, bench and pay", async () => {
    const [flag, template, latency, bench, pay] = await Promise.all([
      runScript("dev", ["--bogus"]),
      runScript("dev", [], { SIM_TEMPLATE_IDS: "TPL_OK,b@d" }),
      runScript("start", ["--latency", "-5"]),
      runScript("bench", ["--audiences", "ten"]),
      runScript("pay", []),
    ]);
    expect(flag).toMatchObject({ code: 2, stdout: "" });
    expect(flag.stderr).toContain("npm run dev: unknown flag --bogus");
    expect(template.code).toBe(2);
    expect(template.stderr).toContain('SIM_TEMPLATE_IDS: "b@d" is not a template id');
    expect(latency.code).toBe(2);
    expect(latency.stderr).toContain('npm start: --latency must be a number of milliseconds ≥ 0, got "-5"');
    expect(bench.code).toBe(2);
    expect(bench.stderr).toContain("--audiences must be comma-separated whole numbers");
    expect(pay.code).toBe(2);
    expect(pay.stderr).toContain("missing <outTradeNo>");
    for (const run of [flag, template, latency, bench, pay]) expectOneLine(run.stderr);
  });
});

describe("npm run dev with the built-in WeChat simulator and the demo merchant", () => {
  let demo: DevProcess;
  let devDir: string;
  let token: string;

  beforeAll(async () => {
    devDir = mkdtempSync(join(tmpdir(), "fanout-dev-demo-"));
    demo = await startDev({
      PORT: "0",
      FANOUT_DEV_DIR: devDir,
      SIM_TEMPLATE_IDS: "TPL_MINE, TPL_OTHER",
      SIM_SUBSCRIBE_TEMPLATE_IDS: "SUB_MINE",
    });
    token = demo.value("ADMIN_TOKEN");
  });

  afterAll(async () => {
    await demo?.stop();
    rmSync(devDir, { recursive: true, force: true });
  });

  it("prints the simulator's template ids, the callback token and URL and the queue URLs, each usable as printed", async () => {
    expect(demo.value("template ids")).toBe("TPL_SUPPLY_DEMAND_NOTICE, TPL_MINE, TPL_OTHER");
    expect(demo.value("subscribe template ids")).toBe("TPL_SUBSCRIBE_DEMO, SUB_MINE");
    const simBase = demo.value("WECHAT_API_BASE");
    expect(await (await fetch(`${simBase}/__sim/templates`)).json()).toEqual({
      templateIds: ["TPL_SUPPLY_DEMAND_NOTICE", "TPL_MINE", "TPL_OTHER"],
      subscribeTemplateIds: ["TPL_SUBSCRIBE_DEMO", "SUB_MINE"],
    });

    // The callback answers WeChat's URL check signed with the printed token.
    const callback = {
      url: demo.value("callback URL"),
      token: demo.value("WECHAT_CALLBACK_TOKEN"),
      appId: "",
    };
    expect(callback.url).toBe(`${demo.baseUrl}/wechat/callback`);
    const echo = await fetch(verificationUrl(callback, "echo-from-test"));
    expect(await echo.text()).toBe("echo-from-test");
    const forged = await fetch(verificationUrl({ ...callback, token: "not-the-token" }, "x"));
    expect(forged.status).toBe(401);

    // The printed credentials, endpoint and queue URL reach the queue.
    const exported = Object.fromEntries(
      `${demo.value("credentials")} ${demo.value("endpoints")}`
        .replaceAll("export ", "")
        .split(" ")
        .map((pair) => pair.split("=") as [string, string]),
    );
    const sqs = new SQSClient({
      region: exported.AWS_REGION,
      endpoint: exported.AWS_ENDPOINT_URL_SQS,
      credentials: {
        accessKeyId: exported.AWS_ACCESS_KEY_ID ?? "",
        secretAccessKey: exported.AWS_SECRET_ACCESS_KEY ?? "",
      },
    });
    try {
      for (const name of ["QUEUE_URL_SEND", "QUEUE_URL_FANOUT_DLQ"]) {
        const attributes = await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: demo.value(name), AttributeNames: ["QueueArn"] }),
        );
        expect(attributes.Attributes?.QueueArn).toMatch(/^arn:aws:sqs:/);
      }
    } finally {
      sqs.destroy();
    }
  });

  it("sends a push task with a template id added through SIM_TEMPLATE_IDS", async () => {
    const api = new TaskApi(demo.baseUrl, token);
    const listed = openids("DevMine", 12);
    const taskId = await api.create({ templateId: "TPL_MINE" });
    expect((await api.upload(taskId, listed)).status).toBe(200);
    expect((await api.send(taskId)).status).toBe(202);
    expect(await api.waitDone(taskId)).toMatchObject({ total: 12, sent: 12, failed: 0 });
  });

  it("pays a registered post with npm run pay, as WeChat Pay would, and the broadcast goes out", async () => {
    const client = new FanoutClient(demo.baseUrl, token);
    await client.importSubscribers(openids("DevPay", 20).map((openid) => ({ openid })));
    await client.registerPost({ outTradeNo: "DEVPAY0001", amount: 300, content: "供应：钢筋 20 吨" });
    const paid = await runScript("pay", ["DEVPAY0001", "--wait"], { FANOUT_DEV_DIR: devDir });
    expect(paid.code).toBe(0);
    expect(paid.stdout).toContain("DEVPAY0001: paid ¥3.00: /wechatpay/notify answered 204");
    expect(paid.stdout).toContain("DEVPAY0001: broadcast done: 20 recipients, sent 20, failed 0");
    expect(await client.getPost("DEVPAY0001")).toMatchObject({ payment: "PAID", status: "done", sent: 20 });

    const again = await runScript("pay", ["DEVPAY0001"], { FANOUT_DEV_DIR: devDir });
    expect(again.code).toBe(1);
    expect(again.stdout).toContain("DEVPAY0001: already paid (broadcast post-DEVPAY0001)");
    const unknown = await runScript("pay", ["NOSUCHPOST"], { FANOUT_DEV_DIR: devDir });
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toContain("no such post");
  });

  it("pays through POST /__demo/pay/{outTradeNo}, answering what /wechatpay/notify answered", async () => {
    const client = new FanoutClient(demo.baseUrl, token);
    const call = (method: string, path: string, bearer = token) =>
      fetch(`${demo.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${bearer}` } });
    const tools = await call("GET", "/__demo/");
    expect(await tools.json()).toMatchObject({ demoMerchant: true, pay: "POST /__demo/pay/{outTradeNo}" });
    expect((await call("GET", "/__demo/", "wrong-token-0000000000")).status).toBe(401);

    await client.registerPost({ outTradeNo: "DEVPAY0002", amount: 500, content: "求购：二手叉车" });
    expect((await call("POST", "/__demo/pay/DEVPAY0002", "wrong-token-0000000000")).status).toBe(401);
    expect((await client.getPost("DEVPAY0002")).payment).toBe("PENDING");
    const paid = await call("POST", "/__demo/pay/DEVPAY0002");
    expect(paid.status).toBe(204);
    expect(await client.waitForBroadcast("DEVPAY0002")).toMatchObject({
      status: "done",
      total: 20,
      sent: 20,
    });
    expect((await call("POST", "/__demo/pay/DEVPAY0002")).status).toBe(409);
    expect((await call("POST", "/__demo/pay/NOSUCHPOST")).status).toBe(404);
  });

  it("started on a port in use, says so in one line naming PORT, exit 2", async () => {
    const port = new URL(demo.baseUrl).port;
    const busy = await runScript("dev", [], { PORT: port });
    expect(busy.code).toBe(2);
    expect(busy.stderr.trim()).toBe(
      `npm run dev: port ${port} is in use: set PORT=… or stop the other process`,
    );
    expectOneLine(busy.stderr);
  });
});
