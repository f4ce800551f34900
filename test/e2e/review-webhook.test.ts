/**
 * Review of paid posts and the signed webhook, on the whole local stack: a post with a blocked word
 * is paid but held, approving sends it once, a rejected one never sends, and every broadcast event
 * reaches a receiver that fails its first tries, signed, each retry with the same eventId.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyWebhookSignature } from "../../functions/adapters/webhook/signature.ts";
import { type BroadcastEvent, broadcastEvent } from "../../functions/contracts/messages.ts";
import { registerPaidPost } from "../../infra/local/app-traffic.ts";
import { signNotify } from "../../infra/local/wechatpay-signer.ts";
import { gained, openids, startTestApp, type TestApp } from "./harness.ts";

const SECRET = "e2e-webhook-secret-0123456789";
/** Tries of each event the receiver answers 503 before it takes one. */
const FAILED_TRIES = 2;

interface Received {
  readonly event: BroadcastEvent;
  readonly body: string;
  readonly validSignature: boolean;
  readonly answered: number;
}

/** The business app's side: verifies each delivery, and fails the first tries of every event. */
class Receiver {
  readonly received: Received[] = [];
  private readonly server: Server;
  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const validSignature = verifyWebhookSignature(
          SECRET,
          {
            timestamp: req.headers["x-fanout-timestamp"] as string | undefined,
            signature: req.headers["x-fanout-signature"] as string | undefined,
            body,
          },
          Date.now(),
        );
        const event = broadcastEvent.parse(JSON.parse(body));
        const before = this.received.filter((r) => r.event.eventId === event.eventId).length;
        const answered = before < FAILED_TRIES ? 503 : 204;
        this.received.push({ event, body, validSignature, answered });
        res.writeHead(answered).end();
      });
    });
  }
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/fanout-events`;
  }
  delivered(eventId: string): Received[] {
    return this.received.filter((r) => r.event.eventId === eventId && r.answered === 204);
  }
  tries(eventId: string): Received[] {
    return this.received.filter((r) => r.event.eventId === eventId);
  }
  async waitFor(eventIds: readonly string[]): Promise<void> {
    for (let i = 0; i < 600 && !eventIds.every((id) => this.delivered(id).length > 0); i += 1)
      await sleep(100);
    const missing = eventIds.filter((id) => this.delivered(id).length === 0);
    if (missing.length > 0) throw new Error(`events never delivered: ${missing.join(", ")}`);
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let t: TestApp;
const receiver = new Receiver();
const audience = openids("Rev", 30);
const BLOCKED = "出售二手叉车，加微信 abc123 详谈";

beforeAll(async () => {
  const url = await receiver.listen();
  t = await startTestApp({
    overrides: {
      POST_REVIEW: "keywords",
      POST_BLOCKED_WORDS: "加微信, /v\\d{3,}/",
      BROADCAST_WEBHOOK_URL: url,
      BROADCAST_WEBHOOK_SECRET: SECRET,
      BROADCAST_WEBHOOK_RETRY_SECONDS: "1",
    },
  });
  await t.seed(audience.map((openid) => ({ openid })));
});
afterAll(async () => {
  await t?.stop();
  await receiver.close();
});

async function pay(outTradeNo: string, content: string) {
  const tx = await registerPaidPost(t.client, t.merchant, { outTradeNo, amount: 500, content });
  const answer = await t.client.notify(signNotify(t.merchant, tx));
  expect(answer.status).toBe(204);
  return tx;
}

/** The admin API's HTTP status for an operator's call. */
async function statusOf(method: string, path: string, body?: unknown): Promise<number> {
  const res = await fetch(`${t.app.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${t.app.adminToken}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await res.arrayBuffer();
  return res.status;
}

