/**
 * Delivering broadcast events to the business app's webhook, at least once: each event is one
 * webhook-queue message, kept on the queue until a try succeeds. A failed try hides the message for
 * a growing visibility timeout (SQS allows up to 12 h); after about 24 h of tries its receives run
 * out and SQS moves it to the dead-letter queue, whose alarm pages the operator.
 */
import type { BroadcastEvent } from "../contracts/messages.ts";
import type { WebhookPoster } from "./ports.ts";

/** The wait after the first failed try; each later one doubles, up to WEBHOOK_MAX_RETRY_SECONDS. */
export const WEBHOOK_RETRY_BASE_SECONDS = 30;
/** The longest wait between tries: a receiver back after an outage hears within 2 h. */
export const WEBHOOK_MAX_RETRY_SECONDS = 2 * 3600;

/**
 * Seconds the message stays hidden after receive `receiveCount` (from 1) failed: `base`, 2×, 4×…,
 * at most 2 h. With the default 30 s: 30 s … 64 min over the first 8 tries, then every 2 h.
 */
export function webhookRetryDelaySeconds(
  receiveCount: number,
  baseSeconds = WEBHOOK_RETRY_BASE_SECONDS,
): number {
  return Math.min(baseSeconds * 2 ** Math.max(0, receiveCount - 1), WEBHOOK_MAX_RETRY_SECONDS);
}

/** How long an event is tried for when the queue gives it `maxReceiveCount` receives, in seconds. */
export function webhookRetrySpanSeconds(
  maxReceiveCount: number,
  baseSeconds = WEBHOOK_RETRY_BASE_SECONDS,
): number {
  let span = 0;
  for (let receive = 1; receive < maxReceiveCount; receive += 1)
    span += webhookRetryDelaySeconds(receive, baseSeconds);
  return span;
}

export interface WebhookDeliveryOptions {
  /** SQS's receive of this message, from 1 (ApproximateReceiveCount). */
  readonly receiveCount: number;
  /** The queue's redrive limit: the receive that is the last try. */
  readonly maxReceiveCount: number;
  readonly retryBaseSeconds?: number;
}

export type WebhookOutcome =
  | { readonly kind: "delivered" }
  /** Try again once the message has been hidden `delaySeconds`. */
  | { readonly kind: "retry"; readonly delaySeconds: number; readonly reason: string }
  /** The last receive failed too: the message goes to the dead-letter queue. */
  | { readonly kind: "gave up"; readonly reason: string };

/** One try of one event at the webhook, and what the queue does with its message next. */
export async function deliverWebhook(
  event: BroadcastEvent,
  poster: WebhookPoster,
  opts: WebhookDeliveryOptions,
): Promise<WebhookOutcome> {
  const attempt = await poster.post(event);
  if (attempt.delivered) return { kind: "delivered" };
  if (opts.receiveCount >= opts.maxReceiveCount) return { kind: "gave up", reason: attempt.reason };
  return {
    kind: "retry",
    delaySeconds: webhookRetryDelaySeconds(opts.receiveCount, opts.retryBaseSeconds),
    reason: attempt.reason,
  };
}
