import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTransaction, signNotify, tamper } from "../../infra/local/wechatpay-signer.ts";
import { gained, openids, startTestApp, type TestApp } from "./harness.ts";

let t: TestApp;
const active = openids("Act", 240);
// Windows WeChat knows of but Fanout was never told about (no callback push): template messages.
const windowedUntracked = active.filter((_, i) => i % 10 === 0);
const optedOut = openids("Out", 5);
const expired = openids("Exp", 5);
const member = openids("Mem", 5);
const unfollowed = openids("Gone", 5);

beforeAll(async () => {
  t = await startTestApp();
  const now = Date.now();
  await t.seed([
    ...active.map((openid) => ({ openid })),
    ...optedOut.map((openid) => ({ openid, optedIn: false })),
    ...expired.map((openid) => ({ openid, membershipExpiresAt: new Date(now - 60_000).toISOString() })),
    ...member.map((openid) => ({ openid, membershipExpiresAt: now + 86_400_000 })),
    ...unfollowed.map((openid) => ({ openid })),
  ]);
  for (const id of windowedUntracked) t.sim.openWindow(id, "message");
  for (const id of unfollowed) t.sim.setFollowed(id, false);
});
afterAll(async () => {
  await t?.stop();
});

describe("a paid post, end to end", () => {
  it("reaches every eligible subscriber exactly once, and no one else", async () => {
    const before = t.received();
    const notify = await t.postAndNotify("E2E0000001");
    const answer = await t.client.notify(notify);
    expect(answer.status).toBe(204);
    const status = await t.client.waitForBroadcast("E2E0000001");
    const after = t.received();

    for (const id of [...active, ...member]) expect(gained(before, after, id), id).toBe(1);
    for (const id of [...optedOut, ...expired, ...unfollowed]) expect(gained(before, after, id), id).toBe(0);
    expect(status).toMatchObject({
      payment: "PAID",
      status: "done",
      total: 250,
      sent: 245,
      failed: 5,
      skipped: 0,
      pending: 0,
      byChannel: { template: 245 },
      byErrcode: { "43004": 5 },
    });
    expect(t.sim.stats().delivered).toBe(status.sent);
    // No customer-service call was made without a tracked window, so none came back 45015.
    expect(t.sim.stats().calls.custom_send).toBe(0);
  });

  it("leaves subscribers WeChat reported as unfollowed out of the next broadcast", async () => {
    const before = t.received();
    await t.client.notify(await t.postAndNotify("E2E0000002"));
    const status = await t.client.waitForBroadcast("E2E0000002");
    expect(status).toMatchObject({ total: 245, sent: 245, failed: 0 });
    const after = t.received();
    for (const id of active) expect(gained(before, after, id)).toBe(1);
  });

  it("starts one broadcast for concurrent and repeated copies of a notify", async () => {
    const before = t.received();
    const tx = buildTransaction(t.merchant, { outTradeNo: "E2E0000003", amountTotal: 500 });
    await t.client.registerPost({ outTradeNo: "E2E0000003", amount: 500, content: "求购：钢材 20 吨" });
    const copies = Array.from({ length: 8 }, () => signNotify(t.merchant, tx));
    const answers = await Promise.all(copies.map((n) => t.client.notify(n)));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(204));
    await t.client.waitForBroadcast("E2E0000003");
    const later = await t.client.notify(signNotify(t.merchant, tx));
    expect(later.status).toBe(204);
    const status = await t.client.waitForBroadcast("E2E0000003");
    expect(status).toMatchObject({ total: 245, sent: 245, pending: 0 });
    const after = t.received();
    for (const id of active) expect(gained(before, after, id)).toBe(1);
  });

  it("refuses every bad notify with 4xx and sends nothing", async () => {
    await t.client.registerPost({ outTradeNo: "E2E0000004", amount: 800, content: "供应：木材" });
    const m = t.merchant;
    const good = () => signNotify(m, buildTransaction(m, { outTradeNo: "E2E0000004", amountTotal: 800 }));
    const bad = {
      probe: tamper.probe(good()),
      stale: tamper.shiftTimestamp(good(), m, -301),
      unknownSerial: tamper.unknownSerial(good()),
      tampered: tamper.flipBodyByte(good()),
      reordered: tamper.reorderJsonKeys(good()),
      noSignature: tamper.dropHeader(good(), "Wechatpay-Signature"),
      malformed: { headers: good().headers, body: "{not json" },
      wrongAmount: signNotify(m, buildTransaction(m, { outTradeNo: "E2E0000004", amountTotal: 1 })),
      notPaid: signNotify(
        m,
        buildTransaction(m, { outTradeNo: "E2E0000004", amountTotal: 800, tradeState: "NOTPAY" }),
      ),
      unknownTrade: signNotify(m, buildTransaction(m, { outTradeNo: "E2E9999999", amountTotal: 800 })),
      otherMerchant: signNotify(
        m,
        buildTransaction(m, { outTradeNo: "E2E0000004", amountTotal: 800, mchId: "1999999999" }),
      ),
    };
    const delivered = t.sim.stats().delivered;
    for (const [name, notify] of Object.entries(bad)) {
      const answer = await t.client.notify(notify);
      expect(answer.status, name).toBeGreaterThanOrEqual(400);
      expect(answer.status, name).toBeLessThan(500);
      expect(JSON.parse(answer.body), name).toMatchObject({ code: "FAIL", message: expect.any(String) });
    }
    await t.app.stack.runner.idle();
    expect(await t.client.getPost("E2E0000004")).toMatchObject({
      payment: "PENDING",
      status: "awaiting_payment",
    });
    expect(t.sim.stats().delivered).toBe(delivered);
  });
});
