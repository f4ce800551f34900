import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import type { BroadcastMessage, Post } from "../../core/model.ts";
import type { PaymentNotice } from "../../core/payment.ts";
import type { PostStore } from "../../core/ports.ts";
import { META } from "./broadcast-store.ts";
import { isConditionFailure, transactWithRetry } from "./transactions.ts";

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
          Item: post,
          ConditionExpression: "attribute_not_exists(outTradeNo)",
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
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
          {
            Put: {
              TableName: this.broadcastsTable,
              Item: {
                broadcastId: broadcast.broadcastId,
                sk: META,
                outTradeNo: post.outTradeNo,
                message: broadcast.message,
                paused: false,
                fanoutPage: 0,
                fanoutDone: false,
                total: 0,
                sent: 0,
                failed: 0,
                skipped: 0,
                byChannel: {},
                byErrcode: {},
                createdAt: now,
              },
              ConditionExpression: "attribute_not_exists(broadcastId)",
            },
          },
        ],
      }),
    );
  }
}
