import { randomUUID } from "node:crypto";
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { ChangeMessageVisibilityCommand } from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { z } from "zod";
import { queues } from "../infra/definitions.ts";
import { DynamoBroadcastStore } from "./adapters/dynamodb/broadcast-store.ts";
import { createDocumentClient } from "./adapters/dynamodb/client.ts";
import { DynamoCreditStore } from "./adapters/dynamodb/credit-store.ts";
import { DynamoDeliveryStore } from "./adapters/dynamodb/delivery-store.ts";
import { DynamoSubscriberStore } from "./adapters/dynamodb/subscriber-store.ts";
import { DynamoTokenStore } from "./adapters/dynamodb/token-store.ts";
import { createSqsClient } from "./adapters/sqs/queues.ts";
import { TokenFetchError, WeChatApiClient } from "./adapters/wechat/api-client.ts";
import { systemClock } from "./clock.ts";
import { loadConfig, senderSchema } from "./config.ts";
import type { Broadcast } from "./core/model.ts";
import { type SendChunkResult, sendChunk } from "./core/send-chunk.ts";
import { TokenCache, TokenUnavailableError } from "./core/token-cache.ts";
import { countChunk, countTokenRefreshes, countTokenRefreshFailure, publishMetrics } from "./metrics.ts";
import { logger } from "./observability.ts";

const config = loadConfig(senderSchema);
const db = createDocumentClient();
const sqs = createSqsClient();
const broadcasts = new DynamoBroadcastStore(db, config.TABLE_BROADCASTS);
const wechat = new WeChatApiClient({
  baseUrl: config.WECHAT_API_BASE,
  appId: config.WECHAT_APP_ID,
  appSecret: config.WECHAT_APP_SECRET,
  maxInFlight: config.WECHAT_MAX_IN_FLIGHT,
  timeoutMs: config.WECHAT_TIMEOUT_MS,
});
const tokens = new TokenCache({
  store: new DynamoTokenStore(db, config.TABLE_TOKENS, config.WECHAT_APP_ID),
  fetcher: wechat,
  clock: systemClock,
  owner: randomUUID(),
});

/** A broadcast's message never changes; its pause flag may, so the memo is short-lived. */
const BROADCAST_MEMO_MS = 5_000;
const broadcastMemo = new Map<string, { broadcast: Broadcast; at: number }>();
async function loadBroadcast(broadcastId: string): Promise<Broadcast | undefined> {
  const memo = broadcastMemo.get(broadcastId);
  if (memo && Date.now() - memo.at < BROADCAST_MEMO_MS) return memo.broadcast;
  const broadcast = await broadcasts.get(broadcastId);
  if (broadcast) broadcastMemo.set(broadcastId, { broadcast, at: Date.now() });
  return broadcast;
}

const deps = {
  broadcasts,
  deliveries: new DynamoDeliveryStore(db, config.TABLE_DELIVERIES),
  subscribers: new DynamoSubscriberStore(db, config.TABLE_SUBSCRIBERS),
  wechat,
  tokens,
  clock: systemClock,
  loadBroadcast,
  tasks: {
    credits: new DynamoCreditStore(db, config.TABLE_CREDITS),
    wechat,
    settings: {
      miniProgramState: config.WECHAT_MINIPROGRAM_STATE,
      ...(config.WECHAT_MINIPROGRAM_APP_ID ? { miniProgramAppId: config.WECHAT_MINIPROGRAM_APP_ID } : {}),
    },
  },
};
const processor = new BatchProcessor(EventType.SQS);

const chunkMessage = z.object({
  broadcastId: z.string().min(1),
  chunkId: z.string().min(1),
  openids: z.array(z.string().min(1)).min(1).max(1000),
  windowed: z.array(z.string().min(1)).max(1000).optional(),
  retryOf: z.record(z.string().min(1), z.number().int()).optional(),
  retryAt: z.number().int().positive().optional(),
});

/** Raised for a chunk with recipients still pending, so the batch reports it as failed. */
export class ChunkPendingError extends Error {
  override readonly name = "ChunkPendingError";
}

/** Margin for clock differences between containers when judging another holder's lease. */
const LEASE_MARGIN_MS = 2_000;

/**
 * Seconds until a pending chunk is tried again: quota waits long, a chunk another invocation holds
 * waits out that invocation's longest life, transient failures back off.
 */
function retryDelaySeconds(
  result: Extract<SendChunkResult, { kind: "retry" }>,
  receiveCount: number,
  leaseMs: number,
): number {
  if (result.reason === "quota") return 3600;
  if (result.reason === "busy") return Math.ceil(leaseMs / 1000);
  return Math.min(config.SEND_RETRY_DELAY_SECONDS * 2 ** (receiveCount - 1), 900);
}

function recordHandler(context: Context) {
  return async (record: SQSRecord): Promise<void> => {
    const chunk = chunkMessage.parse(JSON.parse(record.body));
    const receiveCount = Number(record.attributes.ApproximateReceiveCount);
    // The claim outlives this invocation, which cannot outlive its timeout.
    const leaseMs = context.getRemainingTimeInMillis() + LEASE_MARGIN_MS;
    const result = await sendChunk(chunk, deps, {
      receiveCount,
      maxReceiveCount: queues.send.maxReceiveCount,
      leaseMs,
    }).catch((error: unknown) => {
      if (error instanceof TokenUnavailableError || error instanceof TokenFetchError)
        countTokenRefreshFailure();
      throw error;
    });
    countChunk(result);
    if (result.kind === "settled") return;
    const delay = retryDelaySeconds(result, receiveCount, leaseMs);
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: config.QUEUE_URL_SEND,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: delay,
      }),
    );
    logger.warn("chunk left pending", {
      broadcastId: chunk.broadcastId,
      chunkId: chunk.chunkId,
      reason: result.reason,
      pending: result.pending,
      retryInSeconds: delay,
    });
    throw new ChunkPendingError(`${result.pending} recipients pending (${result.reason})`);
  };
}

/** Logs a failed chunk once (the batch processor only reports its message id) and re-throws it. */
function loggingFailures(handle: (record: SQSRecord) => Promise<void>) {
  return async (record: SQSRecord): Promise<void> => {
    try {
      await handle(record);
    } catch (error) {
      if (!(error instanceof ChunkPendingError))
        logger.error("chunk failed", { messageId: record.messageId, error });
      throw error;
    }
  };
}

/** Send-queue consumer: each record is one chunk of a broadcast's recipients. */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  try {
    return await processPartialResponse(event, loggingFailures(recordHandler(context)), processor, {
      throwOnFullBatchFailure: false,
    });
  } finally {
    countTokenRefreshes(tokens.fetches);
    publishMetrics();
  }
}
