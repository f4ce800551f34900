import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { createSqsClient } from "./adapters/sqs/queues.ts";
import { SqsWebhookQueue } from "./adapters/sqs/webhook-queue.ts";
import { WebhookClient } from "./adapters/webhook/webhook-client.ts";
import { systemClock } from "./clock.ts";
import { loadConfig, webhookSchema } from "./config.ts";
import { webhookMessage } from "./contracts/messages.ts";
import { deliverWebhook, WebhookGaveUpError } from "./core/webhook-delivery.ts";
import { logger } from "./observability.ts";
import { consumeRecords } from "./queue-consumer.ts";

const config = loadConfig(webhookSchema);
const queue = new SqsWebhookQueue(createSqsClient(), config.QUEUE_URL_WEBHOOK, systemClock);
const poster =
  config.BROADCAST_WEBHOOK_URL && config.BROADCAST_WEBHOOK_SECRET
    ? new WebhookClient({
        url: config.BROADCAST_WEBHOOK_URL,
        secret: config.BROADCAST_WEBHOOK_SECRET,
        timeoutMs: config.BROADCAST_WEBHOOK_TIMEOUT_MS,
        clock: systemClock,
      })
    : undefined;

async function handleRecord(record: SQSRecord): Promise<void> {
  const message = webhookMessage.parse(JSON.parse(record.body));
  const log = { eventId: message.event.eventId, event: message.event.event, attempt: message.attempt };
  // Queued before the stage's webhook was removed: nobody to tell any more.
  if (!poster) return logger.info("broadcast event dropped: no BROADCAST_WEBHOOK_URL", log);
  let outcome: Awaited<ReturnType<typeof deliverWebhook>>;
  try {
    outcome = await deliverWebhook(
      message,
      { poster, queue, clock: systemClock },
      { retryBaseSeconds: config.BROADCAST_WEBHOOK_RETRY_SECONDS },
    );
  } catch (error) {
    if (error instanceof WebhookGaveUpError)
      logger.warn("broadcast event given up: its last receives, then the dead-letter queue", {
        ...log,
        error: error.message,
      });
    throw error;
  }
  if (outcome.kind === "delivered") logger.info("broadcast event delivered", log);
  else logger.warn("broadcast event not delivered; tried again later", { ...log, ...outcome });
}

/** Webhook-queue consumer: each record is one try of one broadcast event at the business app. */
export function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  return consumeRecords(event, handleRecord, {
    what: "broadcast event delivery",
    expected: (error) => error instanceof WebhookGaveUpError,
    settle: () => {},
  });
}
