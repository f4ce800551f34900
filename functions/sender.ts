import { ChangeMessageVisibilityCommand } from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { queues } from "../common/definitions.ts";
import { DynamoBroadcastStore } from "./adapters/dynamodb/broadcast-store.ts";
import { createDocumentClient } from "./adapters/dynamodb/client.ts";
import { DynamoCreditStore } from "./adapters/dynamodb/credit-store.ts";
import { DynamoDailyCapStore } from "./adapters/dynamodb/daily-cap-store.ts";
import { DynamoDeliveryStore } from "./adapters/dynamodb/delivery-store.ts";
import { DynamoParkStore } from "./adapters/dynamodb/park-store.ts";
import { DynamoSubscriberStore } from "./adapters/dynamodb/subscriber-store.ts";
import { DynamoSuppressionStore } from "./adapters/dynamodb/suppression-store.ts";
import { createSqsClient, SqsSendQueue } from "./adapters/sqs/queues.ts";
import { broadcastEventsFrom } from "./broadcast-events.ts";
import { systemClock } from "./clock.ts";
import { loadConfig, quietHoursOf, senderSchema } from "./config.ts";
import { chunkMessage } from "./contracts/messages.ts";
import { announceIfSettled } from "./core/broadcast-events.ts";
import { InFlightLimit } from "./core/in-flight-limit.ts";
import type { Broadcast } from "./core/model.ts";
import { lastCallStart, type SendChunkResult, sendChunk } from "./core/send-chunk.ts";
import { countChunk, countTokenRefreshFailure, countTokenRejections, publishMetrics } from "./metrics.ts";
import { logger } from "./observability.ts";
import { consumeRecords } from "./queue-consumer.ts";
import { wechatCaller } from "./wechat-caller.ts";

const config = loadConfig(senderSchema);
const db = createDocumentClient();
const sqs = createSqsClient();
const broadcasts = new DynamoBroadcastStore(db, config.TABLE_BROADCASTS);
const sendQueue = new SqsSendQueue(sqs, config.QUEUE_URL_SEND);
const { wechat, tokens } = wechatCaller(config, { db, sqs }, config.WECHAT_MAX_IN_FLIGHT);

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

const events = broadcastEventsFrom(config, sqs);

/**
 * A paid post's broadcast may have settled with this chunk (or a crash kept its announcement from
 * going out): the webhook hears of it once (core/broadcast-events.ts). Push tasks have no webhook.
 */
async function announceSettled(broadcastId: string): Promise<void> {
  if (!events.enabled || !(await loadBroadcast(broadcastId))?.outTradeNo) return;
  await announceIfSettled(broadcastId, { broadcasts, marks: broadcasts, events, clock: systemClock });
}

const deps = {
  broadcasts,
  deliveries: new DynamoDeliveryStore(db, config.TABLE_DELIVERIES),
  subscribers: new DynamoSubscriberStore(db, config.TABLE_SUBSCRIBERS),
  wechat,
  tokens,
  clock: systemClock,
  // One limit for every chunk of the batch: the container's calls in flight.
  inFlight: new InFlightLimit(config.WECHAT_MAX_IN_FLIGHT),
  loadBroadcast,
  parking: new DynamoParkStore(db, config.TABLE_BROADCASTS),
  quietHours: quietHoursOf(config),
  tasks: {
    credits: new DynamoCreditStore(db, config.TABLE_CREDITS),
    wechat,
    settings: {
      miniProgramState: config.WECHAT_MINIPROGRAM_STATE,
      ...(config.WECHAT_MINIPROGRAM_APP_ID ? { miniProgramAppId: config.WECHAT_MINIPROGRAM_APP_ID } : {}),
    },
  },
  suppression: new DynamoSuppressionStore(db, config.TABLE_SUBSCRIBERS),
  ...(config.MAX_POSTS_PER_SUBSCRIBER_PER_DAY
    ? {
        dailyCap: {
          store: new DynamoDailyCapStore(db, config.TABLE_SUBSCRIBERS),
          limit: config.MAX_POSTS_PER_SUBSCRIBER_PER_DAY,
        },
      }
    : {}),
};

