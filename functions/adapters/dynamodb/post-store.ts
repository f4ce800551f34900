import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  type TransactWriteUpdate,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { type BroadcastMessage, type Post, postBroadcastId, startingBroadcast } from "../../core/model.ts";
import type { PaymentNotice } from "../../core/payment.ts";
import type { PostReviewStore, PostStore } from "../../core/ports.ts";
import { putStartingBroadcast } from "./broadcast-store.ts";
import { indexPage, newestFirst } from "./newest-first.ts";
import { conditionHeld, transactWithRetry } from "./transactions.ts";

/** Partition of the sparse `byCreatedAt` index that lists posts newest first. */
const POST_KIND = "post";
/**
 * Partition of the sparse `byReview` index (sort key `paidAt`): only a held post carries
 * `reviewQueue`, and the write that approves or rejects it removes it, so the index is the queue.
 */
const REVIEW_QUEUE = "held";

/** One page of posts, newest first; `next` is an opaque cursor for the following page. */
export interface PostPage {
  readonly items: Post[];
  readonly next: string | null;
}

export class DynamoPostStore implements PostStore, PostReviewStore {
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
    return conditionHeld(
      this.db.send(
        new PutCommand({
          TableName: this.postsTable,
          Item: { ...post, kind: POST_KIND },
          ConditionExpression: "attribute_not_exists(outTradeNo)",
        }),
      ),
    );
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
    return this.updateAndStartBroadcast(
      this.markPaid(post, notice, broadcast.broadcastId, now),
      post,
      broadcast,
      now,
    );
  }

  async markPaidAndHold(post: Post, notice: PaymentNotice, reason: string, now: number): Promise<boolean> {
    const paid = this.markPaid(post, notice, postBroadcastId(post.outTradeNo), now);
    return conditionHeld(
      this.db.send(
        new UpdateCommand({
          ...paid,
          UpdateExpression: `${paid.UpdateExpression}, review = :held, reviewReason = :reason, reviewQueue = :queue`,
          ExpressionAttributeValues: {
            ...paid.ExpressionAttributeValues,
            ":held": "held",
            ":reason": reason,
            ":queue": REVIEW_QUEUE,
          },
        }),
      ),
    );
  }

  /** The update that marks a post paid, only from PENDING: with its broadcast, or held for review. */
  private markPaid(post: Post, notice: PaymentNotice, broadcastId: string, now: number) {
    return {
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
        ":b": broadcastId,
        ":payer": notice.payerOpenid ?? null,
      } as Record<string, unknown>,
    };
  }

  async approve(
    post: Post,
    broadcast: { broadcastId: string; message: BroadcastMessage },
    now: number,
  ): Promise<boolean> {
    return this.updateAndStartBroadcast(
      this.decision(post.outTradeNo, "approved", now),
      post,
      broadcast,
      now,
    );
  }

  async reject(outTradeNo: string, reason: string, now: number): Promise<boolean> {
    return conditionHeld(this.db.send(new UpdateCommand(this.decision(outTradeNo, "rejected", now, reason))));
  }

  /** The review queue, oldest payment first: a held post waits no longer than it must. */
  listHeld(limit: number, cursor: string | null): Promise<PostPage> {
    return indexPage<Post>(
      this.db,
      {
        table: this.postsTable,
        name: "byReview",
        key: "outTradeNo",
        partition: { attribute: "reviewQueue", value: REVIEW_QUEUE },
        sort: "paidAt",
        newestFirst: false,
      },
      limit,
      cursor,
    );
  }

  /** The update that ends a held post's review, only while it is held; it leaves the queue. */
  /** Writes `update` of a post and its broadcast's starting item together: false when a condition failed. */
  private updateAndStartBroadcast(
    update: TransactWriteUpdate,
    post: Post,
    broadcast: { broadcastId: string; message: BroadcastMessage },
    now: number,
  ): Promise<boolean> {
    return transactWithRetry(
      this.db,
      new TransactWriteCommand({
        TransactItems: [
          { Update: update },
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

  private decision(
    outTradeNo: string,
    state: "approved" | "rejected",
    now: number,
    rejectionReason?: string,
  ) {
    const why = rejectionReason === undefined ? {} : { ":why": rejectionReason };
    return {
      TableName: this.postsTable,
      Key: { outTradeNo },
      ConditionExpression: "review = :held",
      UpdateExpression: `SET review = :state, reviewedAt = :now${rejectionReason === undefined ? "" : ", rejectionReason = :why"} REMOVE reviewQueue`,
      ExpressionAttributeValues: { ":held": "held", ":state": state, ":now": now, ...why },
    };
  }
}

/** A cursor is the index key of the last post of a page; anything else is the caller's mistake. */
