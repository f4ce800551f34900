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
 * A sparse index over one constant partition, read in its sort key's order: `byCreatedAt` newest
 * first, or `byReview` (held posts) longest waiting first.
 */
export interface SortedIndex {
  readonly table: string;
  readonly name: string;
  /** The table's own key attribute (string). */
  readonly key: string;
  /** The index's partition attribute and its one value: only listed items carry it. */
  readonly partition: { readonly attribute: string; readonly value: string };
  /** The index's sort attribute (a number). */
  readonly sort: string;
  readonly newestFirst: boolean;
}

/**
 * One page of the items, newest first, without the `kind` attribute. The cursor is the page's last
 * key, opaque to callers; one this index did not hand out is a ValidationError.
 */
export function newestFirst<T>(
  db: DynamoDBDocumentClient,
  index: NewestFirstIndex,
  limit: number,
  cursor: string | null,
): Promise<{ items: T[]; next: string | null }> {
  return indexPage<T>(
    db,
    {
      table: index.table,
      name: "byCreatedAt",
      key: index.key,
      partition: { attribute: "kind", value: index.kind },
      sort: "createdAt",
      newestFirst: true,
    },
    limit,
    cursor,
  );
}

/** One page of a sparse index, its partition attribute left out; the cursor as newestFirst's. */
export async function indexPage<T>(
  db: DynamoDBDocumentClient,
  index: SortedIndex,
  limit: number,
  cursor: string | null,
): Promise<{ items: T[]; next: string | null }> {
  const { Items, LastEvaluatedKey } = await db.send(
    new QueryCommand({
      TableName: index.table,
      IndexName: index.name,
      KeyConditionExpression: "#partition = :partition",
      ExpressionAttributeNames: { "#partition": index.partition.attribute },
      ExpressionAttributeValues: { ":partition": index.partition.value },
      ScanIndexForward: !index.newestFirst,
      Limit: limit,
      ...(cursor ? { ExclusiveStartKey: decodeCursor(index, cursor) } : {}),
    }),
  );
  return {
    items: (Items ?? []).map(({ [index.partition.attribute]: _partition, ...item }) => item as T),
    next: LastEvaluatedKey ? Buffer.from(JSON.stringify(LastEvaluatedKey)).toString("base64url") : null,
  };
}

function decodeCursor(index: SortedIndex, cursor: string): Record<string, unknown> {
  let key: Record<string, unknown> | undefined;
  try {
    key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    key = undefined;
  }
  const valid =
    key !== null &&
    typeof key === "object" &&
    key[index.partition.attribute] === index.partition.value &&
    typeof key[index.key] === "string" &&
    typeof key[index.sort] === "number" &&
    Object.keys(key).length === 3;
  if (!valid) throw new ValidationError("cursor: not a cursor this API returned");
  return key as Record<string, unknown>;
}
