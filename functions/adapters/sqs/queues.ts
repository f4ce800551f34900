import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { TokenRefreshRequest } from "../../contracts/messages.ts";
import type { ChunkMessage, FanoutMessage } from "../../core/model.ts";
import type { FanoutQueue, SendQueue, TokenRefreshRequester } from "../../core/ports.ts";
import type { TallyMessage } from "../../core/tally-reports.ts";
import { groupsOf } from "../groups.ts";
import { withHostInstrumentation } from "../sdk-hook.ts";

/** One SQS client per container; the endpoint comes from the environment (AWS_ENDPOINT_URL_SQS). */
export function createSqsClient(): SQSClient {
  return withHostInstrumentation(new SQSClient({}), "sqs");
}

/** Sends one message whose body is `message` as JSON, held back `delaySeconds` when above 0. */
export async function sendJson(
  sqs: SQSClient,
  queueUrl: string,
  message: unknown,
  delaySeconds = 0,
): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(message),
      ...(delaySeconds > 0 ? { DelaySeconds: delaySeconds } : {}),
    }),
  );
}

const MAX_BATCH_ROUNDS = 5;

export class SqsSendQueue implements SendQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /** SendMessageBatch in tens, re-sending entries SQS reports as failed. */
  async sendChunks(chunks: readonly ChunkMessage[], delaySeconds = 0): Promise<void> {
    await Promise.all(
      groupsOf(chunks, 10).map(async (group) => {
        let entries = group.map((chunk, i) => ({
          Id: String(i),
          MessageBody: JSON.stringify(chunk),
          ...(delaySeconds > 0 ? { DelaySeconds: delaySeconds } : {}),
        }));
        for (let round = 0; entries.length > 0; round += 1) {
          if (round >= MAX_BATCH_ROUNDS)
            throw new Error(`SendMessageBatch kept failing: ${entries.length} left`);
          const out = await this.sqs.send(
            new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }),
          );
          const failed = new Set((out.Failed ?? []).map((f) => f.Id));
          entries = entries.filter((e) => failed.has(e.Id));
        }
      }),
    );
  }
}

export class SqsFanoutQueue implements FanoutQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async sendPage(message: FanoutMessage): Promise<void> {
    await sendJson(this.sqs, this.queueUrl, message);
  }

  async sendTally(message: TallyMessage, delaySeconds: number): Promise<void> {
    await sendJson(this.sqs, this.queueUrl, message, delaySeconds);
  }
}

/** Asks the refresher for a new token: one small message on its queue. */
export class SqsTokenRefreshRequester implements TokenRefreshRequester {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async request(): Promise<void> {
    await sendJson(this.sqs, this.queueUrl, { refresh: true } satisfies TokenRefreshRequest);
  }
}
