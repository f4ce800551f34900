/**
 * The webhook queue and its consumer against the SQS emulator and a local receiver: the real
 * adapter enqueues, the real handler delivers signed, a failed try comes back after its short
 * backoff (not the queue's long visibility timeout), and an event nobody takes ends in the DLQ.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqsWebhookQueue } from "../../functions/adapters/sqs/webhook-queue.ts";
import { verifyWebhookSignature } from "../../functions/adapters/webhook/signature.ts";
import { postEvent } from "../../functions/core/broadcast-events.ts";
import { localSqsClient } from "../../infra/local/aws-clients.ts";
import { type Emulators, startEmulators } from "../../infra/local/emulators.ts";

const SECRET = "integration-webhook-secret-01";
/** Long enough that a retry seen within the test can only come from the handler's backoff. */
const QUEUE_VISIBILITY_S = 600;
const MAX_RECEIVES = 3;

let emulators: Emulators;
let sqs: SQSClient;
let server: Server;
let handler: (event: SQSEvent) => Promise<SQSBatchResponse>;
let queueUrl: string;
let deadLetterUrl: string;
/** How many tries of each eventId to fail; absent: fail every one. */
const failFirst = new Map<string, number>();
const tries: { eventId: string; body: string; valid: boolean; status: number }[] = [];

beforeAll(async () => {
  emulators = await startEmulators({
    queueOverrides: {
      webhook: { visibilityTimeoutSeconds: QUEUE_VISIBILITY_S, maxReceiveCount: MAX_RECEIVES },
    },
  });
  sqs = localSqsClient(emulators.awsEnv);
  queueUrl = emulators.awsEnv.QUEUE_URL_WEBHOOK as string;
  deadLetterUrl = emulators.awsEnv.QUEUE_URL_WEBHOOK_DLQ as string;
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const eventId = (JSON.parse(body) as { eventId: string }).eventId;
      const valid = verifyWebhookSignature(
        SECRET,
        {
          timestamp: req.headers["x-fanout-timestamp"] as string,
          signature: req.headers["x-fanout-signature"] as string,
          body,
        },
        Date.now(),
      );
      const before = tries.filter((t) => t.eventId === eventId).length;
      const status = before < (failFirst.get(eventId) ?? Number.POSITIVE_INFINITY) ? 500 : 200;
      tries.push({ eventId, body, valid, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  Object.assign(process.env, emulators.awsEnv, {
    BROADCAST_WEBHOOK_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    BROADCAST_WEBHOOK_SECRET: SECRET,
    BROADCAST_WEBHOOK_RETRY_SECONDS: "1",
  });
  ({ handler } = await import("../../functions/webhook.ts"));
}, 60_000);
afterAll(async () => {
  sqs?.destroy();
  await new Promise((resolve) => server?.close(resolve));
  await emulators?.stop();
});

/** One poll as Lambda's event source mapping does it: receive, invoke, delete what succeeded. */
async function pollOnce(): Promise<number> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 5,
      WaitTimeSeconds: 1,
      MessageSystemAttributeNames: ["ApproximateReceiveCount"],
    }),
  );
  if (Messages.length === 0) return 0;
  const records = Messages.map(
    (m) =>
      ({
        messageId: m.MessageId,
        receiptHandle: m.ReceiptHandle,
        body: m.Body,
        attributes: { ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? "1" },
      }) as unknown as SQSRecord,
  );
  const { batchItemFailures } = await handler({ Records: records });
  const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
  const done = Messages.filter((m) => !failed.has(m.MessageId as string));
  if (done.length > 0)
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
      }),
    );
  return Messages.length;
}

async function pollUntil(done: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 120 && !(await done()); i += 1) await pollOnce();
  if (!(await done())) throw new Error(`not reached; tries so far: ${JSON.stringify(tries)}`);
}

async function inDeadLetter(): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: deadLetterUrl,
      AttributeNames: ["ApproximateNumberOfMessages"],
    }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
}

describe("the webhook queue and function", () => {
  it("delivers an event signed; a failed try returns after its backoff with the same eventId and body", async () => {
    const events = new SqsWebhookQueue(sqs, queueUrl);
    const event = postEvent("held", "INT0000001", Date.UTC(2026, 11, 1));
    failFirst.set(event.eventId, 2);
    await events.emit(event);
    await pollUntil(() => tries.some((t) => t.eventId === event.eventId && t.status === 200));
    const mine = tries.filter((t) => t.eventId === event.eventId);
    expect(mine.map((t) => t.status)).toEqual([500, 500, 200]);
    expect(mine.every((t) => t.valid)).toBe(true);
    expect(new Set(mine.map((t) => t.body))).toEqual(new Set([JSON.stringify(event)]));
    // Delivered: deleted, nothing left to try.
    expect(await pollOnce()).toBe(0);
    expect(await inDeadLetter()).toBe(0);
  });

  it("refuses an event that drifted from the contract where it is made", async () => {
    const events = new SqsWebhookQueue(sqs, queueUrl);
    await expect(events.emit({ ...postEvent("held", "INT0000002", 0), sent: -1 })).rejects.toThrow();
  });

  it("moves an event the receiver never takes to the dead-letter queue after its receives", async () => {
    const event = postEvent("rejected", "INT0000003", Date.UTC(2026, 11, 1));
    await new SqsWebhookQueue(sqs, queueUrl).emit(event);
    await pollUntil(async () => (await inDeadLetter()) === 1);
    const mine = tries.filter((t) => t.eventId === event.eventId);
    expect(mine).toHaveLength(MAX_RECEIVES);
    expect(mine.every((t) => t.valid && t.status === 500)).toBe(true);
  });
});
