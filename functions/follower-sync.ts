import { randomBytes } from "node:crypto";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { createDocumentClient } from "./adapters/dynamodb/client.ts";
import { DynamoFollowerImporter } from "./adapters/dynamodb/follower-import.ts";
import { DynamoSyncStore } from "./adapters/dynamodb/sync-store.ts";
import { createSqsClient } from "./adapters/sqs/queues.ts";
import { SqsSyncQueue } from "./adapters/sqs/sync-queue.ts";
import { systemClock } from "./clock.ts";
import { followerSyncSchema, loadConfig } from "./config.ts";
import { syncMessage } from "./contracts/messages.ts";
import { runSync } from "./core/follower-syncs.ts";
import { lastCallStart } from "./core/send-chunk.ts";
import { countSyncQuotaExhausted, countTokenRejections, publishMetrics } from "./metrics.ts";
import { logger } from "./observability.ts";
import { consumeRecords } from "./queue-consumer.ts";
import { wechatCaller } from "./wechat-caller.ts";

const config = loadConfig(followerSyncSchema);
const db = createDocumentClient();
const sqs = createSqsClient();
// One user/get call at a time: a sync reads its pages one after another.
const { wechat, tokens } = wechatCaller(config, { db, sqs }, 1);
const deps = {
  syncs: new DynamoSyncStore(db, config.TABLE_SYNCS),
  queue: new SqsSyncQueue(sqs, config.QUEUE_URL_SYNC),
  followers: wechat,
  importer: new DynamoFollowerImporter(db, config.TABLE_SUBSCRIBERS),
  tokens,
  clock: systemClock,
  newLease: () => randomBytes(12).toString("base64url"),
};

/** Margin for clock differences between containers when another judges this run's lease. */
const LEASE_MARGIN_MS = 2_000;

function recordHandler(context: Context) {
  return async (record: SQSRecord): Promise<void> => {
    const message = syncMessage.parse(JSON.parse(record.body));
    const endsAt = Date.now() + context.getRemainingTimeInMillis();
    const run = await runSync(message, deps, {
      leaseUntil: endsAt + LEASE_MARGIN_MS,
      finishBy: lastCallStart(endsAt, config.WECHAT_TIMEOUT_MS),
    });
    const log = { syncId: message.syncId, ...run };
    if (run.kind === "ended" && run.errcode === 45009) countSyncQuotaExhausted();
    // A wait or a stop is worth a look; a page run that ended or handed over is routine.
    if (run.kind === "ended" && run.status !== "done") logger.warn("follower sync stopped", log);
    else if (run.kind === "continued" && run.reason !== "deadline") logger.warn("follower sync waits", log);
    else logger.info("follower sync run", log);
  };
}

/** Sync-queue consumer: each record runs one follower sync for as long as the invocation allows. */
export function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  return consumeRecords(event, recordHandler(context), {
    what: "follower sync run",
    settle: () => {
      countTokenRejections(tokens.rejections);
      publishMetrics();
    },
  });
}
