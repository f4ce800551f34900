import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoBroadcastStore } from "../../functions/adapters/dynamodb/broadcast-store.ts";
import { createDocumentClient } from "../../functions/adapters/dynamodb/client.ts";
import { DynamoPostStore } from "../../functions/adapters/dynamodb/post-store.ts";
import { ValidationError } from "../../functions/core/errors.ts";
import type { BroadcastMessage, Post } from "../../functions/core/model.ts";
import { type Emulators, startEmulators } from "../../infra/local/emulators.ts";
import { paidNotice } from "../fixtures/payment-notice.ts";

/**
 * The review's writes against DynamoDB Local: holding a paid post creates no broadcast, approve and
 * reject each win only while the post is held, the sparse byReview index is the queue, and the
 * settled event's claim is taken once.
 */

let emulators: Emulators;
let db: DynamoDBDocumentClient;
let posts: DynamoPostStore;
let broadcasts: DynamoBroadcastStore;
const message: BroadcastMessage = {
  customText: "hello",
  template: { templateId: "TPL", data: { thing1: { value: "hello" } } },
};
const notice = paidNotice;

beforeAll(async () => {
  emulators = await startEmulators();
  Object.assign(process.env, emulators.awsEnv);
  db = createDocumentClient();
  posts = new DynamoPostStore(
    db,
    emulators.awsEnv.TABLE_POSTS as string,
    emulators.awsEnv.TABLE_BROADCASTS as string,
  );
  broadcasts = new DynamoBroadcastStore(db, emulators.awsEnv.TABLE_BROADCASTS as string);
});
afterAll(async () => {
  db?.destroy();
  await emulators?.stop();
});

async function heldPost(outTradeNo: string, paidAt: number): Promise<Post> {
  const post: Post = {
    postId: outTradeNo,
    outTradeNo,
    amount: 500,
    content: "加微信",
    status: "PENDING",
    createdAt: 0,
  };
  await posts.create(post);
  expect(await posts.markPaidAndHold(post, notice(outTradeNo), 'blocked word "加微信"', paidAt)).toBe(true);
  return post;
}

describe("the review's DynamoDB writes", () => {
  it("holds a paid post once, with no broadcast; a second hold or a normal start changes nothing", async () => {
    const post = await heldPost("DDB0000001", 1_000);
    expect(await posts.get("DDB0000001")).toMatchObject({
      status: "PAID",
      paidAt: 1_000,
      review: "held",
      reviewReason: 'blocked word "加微信"',
      broadcastId: "post-DDB0000001",
    });
    expect(await broadcasts.get("post-DDB0000001")).toBeUndefined();
    expect(await posts.markPaidAndHold(post, notice("DDB0000001"), "again", 2_000)).toBe(false);
    expect(
      await posts.markPaidAndCreateBroadcast(
        post,
        notice("DDB0000001"),
        { broadcastId: "post-DDB0000001", message },
        2_000,
      ),
    ).toBe(false);
    expect((await posts.get("DDB0000001"))?.reviewReason).toBe('blocked word "加微信"');
  });

  it("approves a held post once, creating its broadcast; then neither approve nor reject wins", async () => {
    const post = await heldPost("DDB0000002", 2_000);
    const broadcast = { broadcastId: "post-DDB0000002", message };
    expect(await posts.approve(post, broadcast, 5_000)).toBe(true);
    expect(await posts.get("DDB0000002")).toMatchObject({ review: "approved", reviewedAt: 5_000 });
    expect(await broadcasts.get("post-DDB0000002")).toMatchObject({ outTradeNo: "DDB0000002", total: 0 });
    expect(await posts.approve(post, broadcast, 6_000)).toBe(false);
    expect(await posts.reject("DDB0000002", "late", 6_000)).toBe(false);
    expect((await posts.get("DDB0000002"))?.review).toBe("approved");
  });

  it("rejects a held post once; then it cannot be approved", async () => {
    const post = await heldPost("DDB0000003", 3_000);
    expect(await posts.reject("DDB0000003", "advertising", 7_000)).toBe(true);
    expect(await posts.get("DDB0000003")).toMatchObject({
      review: "rejected",
      rejectionReason: "advertising",
    });
    expect(await posts.approve(post, { broadcastId: "post-DDB0000003", message }, 8_000)).toBe(false);
    expect(await broadcasts.get("post-DDB0000003")).toBeUndefined();
    expect(await posts.reject("DDB0000003", "again", 8_000)).toBe(false);
  });

  it("lists only the posts held now, the longest waiting first, paged with its cursor", async () => {
    await heldPost("DDB0000005", 500);
    await heldPost("DDB0000004", 400);
    const first = await posts.listHeld(2, null);
    expect(first.items.map((p) => p.outTradeNo)).toEqual(["DDB0000004", "DDB0000005"]);
    expect(first.items[0]).not.toHaveProperty("reviewQueue");
    const second = await posts.listHeld(2, first.next);
    expect(second.items.map((p) => p.outTradeNo)).toEqual(["DDB0000001"]);
    await expect(posts.listHeld(2, "bm90LWEtY3Vyc29y")).rejects.toThrow(ValidationError);
  });

  it("claims a broadcast's settled event once", async () => {
    expect(await broadcasts.claimSettledEvent("post-DDB0000002", 9_000)).toBe(true);
    expect(await broadcasts.claimSettledEvent("post-DDB0000002", 9_500)).toBe(false);
    expect(await broadcasts.claimSettledEvent("post-NONE", 9_500)).toBe(false);
    await broadcasts.markSettledAnnounced("post-DDB0000002");
    expect(await broadcasts.get("post-DDB0000002")).toMatchObject({
      settledEventAt: 9_000,
      settledAnnounced: true,
    });
  });
});
