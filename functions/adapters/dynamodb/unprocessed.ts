import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";

const MAX_ROUNDS = 10;

/** Full-jitter exponential backoff for DynamoDB's unprocessed items. */
export function pause(round: number): Promise<void> {
  const ceiling = Math.min(50 * 2 ** round, 2000);
  return new Promise((resolve) => setTimeout(resolve, ceiling / 2 + Math.random() * (ceiling / 2)));
}

/** BatchWriteItem, re-sending the items DynamoDB left unprocessed (throttling) with backoff. */
export async function retryUnprocessed(
  db: DynamoDBDocumentClient,
  table: string,
  requestItems: NonNullable<BatchWriteCommandInput["RequestItems"]>,
): Promise<void> {
  let pending: BatchWriteCommandInput["RequestItems"] = requestItems;
  for (let round = 0; pending && (pending[table]?.length ?? 0) > 0; round += 1) {
    if (round >= MAX_ROUNDS) throw new Error(`BatchWriteItem on ${table} left items unprocessed`);
    if (round > 0) await pause(round);
    const out: BatchWriteCommandOutput = await db.send(new BatchWriteCommand({ RequestItems: pending }));
    pending = out.UnprocessedItems;
  }
}
