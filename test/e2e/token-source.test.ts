/**
 * Where the access token comes from, on the whole local stack: the account's central token server
 * pushing it (external mode, with WeChat refusing every token call from this stage's address), and
 * this stage's own refresher (the default).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gained, openids, startTestApp, type TestApp } from "./harness.ts";

const IN_FLIGHT = 4;
const SENDERS = 3;

function pushToken(t: TestApp, body: unknown, secret: string | undefined) {
  return fetch(`${t.app.baseUrl}/api/access-token`, {
    method: "PUT",
    headers: { "content-type": "application/json", ...(secret ? { authorization: `Bearer ${secret}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function broadcast(t: TestApp, outTradeNo: string, during?: () => Promise<void>) {
  const before = t.received();
  expect((await t.client.notify(await t.postAndNotify(outTradeNo))).status).toBe(204);
  await during?.();
  const status = await t.client.waitForBroadcast(outTradeNo, { timeoutMs: 90_000 });
  return { status, before, after: t.received() };
}

/** Waits until `ready` holds, polling. */
async function until(ready: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(50);
  }
}

describe("external mode: the central token server pushes the token", () => {
  let t: TestApp;
  let secret: string;
  const logs: string[] = [];
  const audience = openids("Ext", 240);

  beforeAll(async () => {
    t = await startTestApp({
      overrides: { WECHAT_TOKEN_SOURCE: "external", WECHAT_MAX_IN_FLIGHT: String(IN_FLIGHT) },
      scheduleEveryMs: 500,
      log: (line) => logs.push(line),
    });
    secret = t.app.env.WECHAT_TOKEN_PUSH_SECRET ?? "";
    // This stage's address is not whitelisted: any token call it made would be refused.
    t.sim.setFaults({ refuseTokenCalls: 40164 });
    await t.seed(audience.map((openid) => ({ openid })));
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("refuses a wrong or missing secret, the admin token, and malformed bodies, and stores nothing", async () => {
    const token = t.sim.centralServerToken();
    expect((await pushToken(t, token, undefined)).status).toBe(401);
    expect((await pushToken(t, token, `${secret}x`)).status).toBe(401);
    expect((await pushToken(t, token, t.app.adminToken)).status).toBe(401);
    for (const bad of [
      "not json",
      { accessToken: token.accessToken },
      { accessToken: token.accessToken, expiresIn: 86_400 },
      { accessToken: "short", expiresIn: 7200 },
      { ...token, extra: 1 },
    ]) {
      const res = await pushToken(t, bad, secret);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect((await res.json()) as { error: string }).toHaveProperty("error");
    }
    expect(await t.storedToken()).toBeUndefined();
  });

  it("raises TokenStale while no token was pushed", async () => {
    await until(() => logs.some((line) => line.includes('"TokenStale"')));
  });

  it("reaches everyone exactly once on the pushed token, through a revocation and a new push, with no token call", async () => {
    expect((await pushToken(t, t.sim.centralServerToken(), secret)).status).toBe(204);
    expect(await t.storedToken()).toMatchObject({ source: "external", rejected: false });
    const calls = t.sim.stats().calls;
    const refusedBefore = t.sim.stats().errcodes["40001"] ?? 0;
    t.sim.setFaults({ revokeTokenAtSend: 60, latencyMs: 20 });
    const { status, before, after } = await broadcast(t, "EXT0000001", async () => {
      await until(() => t.sim.stats().faultsInjected.revoked === 1);
      // The senders stop and wait; the central server notices and pushes the successor a little later.
      await sleep(2000);
      await until(async () => (await t.storedToken())?.rejected === true);
      expect((await pushToken(t, t.sim.centralServerToken(), secret)).status).toBe(204);
    });
    expect(status).toMatchObject({ total: 240, sent: 240, failed: 0, unknown: 0, pending: 0 });
    for (const id of audience) expect(gained(before, after, id), id).toBe(1);
    const refused = (t.sim.stats().errcodes["40001"] ?? 0) - refusedBefore;
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThanOrEqual(SENDERS * IN_FLIGHT);
    expect(t.sim.stats().calls.stable_token).toBe(calls.stable_token);
    expect(t.sim.stats().calls.token).toBe(calls.token);
    expect(t.sim.stats().calls.stable_token + t.sim.stats().calls.token).toBe(0);
  });

  it("ignores a late push of the predecessor", async () => {
    const current = await t.storedToken();
    const res = await pushToken(t, { accessToken: `${"old".repeat(8)}`, expiresIn: 600 }, secret);
    expect(res.status).toBe(409);
    expect((await t.storedToken())?.accessToken).toBe(current?.accessToken);
  });
});

describe("refresher mode: the stage's own refresher is the only caller of stable_token", () => {
  let t: TestApp;
  const logs: string[] = [];
  const audience = openids("Ref", 240);

  beforeAll(async () => {
    t = await startTestApp({
      overrides: { WECHAT_MAX_IN_FLIGHT: String(IN_FLIGHT) },
      scheduleEveryMs: 1000,
      log: (line) => logs.push(line),
    });
    await t.seed(audience.map((openid) => ({ openid })));
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("says what to whitelist when WeChat refuses the token call, and sends once the IP is whitelisted", async () => {
    // Whatever token the schedule may have fetched meanwhile is forgotten (WeChat answers 40001 to it)
    // and no new one is granted to this stage's address.
    t.sim.reset();
    t.sim.setFaults({ refuseTokenCalls: 40164 });
    const before = t.received();
    expect((await t.client.notify(await t.postAndNotify("REF0000001"))).status).toBe(204);
    await until(() => logs.some((line) => line.includes("IP白名单") && line.includes("40164")));
    expect(logs.some((line) => line.includes('"TokenRefreshFailures"'))).toBe(true);
    expect(t.sim.stats().delivered).toBe(0);
    t.sim.setFaults({ refuseTokenCalls: null });
    const status = await t.client.waitForBroadcast("REF0000001", { timeoutMs: 120_000 });
    expect(status).toMatchObject({ total: 240, sent: 240, pending: 0 });
    for (const id of audience) expect(gained(before, t.received(), id), id).toBe(1);
    expect(t.sim.stats().tokenFetches).toMatchObject({ stable: 1, stableForced: 0, classic: 0 });
  });

  it("costs no more refused calls than the calls in flight when the token is revoked mid-run", async () => {
    const fetches = t.sim.stats().tokenFetches.stable;
    const refusedBefore = t.sim.stats().errcodes["40001"] ?? 0;
    t.sim.setFaults({ revokeTokenAtSend: 60, latencyMs: 20 });
    const { status, before, after } = await broadcast(t, "REF0000002");
    expect(status).toMatchObject({ total: 240, sent: 240, failed: 0, pending: 0 });
    for (const id of audience) expect(gained(before, after, id), id).toBe(1);
    const refused = (t.sim.stats().errcodes["40001"] ?? 0) - refusedBefore;
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThanOrEqual(SENDERS * IN_FLIGHT);
    // One fetch for the successor, however many senders were refused.
    expect(t.sim.stats().tokenFetches.stable - fetches).toBe(1);
    expect(t.sim.stats().tokenFetches.stableForced).toBe(0);
  });
});
