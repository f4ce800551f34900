import { type DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { ValidationError } from "../../core/errors.ts";

/** Where a table lists its items newest first: its sparse `byCreatedAt` index, one `kind` partition. */
export interface NewestFirstIndex {
  readonly table: string;
  /** The table's own key attribute (string). */
  readonly key: string;
  /** The constant partition of the index: only listed items carry `kind`. */
  readonly kind: string;
}

/**
 * One page of the items, newest first, without the `kind` attribute. The cursor is the page's last
 * key, opaque to callers; one this index did not hand out is a ValidationError.
 */
export async function newestFirst<T>(
  db: DynamoDBDocumentClient,
  index: NewestFirstIndex,
  limit: number,
  cursor: string | null,
): Promise<{ items: T[]; next: string | null }> {
  const { Items, LastEvaluatedKey } = await db.send(
    new QueryCommand({
      TableName: index.table,
      IndexName: "byCreatedAt",
      KeyConditionExpression: "#kind = :kind",
      ExpressionAttributeNames: { "#kind": "kind" },
      ExpressionAttributeValues: { ":kind": index.kind },
      ScanIndexForward: false,
      Limit: limit,
      ...(cursor ? { ExclusiveStartKey: decodeCursor(index, cursor) } : {}),
    }),
  );
  return {
    items: (Items ?? []).map(({ kind: _kind, ...item }) => item as T),
    next: LastEvaluatedKey ? Buffer.from(JSON.stringify(LastEvaluatedKey)).toString("base64url") : null,
  };
}

function decodeCursor(index: NewestFirstIndex, cursor: string): Record<string, unknown> {
  let key: Record<string, unknown> | undefined;
  try {
    key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    key = undefined;
  }
  const valid =
    key !== null &&
    typeof key === "object" &&
    key.kind === index.kind &&
    typeof key[index.key] === "string" &&
    typeof key.createdAt === "number" &&
    Object.keys(key).length === 3;
  if (!valid) throw new ValidationError("cursor: not a cursor this API returned");
  return key as Record<string, unknown>;
}
