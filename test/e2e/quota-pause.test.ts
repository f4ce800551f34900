/**
 * A quota pause on the whole local stack: the simulator's template quota runs out mid-broadcast
 * (45009), the broadcast is `paused` with exact totals, no send call is made while it waits (the
 * resumer asks quota/get, every run here), and once the quota is back everyone else gets the
 * message exactly once; nothing reaches the dead-letter queue.
 */

import { setTimeout as sleep } from "node:timers/promises";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PostView } from "../../functions/contracts/api.ts";
import { localSqsClient } from "../../infra/local/aws-clients.ts";
import { openids, startTestApp, type TestApp } from "./harness.ts";
import { TaskApi } from "./task-api.ts";

let t: TestApp;
let api: TaskApi;
const audience = openids("Quota", 250);

beforeAll(async () => {
  // Schedules every second; the quota is asked for at every resumer run (QUOTA_CHECK_MINUTES=0).
  t = await startTestApp({ scheduleEveryMs: 1000, overrides: { QUOTA_CHECK_MINUTES: "0" } });
  api = new TaskApi(t.app.baseUrl, t.app.adminToken);
  await t.seed(audience.map((openid) => ({ openid })));
});
afterAll(async () => {
  await t?.stop();
});

/** Polls the post until `done` holds of it. */
async function waitForPost(outTradeNo: string, done: (p: PostView) => boolean): Promise<PostView> {
  for (;;) {
    const post = await t.client.getPost(outTradeNo);
    if (done(post)) return post;
    await sleep(200);
  }
}
/** Waits until the resumer has asked quota/get `n` more times. */
async function quotaChecks(n: number): Promise<void> {
  const start = t.sim.stats().calls.quota_get;
  while (t.sim.stats().calls.quota_get < start + n) await sleep(200);
}

describe("a quota pause", () => {
  it("pauses with exact totals, calls nothing while paused, and resumes to reach everyone else exactly once", async () => {
    t.sim.templateQuota.setRemain(120);
    await t.client.notify(await t.postAndNotify("QUOTA00001"));
    await waitForPost("QUOTA00001", (p) => p.status === "paused");
    // Every chunk has either settled or parked once the resumer has been round twice.
    await quotaChecks(2);
    const sendsWhilePaused = t.sim.stats().calls.template_send;
    const paused = await t.client.getPost("QUOTA00001");
    expect(paused).toMatchObject({ status: "paused", total: 250, sent: 120, failed: 0, pending: 130 });
    expect(t.sim.stats().delivered).toBe(120);
    // Only calls already on the wire when the quota ran out were refused: no recipient twice.
    expect(t.sim.stats().errcodes["45009"] ?? 0).toBeLessThanOrEqual(130);

    await quotaChecks(3);
    expect(t.sim.stats().calls.template_send).toBe(sendsWhilePaused);
    expect(await t.client.getPost("QUOTA00001")).toMatchObject({ status: "paused", sent: 120, pending: 130 });

    const before = t.received();
    t.sim.templateQuota.setRemain(100_000);
    const done = await t.client.waitForBroadcast("QUOTA00001");
    expect(done).toMatchObject({ status: "done", total: 250, sent: 250, failed: 0, pending: 0 });
    const after = t.received();
    for (const id of audience) expect(after.get(id)?.template, id).toBe(1);
    expect(
      [...after.values()].reduce((n, c) => n + c.template, 0) -
        [...before.values()].reduce((n, c) => n + c.template, 0),
    ).toBe(130);

    const sqs = localSqsClient(t.app.stack.awsEnv);
    try {
      const dlq = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: t.app.stack.awsEnv.QUEUE_URL_SEND_DLQ,
          AttributeNames: ["ApproximateNumberOfMessages"],
        }),
      );
      expect(dlq.Attributes?.ApproximateNumberOfMessages).toBe("0");
    } finally {
      sqs.destroy();
    }
  });

  it("an operator's resume is 202 for a paused broadcast and 409 with a reason otherwise", async () => {
    t.sim.templateQuota.setRemain(0);
    await t.client.notify(await t.postAndNotify("QUOTA00002"));
    await waitForPost("QUOTA00002", (p) => p.status === "paused");
    const resumed = await api.call("POST", "/api/posts/QUOTA00002/resume");
    expect(resumed).toEqual({ status: 202, body: { broadcastId: "post-QUOTA00002" } });
    // Still no quota: the resumed chunks are refused once more and pause it again; nobody is sent twice.
    await waitForPost("QUOTA00002", (p) => p.status === "paused");
    t.sim.templateQuota.setRemain(100_000);
    expect(await t.client.waitForBroadcast("QUOTA00002")).toMatchObject({ sent: 250, pending: 0 });
    for (const [id, c] of t.received()) expect(c.template, id).toBe(2);

    const again = await api.call<{ error: string }>("POST", "/api/posts/QUOTA00002/resume");
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/done: nothing to resume/);
    const draft = await api.create();
    const task = await api.call<{ error: string }>("POST", `/api/tasks/${draft}/resume`);
    expect(task.status).toBe(409);
    expect(task.body.error).toMatch(/not been sent/);
    expect((await api.call("POST", "/api/posts/NOSUCHPOST/resume")).status).toBe(404);
  });
});
