import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import { type BroadcastMessage, type Post, startingBroadcast } from "../../core/model.ts";
import type { PaymentNotice } from "../../core/payment.ts";
import type { PostStore } from "../../core/ports.ts";
import { putStartingBroadcast } from "./broadcast-store.ts";
import { newestFirst } from "./newest-first.ts";
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
  listNewest(limit: number, cursor: string | null): Promise<PostPage> {
    return newestFirst<Post>(
      this.db,
      { table: this.postsTable, key: "outTradeNo", kind: POST_KIND },
      limit,
      cursor,
    );
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
