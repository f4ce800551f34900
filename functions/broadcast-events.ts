import type { SQSClient } from "@aws-sdk/client-sqs";
import { createSqsClient } from "./adapters/sqs/queues.ts";
import { SqsWebhookQueue } from "./adapters/sqs/webhook-queue.ts";
import type { BroadcastEvents } from "./core/ports.ts";

/** The BroadcastEvents port as a handler holds it: `enabled` false when the stage has no webhook. */
export interface WebhookEvents extends BroadcastEvents {
  readonly enabled: boolean;
}

/** What a handler's config gives for its events (functions/config.ts `broadcastEvents`). */
export interface BroadcastEventsConfig {
  readonly QUEUE_URL_WEBHOOK: string;
  readonly BROADCAST_WEBHOOK_URL?: string | undefined;
}

/**
 * Where a handler's paid-post broadcast events go: onto the webhook queue, for the webhook function
 * to deliver; dropped when the stage has no BROADCAST_WEBHOOK_URL (nobody to tell, nothing queued).
 */
export function broadcastEventsFrom(
  config: BroadcastEventsConfig,
  sqs: SQSClient = createSqsClient(),
): WebhookEvents {
  if (!config.BROADCAST_WEBHOOK_URL) return { enabled: false, emit: async () => {} };
  const queue = new SqsWebhookQueue(sqs, config.QUEUE_URL_WEBHOOK);
  return { enabled: true, emit: (event) => queue.emit(event) };
}
