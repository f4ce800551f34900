import { beforeEach, describe, expect, it } from "vitest";
import { acceptPayment } from "../../functions/core/accept-payment.ts";
import { blocklistCheck, parseBlocklist } from "../../functions/core/blocklist.ts";
import { ConflictError, NotFoundError } from "../../functions/core/errors.ts";
import { approvePost, rejectPost } from "../../functions/core/post-review.ts";
import { paidNotice } from "../fixtures/payment-notice.ts";
import { FakeClock, MemoryBroadcastStore, message, RecordingQueues } from "./fakes.ts";
import { MemoryReviewPosts, RecordingEvents } from "./review-fakes.ts";

const merchant = { appId: "wxAPP", mchId: "1900000001" };
const notice = paidNotice;

let broadcasts: MemoryBroadcastStore;
let posts: MemoryReviewPosts;
let queues: RecordingQueues;
let events: RecordingEvents;
let clock: FakeClock;
const check = blocklistCheck(parseBlocklist("加微信, /v\\d+/"));
const payDeps = () => ({
  posts,
  broadcasts,
  fanoutQueue: queues,
  clock,
  composeMessage: () => message,
  review: { check, posts, events },
});
const reviewDeps = () => ({
  posts,
  broadcasts,
  fanoutQueue: queues,
  events,
  clock,
  composeMessage: () => message,
});

async function register(outTradeNo: string, content: string) {
  await posts.create({
    postId: outTradeNo,
    outTradeNo,
    amount: 500,
    content,
    status: "PENDING",
    createdAt: 0,
  });
}

beforeEach(async () => {
  broadcasts = new MemoryBroadcastStore();
  posts = new MemoryReviewPosts(broadcasts);
  queues = new RecordingQueues();
  events = new RecordingEvents();
  clock = new FakeClock();
  await register("HELD1", "出售叉车，加微信详谈");
  await register("CLEAN1", "出售叉车");
});

describe("a paid post the content check holds", () => {
  it("is paid once, with its reason, no broadcast and no fan-out, and the business app is told", async () => {
    expect(await acceptPayment(notice("HELD1"), merchant, payDeps())).toEqual({
      kind: "held",
      broadcastId: "post-HELD1",
    });
    expect(await posts.get("HELD1")).toMatchObject({
      status: "PAID",
      paidAt: clock.t,
      review: "held",
      reviewReason: 'blocked word "加微信"',
    });
    expect(broadcasts.items.size).toBe(0);
    expect(queues.pages).toEqual([]);
    expect(events.events).toEqual([
      expect.objectContaining({
        eventId: "post-HELD1.held",
        event: "held",
        status: "held",
        outTradeNo: "HELD1",
      }),
    ]);
  });

  it("stays held under repeated notifies, which tell the same held event again and start nothing", async () => {
    await acceptPayment(notice("HELD1"), merchant, payDeps());
    clock.t += 60_000;
    expect(await acceptPayment(notice("HELD1"), merchant, payDeps())).toMatchObject({ kind: "duplicate" });
    expect(broadcasts.items.size).toBe(0);
    expect(queues.pages).toEqual([]);
    expect(events.events).toHaveLength(2);
    expect(events.events[1]).toEqual(events.events[0]);
  });

  it("goes out at once when the check lets it through", async () => {
    expect(await acceptPayment(notice("CLEAN1"), merchant, payDeps())).toMatchObject({ kind: "started" });
    expect(queues.pages).toEqual([{ broadcastId: "post-CLEAN1", page: 0, cursor: null }]);
    expect(events.events).toEqual([]);
  });
});

