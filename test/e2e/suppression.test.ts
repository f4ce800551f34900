/** Suppression of users who refused the account's messages, against the whole local stack. */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpStatusError } from "../../infra/local/fanout-client.ts";
import type { CallbackTarget } from "../../infra/local/wechat-sim/push.ts";
import { openids, startTestApp, type TestApp } from "./harness.ts";
import { paidPost as paidPostTo } from "./paid-post.ts";

let t: TestApp;
let target: CallbackTarget;
const audience = openids("Sup", 5);
const [blocker, refuser] = audience as [string, string];

beforeAll(async () => {
  t = await startTestApp();
  const token = t.app.env.WECHAT_CALLBACK_TOKEN;
  if (!token) throw new Error("local-app generates WECHAT_CALLBACK_TOKEN");
  target = { url: `${t.app.baseUrl}/wechat/callback`, token, appId: t.app.env.WECHAT_APP_ID ?? "" };
  // WeChat reports each delivered template message to the callback by itself.
  t.sim.setCallback({ ...target, reportDelayMs: 200 });
  await t.seed(audience.map((openid) => ({ openid })));
});
afterAll(async () => {
  await t?.stop();
});

let postNo = 0;
async function paidPost() {
  postNo += 1;
  return paidPostTo(t, audience, `SUP${String(postNo).padStart(7, "0")}`);
}

async function suppressionOf(openid: string) {
  return (await t.client.api<{ suppressed: unknown }>("GET", `/api/subscribers/${openid}`)).suppressed;
}

async function waitForSuppression(openid: string): Promise<unknown> {
  for (let i = 0; i < 100; i += 1) {
    const suppressed = await suppressionOf(openid);
    if (suppressed) return suppressed;
    await sleep(100);
  }
  throw new Error(`${openid} was never suppressed`);
}

describe("suppression", () => {
  it("a `failed:user block` report: the next broadcast skips that user without a WeChat call", async () => {
    t.sim.reportUserBlock(blocker);
    const first = await paidPost();
    expect(first.status).toMatchObject({ sent: 5, skipped: 0 });
    expect(await waitForSuppression(blocker)).toMatchObject({
      reason: "user block",
      since: expect.any(String),
    });

    const next = await paidPost();
    expect(next.status).toMatchObject({
      status: "done",
      total: 5,
      sent: 4,
      skipped: 1,
      bySkipReason: { "suppressed: user block": 1 },
    });
    expect(next.called(blocker)).toBe(0);
    expect(next.got(blocker)).toBe(0);
    for (const id of audience.slice(1)) expect(next.got(id), id).toBe(1);
  });

  it("a 43101 refusal suppresses the user for the broadcasts after it", async () => {
    t.sim.refuseMessages(refuser);
    const refused = await paidPost();
    expect(refused.status).toMatchObject({ failed: 1, byErrcode: { "43101": 1 } });
    expect(await suppressionOf(refuser)).toMatchObject({ reason: "43101" });
    const next = await paidPost();
    expect(next.status).toMatchObject({
      sent: 3,
      skipped: 2,
      bySkipReason: { "suppressed: user block": 1, "suppressed: 43101": 1 },
    });
    expect(next.called(refuser)).toBe(0);
  });

  it("the user's own message lifts it: the next broadcast reaches them", async () => {
    await t.sim.userSends(blocker, "你好");
    expect(await suppressionOf(blocker)).toBeNull();
    const next = await paidPost();
    expect(next.got(blocker)).toBe(1);
    expect(next.status.bySkipReason).toEqual({ "suppressed: 43101": 1 });
  });

  it("an operator lifts it with POST /api/subscribers/{openid}/unsuppress, idempotently", async () => {
    const path = `/api/subscribers/${refuser}/unsuppress`;
    expect(await t.client.api("POST", path)).toEqual({ openid: refuser, lifted: "43101" });
    expect(await t.client.api("POST", path)).toEqual({ openid: refuser, lifted: null });
    expect(await suppressionOf(refuser)).toBeNull();
    const stranger = t.client.api("POST", "/api/subscribers/oNobodyKnown01/unsuppress");
    await expect(stranger).rejects.toMatchObject({ status: 404 } satisfies Partial<HttpStatusError>);
    const bad = t.client.api("POST", "/api/subscribers/bad%20id/unsuppress");
    await expect(bad).rejects.toMatchObject({ status: 400 });
  });
});
