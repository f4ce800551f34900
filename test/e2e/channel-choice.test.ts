import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gained, openids, startTestApp, type TestApp } from "./harness.ts";
import { appCallback } from "./setup.ts";

let t: TestApp;
const talkers = openids("Talk", 6);
const silent = openids("Silent", 30);

beforeAll(async () => {
  t = await startTestApp();
  t.sim.setCallback(appCallback(t));
  await t.seed([...talkers, ...silent].map((openid) => ({ openid })));
});
afterAll(async () => {
  await t?.stop();
});

describe("choosing the channel from tracked windows", () => {
  it("sends customer-service messages only to users who wrote to the account, one message each", async () => {
    for (const id of talkers) expect((await t.sim.userSends(id, "你好")).status).toBe(200);
    const before = t.received();
    const answer = await t.client.notify(await t.postAndNotify("CHAN000001"));
    expect(answer.status).toBe(204);
    const status = await t.client.waitForBroadcast("CHAN000001");
    const after = t.received();

    for (const id of [...talkers, ...silent]) expect(gained(before, after, id), id).toBe(1);
    for (const id of talkers) expect(after.get(id)?.custom, id).toBe(1);
    for (const id of silent) expect(after.get(id)?.custom ?? 0, id).toBe(0);
    // No customer-service call went to anyone without a window, so WeChat refused none.
    expect(t.sim.stats().calls.custom_send).toBe(talkers.length);
    expect(t.sim.stats().errcodes["45015"] ?? 0).toBe(0);
    expect(status.byChannel).toEqual({ custom: talkers.length, template: silent.length });
  });

  it("uses the window up: after five customer-service messages the sixth broadcast goes by template", async () => {
    const talker = talkers[0] as string;
    for (let i = 2; i <= 6; i += 1) {
      const outTradeNo = `CHAN00000${i}`;
      expect((await t.client.notify(await t.postAndNotify(outTradeNo))).status).toBe(204);
      await t.client.waitForBroadcast(outTradeNo);
    }
    const received = t.received().get(talker);
    expect(received).toEqual({ custom: 5, template: 1 });
    expect(t.sim.stats().errcodes["45047"] ?? 0).toBe(0);
  });

  it("never sends a customer-service message twice when calls time out after delivering", async () => {
    const writers = openids("Late", 24);
    await t.seed(writers.map((openid) => ({ openid })));
    for (const id of writers) expect((await t.sim.userSends(id, "在吗")).status).toBe(200);
    // WeChat delivers, then the answer never comes: the sender cannot tell it from a lost call.
    t.sim.setFaults({ timeoutRate: 0.3, timeoutDelivers: true, faultApis: ["custom_send"], seed: 11 });
    const before = t.received();
    const timeoutsBefore = t.sim.stats().faultsInjected.timeout;
    try {
      expect((await t.client.notify(await t.postAndNotify("CHAN000007"))).status).toBe(204);
      const status = await t.client.waitForBroadcast("CHAN000007");
      const after = t.received();
      const timedOut = t.sim.stats().faultsInjected.timeout - timeoutsBefore;
      expect(timedOut).toBeGreaterThan(0);
      for (const id of [...talkers, ...silent, ...writers]) expect(gained(before, after, id), id).toBe(1);
      // Each timed-out call is recorded as delivery unknown (apart from failures), not retried over either channel.
      expect(status).toMatchObject({
        sent: status.total - timedOut,
        failed: 0,
        unknown: timedOut,
        pending: 0,
      });
      expect(status.byErrcode).toMatchObject({ "-2": timedOut });
    } finally {
      t.sim.clearFaults();
    }
  });
});
