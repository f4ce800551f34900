import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { gained, openids, startTestApp, type TestApp } from "./harness.ts";

let t: TestApp;
const audience = openids("Fail", 200);

beforeAll(async () => {
  t = await startTestApp({
    // Seven audience pages read by two fan-out containers: pages race each other's records.
    overrides: { WECHAT_MAX_IN_FLIGHT: "4", FANOUT_PAGE_SIZE: "30" },
    concurrency: { sender: 3, fanout: 2, notify: 2, admin: 1 },
    // Long enough for a chunk at 100 ms per WeChat call; the queue's visibility outlasts the claim.
    functionOverrides: { sender: { timeoutSeconds: 8 }, fanout: { timeoutSeconds: 5 } },
    queueOverrides: { send: { visibilityTimeoutSeconds: 12 }, fanout: { visibilityTimeoutSeconds: 6 } },
  });
  await t.seed(audience.map((openid) => ({ openid })));
});
afterEach(() => t.sim.clearFaults());
afterAll(async () => {
  await t?.stop();
});

async function broadcast(outTradeNo: string, during?: () => Promise<void>) {
  const before = t.received();
  const answer = await t.client.notify(await t.postAndNotify(outTradeNo));
  expect(answer.status).toBe(204);
  await during?.();
  const status = await t.client.waitForBroadcast(outTradeNo, { timeoutMs: 90_000 });
  return { status, before, after: t.received() };
}

describe("failures during a broadcast", () => {
  it("refetches the token once when it is revoked mid-run, and loses no one", async () => {
    const fetchesBefore = t.sim.stats().tokenFetches.stable;
    t.sim.setFaults({ revokeTokenAtSend: 60 });
    const { status, before, after } = await broadcast("FAIL000001");
    expect(status).toMatchObject({ total: 200, sent: 200, failed: 0, pending: 0 });
    for (const id of audience) expect(gained(before, after, id), id).toBe(1);
    expect(t.sim.stats().faultsInjected.revoked).toBe(1);
    // The first fetch of the run, then exactly one after the revocation, however many senders saw 40001.
    expect(t.sim.stats().tokenFetches.stable - fetchesBefore).toBe(2);
    expect(t.sim.stats().tokenFetches.stable).toBeLessThanOrEqual(3);
    expect(t.sim.stats().tokenFetches.stableForced).toBe(0);
  });

  it("retries a stream of -1 system-busy answers until everyone has exactly one message", async () => {
    t.sim.setFaults({ busyRate: 0.35, seed: 7 });
    const { status, before, after } = await broadcast("FAIL000002");
    expect(t.sim.stats().faultsInjected.busy).toBeGreaterThan(50);
    expect(status).toMatchObject({ total: 200, sent: 200, failed: 0, pending: 0 });
    for (const id of audience) expect(gained(before, after, id), id).toBe(1);
  });

  it("loses no one and sends no template twice when a sender is killed mid-chunk", async () => {
    t.sim.setFaults({ latencyMs: 100 });
    const deliveredBefore = t.sim.stats().delivered;
    const suppressedBefore = t.sim.stats().duplicatesSuppressed;
    let killed = 0;
    const { status, before, after } = await broadcast("FAIL000003", async () => {
      const deadline = Date.now() + 30_000;
      while (t.sim.stats().delivered - deliveredBefore < 20 && Date.now() < deadline) {
        await sleep(20);
      }
      killed = t.app.stack.runner.killBusy("sender");
    });
    expect(killed).toBeGreaterThan(0);
    expect(t.app.stack.runner.stats().functions.sender?.crashes).toBeGreaterThan(0);
    // Sends made before the kill but not yet recorded were repeated, and WeChat dropped them by client_msg_id.
    expect(t.sim.stats().duplicatesSuppressed).toBeGreaterThan(suppressedBefore);
    expect(status).toMatchObject({ total: 200, sent: 200, failed: 0, pending: 0 });
    for (const id of audience) {
      expect(gained(before, after, id), id).toBe(1);
      expect((after.get(id)?.template ?? 0) - (before.get(id)?.template ?? 0), id).toBe(1);
    }
  });
});
