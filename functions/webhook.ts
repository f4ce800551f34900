import { ChangeMessageVisibilityCommand } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { queues } from "../common/definitions.ts";
import { createSqsClient } from "./adapters/sqs/queues.ts";
import { WebhookClient } from "./adapters/webhook/webhook-client.ts";
import { systemClock } from "./clock.ts";
import { loadConfig, webhookSchema } from "./config.ts";
import { broadcastEvent } from "./contracts/messages.ts";
import { deliverWebhook } from "./core/webhook-delivery.ts";
import { logger } from "./observability.ts";
import { consumeRecords } from "./queue-consumer.ts";

const config = loadConfig(webhookSchema);
const sqs = createSqsClient();
const poster =
  config.BROADCAST_WEBHOOK_URL && config.BROADCAST_WEBHOOK_SECRET
    ? new WebhookClient({
        url: config.BROADCAST_WEBHOOK_URL,
        secret: config.BROADCAST_WEBHOOK_SECRET,
        timeoutMs: config.BROADCAST_WEBHOOK_TIMEOUT_MS,
        clock: systemClock,
      })
    : undefined;

/** A failed try whose message stays on the queue, hidden for its backoff: an ordinary retry. */
class WebhookRetryError extends Error {
  override readonly name = "WebhookRetryError";
}

async function handleRecord(record: SQSRecord): Promise<void> {
  const event = broadcastEvent.parse(JSON.parse(record.body));
  const receiveCount = Number(record.attributes.ApproximateReceiveCount);
  const log = { eventId: event.eventId, event: event.event, receiveCount };
  // Queued before the stage's webhook was removed: nobody to tell any more.
  if (!poster) return logger.info("broadcast event dropped: no BROADCAST_WEBHOOK_URL", log);
  const outcome = await deliverWebhook(event, poster, {
    receiveCount,
    maxReceiveCount: queues.webhook.maxReceiveCount,
    retryBaseSeconds: config.BROADCAST_WEBHOOK_RETRY_SECONDS,
  });
  if (outcome.kind === "delivered") return logger.info("broadcast event delivered", log);
  if (outcome.kind === "gave up")
    throw new Error(
      `broadcast event ${event.eventId} undelivered after ${receiveCount} tries: ${outcome.reason}`,
    );
  await sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: config.QUEUE_URL_WEBHOOK,
      ReceiptHandle: record.receiptHandle,
      VisibilityTimeout: outcome.delaySeconds,
    }),
  );
  logger.warn("broadcast event not delivered; tried again later", { ...log, ...outcome });
  throw new WebhookRetryError(outcome.reason);
}

/**
 * Webhook-queue consumer: each record is one broadcast event for the business app, deleted once it
 * answered 2xx; a failure keeps it, hidden for its backoff, until the dead-letter queue takes it.
 */
export function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  return consumeRecords(event, handleRecord, {
    what: "broadcast event delivery",
    expected: (error) => error instanceof WebhookRetryError,
    settle: () => {},
  });
}
