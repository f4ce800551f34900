/**
 * Lambda's SQS event source mapping, locally: poll, invoke with an SQSEvent, delete what succeeded.
 * Visibility is never changed here; failed messages reappear when their visibility timeout ends, and
 * SQS itself moves them to the dead-letter queue after maxReceiveCount receives.
 */

import { setTimeout as sleep } from "node:timers/promises";
import {
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSEvent, SQSMessageAttribute, SQSRecord, SQSRecordAttributes } from "aws-lambda";
import type { FunctionPool } from "./function-pool.ts";

/** Short long-polls keep stop() and idle() prompt; AWS's pollers use 20 s. */
const WAIT_TIME_SECONDS = 1;
const RETRY_DELAY_MS = 1000;

export interface EventSourceConfig {
  readonly queueName: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  readonly batchSize: number;
  readonly maximumBatchingWindowSeconds: number;
  /** Concurrent pollers = concurrent invocations (maximumConcurrency). */
  readonly concurrency: number;
}

function toMessageAttribute(value: MessageAttributeValue): SQSMessageAttribute {
  const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");
  return {
    ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
    ...(value.BinaryValue !== undefined ? { binaryValue: base64(value.BinaryValue) } : {}),
    stringListValues: value.StringListValues ?? [],
    binaryListValues: (value.BinaryListValues ?? []).map(base64),
    dataType: value.DataType ?? "String",
  };
}

export function toSqsRecord(message: Message, queueArn: string, region: string): SQSRecord {
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: { ...message.Attributes } as unknown as SQSRecordAttributes,
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        toMessageAttribute(value),
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? "",
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/**
 * The message ids to keep, per Lambda's rules for ReportBatchItemFailures: no response, no list or an
 * empty list is full success; a list entry that is not the id of a message in the batch (missing,
 * empty, unknown) makes the whole batch a failure.
 */
export function failedMessageIds(result: unknown, batchIds: ReadonlySet<string>): Set<string> | "all" {
  if (result === null || typeof result !== "object" || Array.isArray(result)) return new Set();
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return "all";
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== "string" || !batchIds.has(id)) return "all";
    failed.add(id);
  }
  return failed;
}

export class SqsEventSource {
  private stopping = false;
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private batches = 0;

  constructor(
    private readonly config: EventSourceConfig,
    private readonly pool: FunctionPool,
    private readonly sqs: SQSClient,
    private readonly log: (line: string) => void,
  ) {}

  /** Batches received and not yet settled (invoking or deleting). */
  get inFlight(): number {
    return this.batches;
  }

  start(): void {
    this.loops = Array.from({ length: this.config.concurrency }, () => this.poll());
  }

  /** Stops receiving; resolves when every poller has settled its current batch. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    await Promise.all(this.loops);
  }

  private async poll(): Promise<void> {
    while (!this.stopping) {
      let messages: Message[];
      try {
        messages = await this.receiveBatch();
      } catch (error) {
        if (this.stopping) break;
        this.log(`[${this.config.queueName}] ReceiveMessage failed: ${(error as Error).message}`);
        await sleep(RETRY_DELAY_MS);
        continue;
      }
      if (messages.length === 0) continue;
      this.batches += 1;
      try {
        await this.handle(messages);
      } catch (error) {
        this.log(`[${this.config.queueName}] batch handling failed: ${(error as Error).message}`);
      } finally {
        this.batches -= 1;
      }
    }
  }

  private async receive(max: number, waitSeconds: number): Promise<Message[]> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.config.queueUrl,
        MaxNumberOfMessages: Math.min(10, max),
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ["All"],
        MessageAttributeNames: ["All"],
      }),
      { abortSignal: this.abort.signal },
    );
    return out.Messages ?? [];
  }

  /** One receive, or with a batching window, more until the batch is full or the window closes. */
  private async receiveBatch(): Promise<Message[]> {
    const { batchSize, maximumBatchingWindowSeconds } = this.config;
    const messages = await this.receive(batchSize, WAIT_TIME_SECONDS);
    if (messages.length === 0 || maximumBatchingWindowSeconds <= 0) return messages;
    const deadline = Date.now() + maximumBatchingWindowSeconds * 1000;
    while (messages.length < batchSize && !this.stopping) {
      const remainingSeconds = Math.floor((deadline - Date.now()) / 1000);
      if (remainingSeconds <= 0) break;
      messages.push(...(await this.receive(batchSize - messages.length, Math.min(20, remainingSeconds))));
    }
    return messages;
  }

  private async handle(messages: Message[]): Promise<void> {
    const { queueName, queueArn, region } = this.config;
    const event: SQSEvent = { Records: messages.map((m) => toSqsRecord(m, queueArn, region)) };
    const outcome = await this.pool.invoke(event);
    if (!outcome.ok) {
      this.log(
        `[${queueName}] ${this.pool.config.name} ${outcome.kind}: ${outcome.error.errorType}: ` +
          `${outcome.error.errorMessage}; ${messages.length} message(s) return after the visibility timeout`,
      );
      return;
    }
    const failed = failedMessageIds(outcome.result, new Set(messages.map((m) => m.MessageId ?? "")));
    if (failed === "all") {
      this.log(`[${queueName}] invalid batchItemFailures from ${this.pool.config.name}: whole batch retried`);
      return;
    }
    await this.delete(messages.filter((m) => !failed.has(m.MessageId ?? "")));
  }

  private async delete(messages: Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const group = messages.slice(i, i + 10);
      const out = await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.config.queueUrl,
          Entries: group.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
      for (const failure of out.Failed ?? []) {
        this.log(
          `[${this.config.queueName}] DeleteMessageBatch entry ${failure.Id} failed: ${failure.Message}`,
        );
      }
    }
  }
}
