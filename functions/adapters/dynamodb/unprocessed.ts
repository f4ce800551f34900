import {
  BatchGetCommand,
  type BatchGetCommandInput,
  type BatchGetCommandOutput,
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

/** One table's part of a BatchGetItem request. */
type KeysAndAttributes = NonNullable<BatchGetCommandInput["RequestItems"]>[string];
/** BatchGetItem's most keys per request. */
const BATCH_GET_KEYS = 100;

/**
 * The subscribers' items of `openids` (keyed by `openid`), read 100 to a BatchGetItem, the keys
 * DynamoDB left unprocessed asked again with backoff; `read` sets the projection and consistency.
 */
export async function batchGetByOpenid(
  db: DynamoDBDocumentClient,
  table: string,
  openids: readonly string[],
  read: Omit<KeysAndAttributes, "Keys">,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for (let start = 0; start < openids.length; start += BATCH_GET_KEYS) {
    let keys: KeysAndAttributes["Keys"] = openids
      .slice(start, start + BATCH_GET_KEYS)
      .map((openid) => ({ openid }));
    for (let round = 0; keys?.length; round += 1) {
      if (round >= MAX_ROUNDS) throw new Error(`BatchGetItem on ${table} left keys unprocessed`);
      const out: BatchGetCommandOutput = await db.send(
        new BatchGetCommand({ RequestItems: { [table]: { ...read, Keys: keys } } }),
      );
      items.push(...(out.Responses?.[table] ?? []));
      keys = out.UnprocessedKeys?.[table]?.Keys;
      if (keys?.length) await pause(round);
    }
  }
  return items;
}
