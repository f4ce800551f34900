import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { logger } from "./observability.ts";

const processor = new BatchProcessor(EventType.SQS);

/**
 * Runs a queue consumer's batch with partial batch responses: only failed records come back. Each
 * failure is logged once, as `<what> failed` with its message id (the batch processor reports only
 * the id), unless `expected` says it is an ordinary retry; `settle` runs after every batch.
 */
export async function consumeRecords(
  event: SQSEvent,
  handle: (record: SQSRecord) => Promise<void>,
  opts: {
    readonly what: string;
    readonly expected?: (error: unknown) => boolean;
    readonly settle: () => void;
  },
): Promise<SQSBatchResponse> {
  const logged = async (record: SQSRecord): Promise<void> => {
    try {
      await handle(record);
    } catch (error) {
      if (!opts.expected?.(error))
        logger.error(`${opts.what} failed`, { messageId: record.messageId, error });
      throw error;
    }
  };
  try {
    return await processPartialResponse(event, logged, processor, { throwOnFullBatchFailure: false });
  } finally {
    opts.settle();
  }
}
