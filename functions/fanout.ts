import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { CHUNK_SIZE } from "../common/definitions.ts";
import { DynamoBroadcastStore } from "./adapters/dynamodb/broadcast-store.ts";
import { createDocumentClient } from "./adapters/dynamodb/client.ts";
import { DynamoDeliveryStore } from "./adapters/dynamodb/delivery-store.ts";
import { DynamoParkStore } from "./adapters/dynamodb/park-store.ts";
import { DynamoReportStore } from "./adapters/dynamodb/report-store.ts";
import { DynamoSubscriberStore } from "./adapters/dynamodb/subscriber-store.ts";
import { DynamoSuppressionStore } from "./adapters/dynamodb/suppression-store.ts";
import { DynamoTaskRecipientReader } from "./adapters/dynamodb/task-store.ts";
import { createSqsClient, SqsFanoutQueue, SqsSendQueue } from "./adapters/sqs/queues.ts";
import { broadcastEventsFrom } from "./broadcast-events.ts";
import { systemClock } from "./clock.ts";
import { fanoutSchema, loadConfig, quietHoursOf } from "./config.ts";
import { fanoutQueueMessage } from "./contracts/messages.ts";
import { announceIfSettled } from "./core/broadcast-events.ts";
import { fanOutPage } from "./core/fan-out.ts";
import { type TallyMessage, tallyReports } from "./core/tally-reports.ts";
import { logger } from "./observability.ts";

const config = loadConfig(fanoutSchema);
const db = createDocumentClient();
const sqs = createSqsClient();
const deps = {
  broadcasts: new DynamoBroadcastStore(db, config.TABLE_BROADCASTS),
  audience: new DynamoSubscriberStore(db, config.TABLE_SUBSCRIBERS),
  taskRecipients: new DynamoTaskRecipientReader(db, config.TABLE_TASK_RECIPIENTS),
  sendQueue: new SqsSendQueue(sqs, config.QUEUE_URL_SEND),
  fanoutQueue: new SqsFanoutQueue(sqs, config.QUEUE_URL_FANOUT),
  clock: systemClock,
  suppression: new DynamoSuppressionStore(db, config.TABLE_SUBSCRIBERS),
  parking: new DynamoParkStore(db, config.TABLE_BROADCASTS),
  quietHours: quietHoursOf(config),
};
const tallyDeps = {
  broadcasts: deps.broadcasts,
  records: new DynamoDeliveryStore(db, config.TABLE_DELIVERIES),
  reports: new DynamoReportStore(db, config.TABLE_INBOX),
  queue: deps.fanoutQueue,
  clock: systemClock,
};
const events = broadcastEventsFrom(config, sqs);
const settledDeps = { broadcasts: deps.broadcasts, marks: deps.broadcasts, events, clock: systemClock };
const processor = new BatchProcessor(EventType.SQS);

async function handleRecord(record: SQSRecord): Promise<void> {
  const message = fanoutQueueMessage.parse(JSON.parse(record.body));
  if ("kind" in message) {
    const result = await tallyReports(message satisfies TallyMessage, tallyDeps, {
      delaySeconds: config.REPORT_TALLY_DELAY_SECONDS,
    });
    if (result.kind === "counted")
      logger.info("delivery reports tallied", { broadcastId: message.broadcastId, ...result });
    return;
  }
  const result = await fanOutPage(message, deps, {
    pageSize: config.FANOUT_PAGE_SIZE,
    chunkSize: CHUNK_SIZE,
    reportTallyDelaySeconds: config.REPORT_TALLY_DELAY_SECONDS,
  });
  if (result.kind === "page" && result.last) {
    logger.info("fan-out finished", { broadcastId: message.broadcastId, pages: message.page + 1 });
  }
  // Every chunk may have settled before the last page was recorded; a redelivered page finishes an
  // announcement a crash cut short (core/broadcast-events.ts).
  if (events.enabled && (result.kind === "duplicate" || result.last))
    await announceIfSettled(message.broadcastId, settledDeps);
}

/** Fan-out queue consumer: one audience page, or one step of a delivery-report tally, per message. */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  return processPartialResponse(event, handleRecord, processor, { throwOnFullBatchFailure: false });
}
