/**
 * Delivering broadcast events to the business app's webhook, at least once: each try is one queue
 * message; a failed one comes back as a new message with a growing delay until a day has passed
 * since the first, then stays on the queue until SQS moves it to the dead-letter queue.
 */
import type { WebhookMessage } from "../contracts/messages.ts";
import type { Clock, WebhookPoster, WebhookQueue } from "./ports.ts";

/** The first retry's delay: each later one doubles. */
export const WEBHOOK_RETRY_BASE_SECONDS = 10;
/** SQS delays a message by at most 15 minutes: the retries' ceiling. */
const MAX_DELAY_SECONDS = 900;
/** How long an event is retried for, from its first try. */
export const WEBHOOK_GIVE_UP_MS = 24 * 3600_000;

/**
 * Seconds before the try after try `attempt` (from 1) failed: `base`, 2×, 4×… up to 15 minutes. With
 * the default 10 s: 10, 20, 40, 80, 160, 320, 640, then every 900 s, about 100 tries in a day.
 */
export function webhookRetryDelaySeconds(attempt: number, baseSeconds = WEBHOOK_RETRY_BASE_SECONDS): number {
  return Math.min(baseSeconds * 2 ** Math.max(0, attempt - 1), MAX_DELAY_SECONDS);
}

/** Raised for an event still not delivered a day after its first try: SQS's redrive takes it from here. */
export class WebhookGaveUpError extends Error {
  override readonly name = "WebhookGaveUpError";
}

export interface WebhookDeliveryDeps {
  readonly poster: WebhookPoster;
  readonly queue: WebhookQueue;
  readonly clock: Clock;
}

export interface WebhookDeliveryOptions {
  readonly retryBaseSeconds?: number;
  readonly giveUpAfterMs?: number;
}

export type WebhookOutcome =
  | { readonly kind: "delivered" }
  | { readonly kind: "retrying"; readonly delaySeconds: number; readonly reason: string };

/**
 * One try of one event. Failed, the next try is queued (before this message is deleted, so a crash
 * in between makes a duplicate, never a loss); past the day, WebhookGaveUpError leaves the message
 * on the queue, tried at each receive until it lands in the dead-letter queue.
 */
export async function deliverWebhook(
  message: WebhookMessage,
  deps: WebhookDeliveryDeps,
  opts: WebhookDeliveryOptions = {},
): Promise<WebhookOutcome> {
  const attempt = await deps.poster.post(message.event);
  if (attempt.delivered) return { kind: "delivered" };
  const delaySeconds = webhookRetryDelaySeconds(message.attempt, opts.retryBaseSeconds);
  const deadline = message.firstAttemptAt + (opts.giveUpAfterMs ?? WEBHOOK_GIVE_UP_MS);
  if (deps.clock.now() + delaySeconds * 1000 > deadline)
    throw new WebhookGaveUpError(
      `event ${message.event.eventId} not delivered in ${message.attempt} tries since ${new Date(message.firstAttemptAt).toISOString()}: ${attempt.reason}`,
    );
  await deps.queue.send({ ...message, attempt: message.attempt + 1 }, delaySeconds);
  return { kind: "retrying", delaySeconds, reason: attempt.reason };
}
