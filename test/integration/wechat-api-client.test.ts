import { createServer } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TokenFetchError, WeChatApiClient } from "../../functions/adapters/wechat/api-client.ts";
import { WeChatTransportError } from "../../functions/core/ports.ts";
import { closeServer, listen } from "../../infra/local/http-io.ts";
import { WeChatSimulator } from "../../infra/local/wechat-sim/simulator.ts";

const appId = "wxCLIENTTEST0001";
const appSecret = "s3cret-s3cret-s3cret";
const template = { templateId: "TPL1", data: { thing1: { value: "出售叉车" } } };
let sim: WeChatSimulator;
let base: string;
const clients: WeChatApiClient[] = [];

function client(overrides: Partial<ConstructorParameters<typeof WeChatApiClient>[0]> = {}) {
  const c = new WeChatApiClient({ baseUrl: base, maxInFlight: 4, timeoutMs: 2000, ...overrides });
  clients.push(c);
  return c;
}
const token = (c: WeChatApiClient) => c.stableToken(appId, appSecret);

/** A loopback address nothing listens on: every connection is refused. */
async function closedBase(): Promise<string> {
  const server = createServer();
  const port = await listen(server);
  await closeServer(server);
  return `http://127.0.0.1:${port}`;
}

beforeAll(async () => {
  sim = new WeChatSimulator({ appId, appSecret, templateIds: ["TPL1"] });
  base = await sim.start(0);
});
afterEach(() => sim.clearFaults());
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sim.stop();
});

describe("WeChatApiClient against the simulator", () => {
  it("fetches the stable token in normal mode: the same token every time", async () => {
    const c = client();
    const a = await token(c);
    const b = await token(c);
    expect(a.accessToken).toBe(b.accessToken);
    expect(a.expiresInSeconds).toBeGreaterThan(300);
    expect(sim.stats().tokenFetches.stableForced).toBe(0);
  });

  it("reports a refused token request as TokenFetchError without the secret", async () => {
    const c = client();
    const error = await c.stableToken(appId, "wrong-secret").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenFetchError);
    expect((error as TokenFetchError).errcode).toBe(40125);
    expect(String(error)).not.toContain("wrong-secret");
  });

  it("sends a template message with client_msg_id once, and a customer-service text in a window", async () => {
    const c = client();
    const { accessToken } = await token(c);
    sim.addUsers(["oClient1"]);
    const first = await c.sendTemplate(accessToken, "oClient1", template, "cmid-1");
    const again = await c.sendTemplate(accessToken, "oClient1", template, "cmid-1");
    expect(first).toMatchObject({ errcode: 0, msgid: expect.any(Number) });
    expect(again.msgid).toBe(first.msgid);
    expect(await c.sendCustomText(accessToken, "oClient1", "hi")).toMatchObject({ errcode: 45015 });
    sim.openWindow("oClient1", "message");
    expect(await c.sendCustomText(accessToken, "oClient1", "hi")).toMatchObject({ errcode: 0 });
    expect(sim.ledger("oClient1").map((d) => d.channel)).toEqual(["template", "custom"]);
  });

  it("turns HTTP 5xx and timeouts into WeChatTransportError", async () => {
    const c = client({ timeoutMs: 300 });
    const { accessToken } = await token(c);
    sim.setFaults({ http5xxRate: 1 });
    await expect(c.sendTemplate(accessToken, "oClient2", template, "x")).rejects.toBeInstanceOf(
      WeChatTransportError,
    );
    sim.setFaults({ http5xxRate: 0, timeoutRate: 1 });
    await expect(c.sendTemplate(accessToken, "oClient2", template, "y")).rejects.toBeInstanceOf(
      WeChatTransportError,
    );
  });

  it("keeps at most maxInFlight calls open at once", async () => {
    const c = client({ maxInFlight: 3 });
    const { accessToken } = await token(c);
    sim.reset({ keepTokens: true });
    sim.setFaults({ latencyMs: 40 });
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) => c.sendTemplate(accessToken, `oFlight${i}`, template, `f${i}`)),
    );
    expect(results.every((r) => r.errcode === 0)).toBe(true);
    expect(sim.stats().inFlightPeak).toBe(3);
  });
});

describe("the fallback domain (api2) after a transport failure", () => {
  it("repeats a token fetch and a template send (client_msg_id) there, once", async () => {
    const c = client({ baseUrl: await closedBase(), fallbackBaseUrl: base });
    const { accessToken } = await token(c);
    sim.addUsers(["oFallback1"]);
    expect(await c.sendTemplate(accessToken, "oFallback1", template, "fb-1")).toMatchObject({ errcode: 0 });
    expect(sim.ledger("oFallback1").map((d) => d.channel)).toEqual(["template"]);
  });

  it("never repeats a customer-service message or a subscribe message, which WeChat cannot de-duplicate", async () => {
    const direct = client();
    const { accessToken } = await token(direct);
    sim.addUsers(["oFallback2"]);
    sim.openWindow("oFallback2", "message");
    const before = sim.stats().calls;
    const c = client({ baseUrl: await closedBase(), fallbackBaseUrl: base });
    await expect(c.sendCustomText(accessToken, "oFallback2", "hi")).rejects.toBeInstanceOf(
      WeChatTransportError,
    );
    const subscribe = {
      api: "subscribe" as const,
      body: { touser: "oFallback2", template_id: "SUB", data: {} },
    };
    await expect(c.sendTaskMessage(accessToken, subscribe)).rejects.toBeInstanceOf(WeChatTransportError);
    const untagged = {
      api: "template" as const,
      body: { touser: "oFallback2", template_id: "TPL1", data: {} },
    };
    await expect(c.sendTaskMessage(accessToken, untagged)).rejects.toBeInstanceOf(WeChatTransportError);
    const after = sim.stats().calls;
    expect(after.custom_send - before.custom_send).toBe(0);
    expect(after.subscribe_send - before.subscribe_send).toBe(0);
    expect(after.template_send - before.template_send).toBe(0);
  });

  it("gives the fallback no second timeout: a call that used up its time is not repeated", async () => {
    const slow = createServer(() => {});
    const port = await listen(slow);
    try {
      const c = client({ baseUrl: `http://127.0.0.1:${port}`, fallbackBaseUrl: base, timeoutMs: 300 });
      const before = sim.stats().calls.stable_token;
      const started = Date.now();
      await expect(token(c)).rejects.toBeInstanceOf(WeChatTransportError);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(sim.stats().calls.stable_token).toBe(before);
    } finally {
      await closeServer(slow);
    }
  });
});

describe("WeChatApiClient against a look-alike that answers differently", () => {
  it("reads a msgid sent as a decimal string, a missing errcode as success, and ignores a msgid that is not a number", async () => {
    const answers = [
      { errcode: 0, errmsg: "ok", msgid: "3147483652" },
      { errmsg: "ok", msgid: 7 },
      { errcode: 0, errmsg: "ok", msgid: "abc" },
    ];
    const server = createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(answers.shift()));
    });
    const port = await listen(server);
    try {
      const c = client({ baseUrl: `http://127.0.0.1:${port}` });
      expect(await c.sendTemplate("token", "oLook1", template, "a")).toEqual({
        errcode: 0,
        errmsg: "ok",
        msgid: 3147483652,
      });
      expect(await c.sendTemplate("token", "oLook1", template, "b")).toEqual({
        errcode: 0,
        errmsg: "ok",
        msgid: 7,
      });
      expect(await c.sendTemplate("token", "oLook1", template, "c")).toEqual({ errcode: 0, errmsg: "ok" });
    } finally {
      await closeServer(server);
    }
  });
});
