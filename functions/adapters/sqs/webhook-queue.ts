import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { type BroadcastEvent, broadcastEvent, type WebhookMessage } from "../../contracts/messages.ts";
import type { BroadcastEvents, Clock, WebhookQueue } from "../../core/ports.ts";

/**
 * The webhook queue: where broadcast events wait for the webhook function, and where a failed try
 * comes back later. As the BroadcastEvents port, an event becomes its first try.
 */
export class SqsWebhookQueue implements WebhookQueue, BroadcastEvents {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly clock: Clock,
  ) {}

  /** Checked against the contract here, so an event that drifted from it fails where it was made. */
  async emit(event: BroadcastEvent): Promise<void> {
    await this.send({ event: broadcastEvent.parse(event), attempt: 1, firstAttemptAt: this.clock.now() }, 0);
  }

  async send(message: WebhookMessage, delaySeconds: number): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(message),
        ...(delaySeconds > 0 ? { DelaySeconds: delaySeconds } : {}),
      }),
    );
  }
}
