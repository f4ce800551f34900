import type { SQSClient } from "@aws-sdk/client-sqs";
import type { SyncMessage } from "../../contracts/messages.ts";
import type { SyncQueue } from "../../core/ports.ts";
import { sendJson } from "./queues.ts";

/** The follower syncs' queue: one message per sync at a time, holding the sync's lease. */
export class SqsSyncQueue implements SyncQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(message: SyncMessage, delaySeconds: number): Promise<void> {
    await sendJson(this.sqs, this.queueUrl, message, delaySeconds);
  }
}