describe("review of paid posts", () => {
  it("holds a post with a blocked word after its payment: nothing sent, repeated notifies change nothing", async () => {
    const before = t.received();
    const tx = await pay("REV0000001", BLOCKED);
    expect((await t.client.notify(signNotify(t.merchant, tx))).status).toBe(204);
    // The held event on the webhook proves the notify's work is done; nothing went out meanwhile.
    await receiver.waitFor(["post-REV0000001.held"]);
    const post = await t.client.getPost("REV0000001");
    expect(post).toMatchObject({
      payment: "PAID",
      status: "held",
      reviewReason: 'blocked word "加微信"',
      sent: 0,
    });
    const queue = await t.client.api<{ items: { outTradeNo: string }[] }>("GET", "/api/review");
    expect(queue.items.map((p) => p.outTradeNo)).toContain("REV0000001");
    for (const id of audience) expect(gained(before, t.received(), id)).toBe(0);
  });

  it("keeps approve and reject from the business app's token", async () => {
    for (const action of ["approve", "reject"]) {
      const res = await fetch(`${t.app.baseUrl}/api/posts/REV0000001/${action}`, {
        method: "POST",
        headers: { authorization: `Bearer ${t.app.appToken}`, "content-type": "application/json" },
        body: JSON.stringify({ reason: "no" }),
      });
      expect(res.status, action).toBe(403);
    }
    expect((await t.client.getPost("REV0000001")).status).toBe("held");
  });

  it("approve sends it to everyone once; a second approve gets 409", async () => {
    const before = t.received();
    expect(await statusOf("POST", "/api/posts/REV0000001/approve")).toBe(202);
    const done = await t.client.waitForBroadcast("REV0000001");
    expect(done).toMatchObject({ status: "done", total: 30, sent: 30 });
    expect(await statusOf("POST", "/api/posts/REV0000001/approve")).toBe(409);
    await receiver.waitFor(["post-REV0000001.settled"]);
    for (const id of audience) expect(gained(before, t.received(), id)).toBe(1);
  });

  it("a rejected post never sends; approving or rejecting it again gets 409", async () => {
    const before = t.received();
    await pay("REV0000002", "急售 V12345 联系");
    await receiver.waitFor(["post-REV0000002.held"]);
    const reject = () => statusOf("POST", "/api/posts/REV0000002/reject", { reason: "contact details" });
    expect(await statusOf("POST", "/api/posts/REV0000002/reject", { reason: " " })).toBe(400);
    expect(await reject()).toBe(200);
    expect(await reject()).toBe(409);
    expect(await statusOf("POST", "/api/posts/REV0000002/approve")).toBe(409);
    await receiver.waitFor(["post-REV0000002.rejected"]);
    expect(await t.client.getPost("REV0000002")).toMatchObject({
      status: "rejected",
      rejectionReason: "contact details",
      reviewReason: "blocked pattern /v\\d{3,}/",
      broadcastId: null,
    });
    for (const id of audience) expect(gained(before, t.received(), id)).toBe(0);
  });

  it("sends a post without a blocked word at once", async () => {
    await pay("REV0000003", "出售二手叉车一台");
    expect(await t.client.waitForBroadcast("REV0000003")).toMatchObject({ status: "done", sent: 30 });
    await receiver.waitFor(["post-REV0000003.settled"]);
  });
});

describe("the webhook", () => {
  it("delivers each event signed, after the receiver's failed tries, every try carrying the same eventId and body", async () => {
    const ids = [
      "post-REV0000001.held",
      "post-REV0000001.settled",
      "post-REV0000002.held",
      "post-REV0000002.rejected",
      "post-REV0000003.settled",
    ];
    await receiver.waitFor(ids);
    for (const id of ids) {
      const tries = receiver.tries(id);
      expect(tries.length, id).toBeGreaterThan(FAILED_TRIES);
      expect(tries.slice(0, FAILED_TRIES).map((r) => r.answered)).toEqual([503, 503]);
      for (const r of tries) expect(r.validSignature, id).toBe(true);
      // A retry (and the repeated notify's telling) is the same event: the receiver dedups by eventId.
      expect(new Set(tries.map((r) => r.body)).size, id).toBe(1);
    }
    expect(receiver.delivered("post-REV0000001.settled")[0]?.event).toMatchObject({
      event: "settled",
      outTradeNo: "REV0000001",
      status: "done",
      total: 30,
      sent: 30,
      failed: 0,
    });
    // No event for a post that is not one of these, and none the receiver could not verify.
    expect(receiver.received.every((r) => r.validSignature)).toBe(true);
    expect(new Set(receiver.received.map((r) => r.event.eventId))).toEqual(new Set(ids));
  });
});