/** Raised for a chunk with recipients still pending, so the batch reports it as failed. */
export class ChunkPendingError extends Error {
  override readonly name = "ChunkPendingError";
}

/** Margin for clock differences between containers when judging another holder's lease. */
const LEASE_MARGIN_MS = 2_000;
/**
 * A chunk waiting for a token comes back as a new message, 5 s later, then 10, 20… up to SQS's 15
 * minutes: a token that turns up soon is used soon, and a long wait (the central server down, the IP
 * not whitelisted) never uses up the chunk's receives into the dead-letter queue.
 */
function tokenWaitSeconds(waits: number): number {
  return Math.min(5 * 2 ** waits, 900);
}

/**
 * Seconds until a pending chunk is tried again: a chunk another invocation holds waits out that
 * invocation's longest life, transient failures back off, and recipients the invocation did not
 * reach before its deadline go at once. (A quota pause parks the chunk instead: core/parking.ts.)
 */
function retryDelaySeconds(
  result: Extract<SendChunkResult, { kind: "retry" }>,
  receiveCount: number,
  leaseMs: number,
): number {
  switch (result.reason) {
    case "busy":
      return Math.ceil(leaseMs / 1000);
    case "deadline":
      return 0;
    default:
      return Math.min(config.SEND_RETRY_DELAY_SECONDS * 2 ** (receiveCount - 1), 900);
  }
}

function recordHandler(context: Context) {
  const stopStartingAt = lastCallStart(
    Date.now() + context.getRemainingTimeInMillis(),
    config.WECHAT_TIMEOUT_MS,
  );
  return async (record: SQSRecord): Promise<void> => {
    const chunk = chunkMessage.parse(JSON.parse(record.body));
    const receiveCount = Number(record.attributes.ApproximateReceiveCount);
    // The claim outlives this invocation, which cannot outlive its timeout.
    const leaseMs = context.getRemainingTimeInMillis() + LEASE_MARGIN_MS;
    const result = await sendChunk(chunk, deps, {
      receiveCount,
      maxReceiveCount: queues.send.maxReceiveCount,
      leaseMs,
      stopStartingAt,
    });
    countChunk(result);
    if (result.kind === "settled") return announceSettled(chunk.broadcastId);
    if (result.kind === "parked") {
      logger.info("chunk parked", {
        broadcastId: chunk.broadcastId,
        chunkId: chunk.chunkId,
        hold: result.hold.kind,
        parked: result.parked,
        ...(result.hold.kind === "quiet" ? { until: new Date(result.hold.until).toISOString() } : {}),
      });
      return;
    }
    const log = {
      broadcastId: chunk.broadcastId,
      chunkId: chunk.chunkId,
      reason: result.reason,
      pending: result.pending,
      ...(result.detail ? { detail: result.detail } : {}),
    };
    if (result.reason === "token") {
      countTokenRefreshFailure();
      const waits = chunk.tokenWaits ?? 0;
      await sendQueue.sendChunks([{ ...chunk, tokenWaits: waits + 1 }], tokenWaitSeconds(waits));
      logger.warn("chunk waits for an access token", { ...log, retryInSeconds: tokenWaitSeconds(waits) });
      return;
    }
    const delay = retryDelaySeconds(result, receiveCount, leaseMs);
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: config.QUEUE_URL_SEND,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: delay,
      }),
    );
    logger.warn("chunk left pending", { ...log, retryInSeconds: delay });
    throw new ChunkPendingError(`${result.pending} recipients pending (${result.reason})`);
  };
}

/** Send-queue consumer: each record is one chunk of a broadcast's recipients. */
export function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  return consumeRecords(event, recordHandler(context), {
    what: "chunk",
    expected: (error) => error instanceof ChunkPendingError,
    settle: () => {
      countTokenRejections(tokens.rejections);
      publishMetrics();
    },
  });
}
