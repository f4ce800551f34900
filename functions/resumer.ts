import type { Context } from "aws-lambda";
import { DynamoBroadcastStore } from "./adapters/dynamodb/broadcast-store.ts";
import { createDocumentClient } from "./adapters/dynamodb/client.ts";
import { DynamoParkStore } from "./adapters/dynamodb/park-store.ts";
import { createSqsClient, SqsSendQueue } from "./adapters/sqs/queues.ts";
import { broadcastEventsFrom } from "./broadcast-events.ts";
import { systemClock } from "./clock.ts";
import { loadConfig, quietHoursOf, resumerSchema } from "./config.ts";
import { resumeParked } from "./core/resume-parked.ts";
import { logger } from "./observability.ts";
import { wechatCaller } from "./wechat-caller.ts";

const config = loadConfig(resumerSchema);
const db = createDocumentClient();
const sqs = createSqsClient();
// One quota/get at a time is all a run makes.
const { wechat, tokens } = wechatCaller(config, { db, sqs }, 2);
const deps = {
  broadcasts: new DynamoBroadcastStore(db, config.TABLE_BROADCASTS),
  parked: new DynamoParkStore(db, config.TABLE_BROADCASTS),
  sendQueue: new SqsSendQueue(sqs, config.QUEUE_URL_SEND),
  quota: wechat,
  tokens,
  events: broadcastEventsFrom(config, sqs),
  clock: systemClock,
};
const quietHours = quietHoursOf(config);

/** Time left at the end of a run for the page being sent on and its removal. */
const FINISH_MARGIN_MS = 10_000;

/** Every minute (EventBridge; the local runner alike): sends parked chunks on once they may go. */
export async function handler(_event: unknown, context: Context): Promise<void> {
  const report = await resumeParked(deps, {
    ...(quietHours ? { quietHours } : {}),
    quotaCheckMs: config.QUOTA_CHECK_MINUTES * 60_000,
    stopAt: Date.now() + context.getRemainingTimeInMillis() - FINISH_MARGIN_MS,
  });
  if (report.parked > 0) logger.info("parked broadcasts visited", { ...report });
}
