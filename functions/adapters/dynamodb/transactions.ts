import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";

export function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === "ConditionalCheckFailedException";
}

/** Awaits a conditional write: true when it was made, false when its condition failed. */
export async function conditionHeld(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Awaits a conditional write, treating a failed condition as "nothing to do". */
export async function ignoreConditionFailure(write: Promise<unknown>): Promise<void> {
  await conditionHeld(write);
}

const MAX_CONFLICT_RETRIES = 8;

/**
 * Runs a transaction and answers the positions of its items whose condition failed: none when it
 * committed. Concurrent transactions on the same item cancel each other (`TransactionConflict`)
 * without either condition failing, so those are retried: treating them as a failed condition would
 * lose the write.
 */
export async function transactFailedItems(
  db: DynamoDBDocumentClient,
  command: TransactWriteCommand,
): Promise<number[]> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await db.send(command);
      return [];
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const failed = (error.CancellationReasons ?? []).flatMap((r, i) =>
        r.Code === "ConditionalCheckFailed" ? [i] : [],
      );
      if (failed.length > 0) return failed;
      if (attempt >= MAX_CONFLICT_RETRIES) throw error;
      const ceiling = 20 * 2 ** attempt;
      await new Promise((resolve) => setTimeout(resolve, ceiling / 2 + Math.random() * (ceiling / 2)));
    }
  }
}

/** Runs a transaction; true when it committed, false when one of its conditions failed (see above). */
export async function transactWithRetry(
  db: DynamoDBDocumentClient,
  command: TransactWriteCommand,
): Promise<boolean> {
  return (await transactFailedItems(db, command)).length === 0;
}
