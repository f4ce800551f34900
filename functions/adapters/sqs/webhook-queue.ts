import type { SQSClient } from "@aws-sdk/client-sqs";
import { type BroadcastEvent, broadcastEvent } from "../../contracts/messages.ts";
import type { BroadcastEvents } from "../../core/ports.ts";
import { sendJson } from "./queues.ts";

/**
 * The webhook queue as the BroadcastEvents port: each event is one message, which the webhook
 * function keeps on the queue until the business app has it (core/webhook-delivery.ts).
 */
export class SqsWebhookQueue implements BroadcastEvents {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /** Checked against the contract here, so an event that drifted from it fails where it was made. */
  async emit(event: BroadcastEvent): Promise<void> {
    await sendJson(this.sqs, this.queueUrl, broadcastEvent.parse(event));
  }
}
