import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { SyncMessage } from "../../contracts/messages.ts";
import type { SyncQueue } from "../../core/ports.ts";

/** The follower syncs' queue: one message per sync at a time, holding the sync's lease. */
export class SqsSyncQueue implements SyncQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(message: SyncMessage, delaySeconds: number): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(message),
        ...(delaySeconds > 0 ? { DelaySeconds: delaySeconds } : {}),
      }),
    );
  }
}