describe("approvePost", () => {
  beforeEach(async () => {
    await acceptPayment(notice("HELD1"), merchant, payDeps());
  });

  it("creates the broadcast and starts its fan-out once; a second approve is a conflict", async () => {
    clock.t += 5_000;
    expect(await approvePost("HELD1", reviewDeps())).toEqual({ broadcastId: "post-HELD1" });
    expect(await posts.get("HELD1")).toMatchObject({ review: "approved", reviewedAt: clock.t });
    expect(broadcasts.items.get("post-HELD1")?.outTradeNo).toBe("HELD1");
    expect(queues.pages).toEqual([{ broadcastId: "post-HELD1", page: 0, cursor: null }]);
    await expect(approvePost("HELD1", reviewDeps())).rejects.toThrow(ConflictError);
    await expect(approvePost("HELD1", reviewDeps())).rejects.toThrow("approved already");
    expect(broadcasts.items.size).toBe(1);
  });

  it("on a second approve, re-sends page 0 only if the first fan-out message was lost", async () => {
    await approvePost("HELD1", reviewDeps());
    await expect(approvePost("HELD1", reviewDeps())).rejects.toThrow(ConflictError);
    // Within the grace period the first message may still be on its way.
    expect(queues.pages).toHaveLength(1);
    clock.t += 10 * 60_000;
    await expect(approvePost("HELD1", reviewDeps())).rejects.toThrow(ConflictError);
    expect(queues.pages).toHaveLength(2);
    await broadcasts.recordPage("post-HELD1", 0, 10, true);
    await expect(approvePost("HELD1", reviewDeps())).rejects.toThrow(ConflictError);
    expect(queues.pages).toHaveLength(2);
  });

  it("loses to a reject that lands between its read and its write, starting nothing", async () => {
    posts.beforeDecision = () => posts.reject("HELD1", "spam", clock.now()).then(() => undefined);
    await expect(approvePost("HELD1", reviewDeps())).rejects.toThrow("rejected");
    expect(broadcasts.items.size).toBe(0);
    expect(queues.pages).toEqual([]);
  });

  it("is a conflict for a post that was not held, and not found for an unknown one", async () => {
    await acceptPayment(notice("CLEAN1"), merchant, payDeps());
    await expect(approvePost("CLEAN1", reviewDeps())).rejects.toThrow("not held for review");
    await register("UNPAID", "叉车");
    await expect(approvePost("UNPAID", reviewDeps())).rejects.toThrow("not paid yet");
    await expect(approvePost("NOPE", reviewDeps())).rejects.toThrow(NotFoundError);
  });
});

describe("rejectPost", () => {
  beforeEach(async () => {
    await acceptPayment(notice("HELD1"), merchant, payDeps());
    events.events.length = 0;
  });

  it("ends it rejected with the reason, sends nothing, tells the business app; again is a conflict", async () => {
    clock.t += 1_000;
    await rejectPost("HELD1", "contact details in an ad", reviewDeps());
    expect(await posts.get("HELD1")).toMatchObject({
      review: "rejected",
      rejectionReason: "contact details in an ad",
      reviewedAt: clock.t,
    });
    expect(broadcasts.items.size).toBe(0);
    expect(queues.pages).toEqual([]);
    expect(events.events).toEqual([
      expect.objectContaining({ eventId: "post-HELD1.rejected", event: "rejected", status: "rejected" }),
    ]);
    await expect(rejectPost("HELD1", "again", reviewDeps())).rejects.toThrow(ConflictError);
    await expect(approvePost("HELD1", reviewDeps())).rejects.toThrow("never sent");
    expect((await posts.get("HELD1"))?.rejectionReason).toBe("contact details in an ad");
    // The repeat told the same event again, in case a crash came between the write and the telling.
    expect(events.events).toHaveLength(2);
    expect(events.events[1]).toEqual(events.events[0]);
  });

  it("a crash before telling leaves it rejected, and the repeat tells it", async () => {
    events.failNext = true;
    await expect(rejectPost("HELD1", "spam", reviewDeps())).rejects.toThrow("unreachable");
    await expect(rejectPost("HELD1", "spam", reviewDeps())).rejects.toThrow(ConflictError);
    expect(events.events.map((e) => e.eventId)).toEqual(["post-HELD1.rejected"]);
  });

  it("loses to an approve that lands first", async () => {
    posts.beforeDecision = async () => {
      await approvePost("HELD1", reviewDeps());
    };
    await expect(rejectPost("HELD1", "spam", reviewDeps())).rejects.toThrow("approved already");
    expect((await posts.get("HELD1"))?.review).toBe("approved");
  });
});
