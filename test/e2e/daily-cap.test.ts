/** The daily cap of paid posts (MAX_POSTS_PER_SUBSCRIBER_PER_DAY) against the whole local stack. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openids, startTestApp, type TestApp } from "./harness.ts";
import { paidPost as paidPostTo } from "./paid-post.ts";

let t: TestApp;
const audience = openids("Cap", 6);

beforeAll(async () => {
  t = await startTestApp({ overrides: { MAX_POSTS_PER_SUBSCRIBER_PER_DAY: "2" } });
  await t.seed(audience.map((openid) => ({ openid })));
});
afterAll(async () => {
  await t?.stop();
});

const paidPost = (outTradeNo: string) => paidPostTo(t, audience, outTradeNo);

describe("a cap of 2 paid posts per subscriber per day", () => {
  it("sends the first two posts to everyone and skips everyone in the third with `daily cap`", async () => {
    for (const no of ["CAP0000001", "CAP0000002"]) {
      const { status, got } = await paidPost(no);
      expect(status).toMatchObject({ status: "done", total: 6, sent: 6, skipped: 0, bySkipReason: {} });
      for (const id of audience) expect(got(id), id).toBe(1);
    }
    const third = await paidPost("CAP0000003");
    expect(third.status).toMatchObject({
      status: "done",
      total: 6,
      sent: 0,
      failed: 0,
      skipped: 6,
      pending: 0,
      bySkipReason: { "daily cap": 6 },
    });
    for (const id of audience) {
      expect(third.got(id), id).toBe(0);
      // Skipped before any WeChat call.
      expect(third.called(id), id).toBe(0);
      // Two slots, one per delivered post, no more.
      const item = await t.subscriber(id);
      const slots = [item?.capSlot0, item?.capSlot1].map((s) => (s as { broadcastId: string }).broadcastId);
      expect(slots.sort()).toEqual(["post-CAP0000001", "post-CAP0000002"]);
      expect(item).not.toHaveProperty("capSlot2");
    }
  });
});
