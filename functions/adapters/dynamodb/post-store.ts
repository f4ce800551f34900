import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import { ValidationError } from "../../core/errors.ts";
import { type BroadcastMessage, type Post, startingBroadcast } from "../../core/model.ts";
import type { PaymentNotice } from "../../core/payment.ts";
import type { PostStore } from "../../core/ports.ts";
import { putStartingBroadcast } from "./broadcast-store.ts";
import { isConditionFailure, transactWithRetry } from "./transactions.ts";

/** Partition of the sparse `byCreatedAt` index that lists posts newest first. */
const POST_KIND = "post";

/** One page of posts, newest first; `next` is an opaque cursor for the following page. */
export interface PostPage {
  readonly items: Post[];
  readonly next: string | null;
}

export class DynamoPostStore implements PostStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly postsTable: string,
    private readonly broadcastsTable: string,
  ) {}

  async get(outTradeNo: string): Promise<Post | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.postsTable, Key: { outTradeNo }, ConsistentRead: true }),
    );
    return Item as Post | undefined;
  }

  async create(post: Post): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.postsTable,
          Item: { ...post, kind: POST_KIND },
          ConditionExpression: "attribute_not_exists(outTradeNo)",
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Posts newest first, `limit` per page. The index has one partition: posts are paid by people, a
   * few per second at most, far below what one index partition takes.
   */
  async listNewest(limit: number, cursor: string | null): Promise<PostPage> {
    const { Items, LastEvaluatedKey } = await this.db.send(
      new QueryCommand({
        TableName: this.postsTable,
        IndexName: "byCreatedAt",
        KeyConditionExpression: "#kind = :kind",
        ExpressionAttributeNames: { "#kind": "kind" },
        ExpressionAttributeValues: { ":kind": POST_KIND },
        ScanIndexForward: false,
        Limit: limit,
        ...(cursor ? { ExclusiveStartKey: decodeCursor(cursor) } : {}),
      }),
    );
    return {
      items: (Items ?? []).map(({ kind: _kind, ...post }) => post as Post),
      next: LastEvaluatedKey ? Buffer.from(JSON.stringify(LastEvaluatedKey)).toString("base64url") : null,
    };
  }

  async markPaidAndCreateBroadcast(
    post: Post,
    notice: PaymentNotice,
    broadcast: { broadcastId: string; message: BroadcastMessage },
    now: number,
  ): Promise<boolean> {
    return transactWithRetry(
      this.db,
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: this.postsTable,
              Key: { outTradeNo: post.outTradeNo },
              ConditionExpression: "#status = :pending",
              UpdateExpression:
                "SET #status = :paid, paidAt = :now, transactionId = :tx, broadcastId = :b, payerOpenid = :payer",
              ExpressionAttributeNames: { "#status": "status" },
              ExpressionAttributeValues: {
                ":pending": "PENDING",
                ":paid": "PAID",
                ":now": now,
                ":tx": notice.transactionId,
                ":b": broadcast.broadcastId,
                ":payer": notice.payerOpenid ?? null,
              },
            },
          },
          putStartingBroadcast(
            this.broadcastsTable,
            startingBroadcast(broadcast.broadcastId, now, {
              outTradeNo: post.outTradeNo,
              message: broadcast.message,
            }),
          ),
        ],
      }),
    );
  }
}

/** A cursor is the index key of the last post of a page; anything else is the caller's mistake. */
function decodeCursor(cursor: string): Record<string, unknown> {
  try {
    const key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Record<string, unknown>;
    if (
      key.kind === POST_KIND &&
      typeof key.outTradeNo === "string" &&
      typeof key.createdAt === "number" &&
      Object.keys(key).length === 3
    )
      return key;
  } catch {
    // Falls through to the error below.
  }
  throw new ValidationError("cursor: not a cursor this API returned");
}
