import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { z } from "zod";
import { CHUNK_SIZE } from "../infra/definitions.ts";
import { DynamoBroadcastStore } from "./adapters/dynamodb/broadcast-store.ts";
import { createDocumentClient } from "./adapters/dynamodb/client.ts";
import { DynamoSubscriberStore } from "./adapters/dynamodb/subscriber-store.ts";
import { createSqsClient, SqsFanoutQueue, SqsSendQueue } from "./adapters/sqs/queues.ts";
import { systemClock } from "./clock.ts";
import { fanoutSchema, loadConfig } from "./config.ts";
import { fanOutPage } from "./core/fan-out.ts";
import { logger } from "./observability.ts";

const config = loadConfig(fanoutSchema);
const db = createDocumentClient();
const sqs = createSqsClient();
const deps = {
  broadcasts: new DynamoBroadcastStore(db, config.TABLE_BROADCASTS),
  audience: new DynamoSubscriberStore(db, config.TABLE_SUBSCRIBERS),
  sendQueue: new SqsSendQueue(sqs, config.QUEUE_URL_SEND),
  fanoutQueue: new SqsFanoutQueue(sqs, config.QUEUE_URL_FANOUT),
  clock: systemClock,
};
const processor = new BatchProcessor(EventType.SQS);

const fanoutMessage = z.object({
  broadcastId: z.string().min(1),
  page: z.number().int().nonnegative(),
  cursor: z.string().nullable(),
});

async function handleRecord(record: SQSRecord): Promise<void> {
  const message = fanoutMessage.parse(JSON.parse(record.body));
  const result = await fanOutPage(message, deps, {
    pageSize: config.FANOUT_PAGE_SIZE,
    chunkSize: CHUNK_SIZE,
  });
  if (result.kind === "page" && result.last) {
    logger.info("fan-out finished", { broadcastId: message.broadcastId, pages: message.page + 1 });
  }
}

/** Fan-out queue consumer: one audience page per message. */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  return processPartialResponse(event, handleRecord, processor, { throwOnFullBatchFailure: false });
}
