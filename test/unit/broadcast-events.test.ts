import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { queues } from "../../common/definitions.ts";
import { verifyWebhookSignature, webhookSignature } from "../../functions/adapters/webhook/signature.ts";
import { broadcastEvent as eventContract } from "../../functions/contracts/messages.ts";
import {
  announceIfSettled,
  broadcastEvent,
  broadcastEventId,
  postEvent,
} from "../../functions/core/broadcast-events.ts";
import type { WebhookAttempt } from "../../functions/core/ports.ts";
import {
  deliverWebhook,
  WEBHOOK_MAX_RETRY_SECONDS,
  webhookRetryDelaySeconds,
  webhookRetrySpanSeconds,
} from "../../functions/core/webhook-delivery.ts";
import { FakeClock, newBroadcast } from "./fakes.ts";
import { MarkedBroadcastStore, RecordingEvents } from "./review-fakes.ts";

const settledBroadcast = (id = "post-T1") =>
  newBroadcast(id, { outTradeNo: "T1", fanoutDone: true, fanoutPage: 1, total: 3, sent: 2, failed: 1 });

describe("event ids", () => {
  it("name the broadcast and the event, plus the occurrence where there can be several", () => {
    expect(broadcastEventId("post-T1", "settled")).toBe("post-T1.settled");
    expect(broadcastEventId("post-T1", "paused", "2026-12-02")).toBe("post-T1.paused.2026-12-02");
    expect(postEvent("held", "T1", 0)).toMatchObject({
      eventId: "post-T1.held",
      event: "held",
      outTradeNo: "T1",
      broadcastId: "post-T1",
      at: new Date(0).toISOString(),
    });
  });

  it("are the contract's shape, and a push task's broadcast has none", () => {
    const event = broadcastEvent("settled", settledBroadcast(), 1_000);
    expect(eventContract.parse(event)).toEqual({
      eventId: "post-T1.settled",
      event: "settled",
      outTradeNo: "T1",
      broadcastId: "post-T1",
      status: "done",
      total: 3,
      sent: 2,
      failed: 1,
      skipped: 0,
      at: new Date(1_000).toISOString(),
    });
    expect(broadcastEvent("settled", newBroadcast("task-1", { outTradeNo: undefined }), 0)).toBeUndefined();
  });
});

describe("announceIfSettled", () => {
  const setup = () => {
    const broadcasts = new MarkedBroadcastStore();
    const events = new RecordingEvents();
    const clock = new FakeClock();
    return { broadcasts, events, clock, deps: { broadcasts, marks: broadcasts, events, clock } };
  };

  it("tells a settled broadcast once, whoever sees it settled first", async () => {
    const { broadcasts, events, deps } = setup();
    broadcasts.items.set("post-T1", settledBroadcast());
    const results = await Promise.all([
      announceIfSettled("post-T1", deps),
      announceIfSettled("post-T1", deps),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await announceIfSettled("post-T1", deps)).toBe(false);
    expect(events.events.map((e) => e.eventId)).toEqual(["post-T1.settled"]);
  });

  it("tells nothing while anything is pending or the fan-out goes on", async () => {
    const { broadcasts, events, deps } = setup();
    broadcasts.items.set("post-T1", { ...settledBroadcast(), total: 4 });
    broadcasts.items.set("post-T2", { ...settledBroadcast("post-T2"), fanoutDone: false });
    expect(await announceIfSettled("post-T1", deps)).toBe(false);
    expect(await announceIfSettled("post-T2", deps)).toBe(false);
    expect(events.events).toEqual([]);
  });

  it("after a crash between claim and queue, the retry tells the same event, same `at`", async () => {
    const { broadcasts, events, clock, deps } = setup();
    broadcasts.items.set("post-T1", settledBroadcast());
    events.failNext = true;
    await expect(announceIfSettled("post-T1", deps)).rejects.toThrow();
    const claimedAt = clock.t;
    clock.t += 30_000;
    expect(await announceIfSettled("post-T1", deps)).toBe(true);
    expect(events.events).toEqual([broadcastEvent("settled", settledBroadcast(), claimedAt)]);
  });
});

describe("the signature", () => {
  const secret = "0123456789abcdef0123";
  const body = '{"eventId":"post-T1.settled"}';

  it("is sha256=<hex HMAC-SHA256 of '<timestamp>.<raw body>'>", () => {
    const expected = createHmac("sha256", secret).update(`1700000000.${body}`).digest("hex");
    expect(webhookSignature(secret, 1700000000, body)).toBe(`sha256=${expected}`);
  });

  it("verifies only the exact body, key and timestamp, within the tolerance", () => {
    const signature = webhookSignature(secret, 1700000000, body);
    const now = 1700000000_000;
    const req = { timestamp: "1700000000", signature, body };
    expect(verifyWebhookSignature(secret, req, now)).toBe(true);
    expect(verifyWebhookSignature(secret, { ...req, body: `${body} ` }, now)).toBe(false);
    expect(verifyWebhookSignature("another-secret-0123", req, now)).toBe(false);
    expect(verifyWebhookSignature(secret, { ...req, timestamp: "1700000001" }, now)).toBe(false);
    expect(verifyWebhookSignature(secret, { ...req, signature: "sha256=00" }, now)).toBe(false);
    expect(verifyWebhookSignature(secret, { ...req, signature: undefined }, now)).toBe(false);
    expect(verifyWebhookSignature(secret, req, now + 301_000)).toBe(false);
  });
});

describe("webhook delivery", () => {
  const event = broadcastEvent("settled", settledBroadcast(), 0);
  if (!event) throw new Error("no event");
  const poster = (attempt: WebhookAttempt) => ({ post: async () => attempt });
  const failing = poster({ delivered: false, reason: "the webhook answered HTTP 503" });

  it("backs off 30 s, doubling up to 2 h, and the queue's receives span about a day", () => {
    expect([1, 2, 3, 8, 9, 19].map((n) => webhookRetryDelaySeconds(n))).toEqual([
      30, 60, 120, 3840, 7200, 7200,
    ]);
    const span = webhookRetrySpanSeconds(queues.webhook.maxReceiveCount);
    expect(span).toBeGreaterThanOrEqual(24 * 3600);
    expect(span).toBeLessThan(24 * 3600 + WEBHOOK_MAX_RETRY_SECONDS);
    // SQS hides a message for at most 12 h.
    expect(WEBHOOK_MAX_RETRY_SECONDS).toBeLessThanOrEqual(12 * 3600);
  });

  it("a 2xx is delivered; a failure retries after its backoff; the last receive gives up", async () => {
    const opts = { maxReceiveCount: 20, retryBaseSeconds: 1 };
    expect(await deliverWebhook(event, poster({ delivered: true }), { ...opts, receiveCount: 1 })).toEqual({
      kind: "delivered",
    });
    expect(await deliverWebhook(event, failing, { ...opts, receiveCount: 3 })).toEqual({
      kind: "retry",
      delaySeconds: 4,
      reason: "the webhook answered HTTP 503",
    });
    expect(await deliverWebhook(event, failing, { ...opts, receiveCount: 20 })).toMatchObject({
      kind: "gave up",
    });
  });
});
