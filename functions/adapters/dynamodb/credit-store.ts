import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { CreditReservation, SubscriptionCreditStore } from "../../core/ports.ts";
import { ignoreConditionFailure, isConditionFailure } from "./transactions.ts";

const balanceKey = (openid: string, templateId: string) => ({ openid, sk: `T#${templateId}` });
const reservationKey = (openid: string, broadcastId: string) => ({ openid, sk: `USE#${broadcastId}` });
/** A reservation only matters while its task's chunks can be redelivered or retried. */
const RESERVATION_RETENTION_SECONDS = 30 * 24 * 3600;
const MAX_CONFLICT_RETRIES = 8;

/**
 * Subscribe-message credits as the mini program reported them, and per task and user the credit a
 * task reserved. A reservation is `calling` while a WeChat call may deliver it and `held` once
 * WeChat answered without delivering.
 */
export class DynamoCreditStore implements SubscriptionCreditStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async grant(openid: string, templateId: string, count: number, now: number): Promise<number> {
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: balanceKey(openid, templateId),
        UpdateExpression: "ADD credits :n SET templateId = :t, updatedAt = :now",
        ExpressionAttributeValues: { ":n": count, ":t": templateId, ":now": now },
        ReturnValues: "UPDATED_NEW",
      }),
    );
    return Number(out.Attributes?.credits ?? 0);
  }

  async credits(openid: string, templateId: string): Promise<number> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: balanceKey(openid, templateId), ConsistentRead: true }),
    );
    return Number(Item?.credits ?? 0);
  }

  /**
   * One transaction takes a credit and writes the reservation, each conditioned (a credit left; no
   * reservation yet), so a credit is used at most once per task and user however often the chunk is
   * delivered, and never without a reservation that says a call may follow.
   */
  async reserve(
    openid: string,
    templateId: string,
    broadcastId: string,
    now: number,
  ): Promise<CreditReservation> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.db.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: this.table,
                  Key: balanceKey(openid, templateId),
                  ConditionExpression: "credits > :zero",
                  UpdateExpression: "SET credits = credits - :one, updatedAt = :now",
                  ExpressionAttributeValues: { ":zero": 0, ":one": 1, ":now": now },
                },
              },
              {
                Put: {
                  TableName: this.table,
                  Item: {
                    ...reservationKey(openid, broadcastId),
                    state: "calling",
                    templateId,
                    at: now,
                    expiresAt: Math.floor(now / 1000) + RESERVATION_RETENTION_SECONDS,
                  },
                  ConditionExpression: "attribute_not_exists(sk)",
                },
              },
            ],
          }),
        );
        return "taken";
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const codes = (error.CancellationReasons ?? []).map((r) => r.Code);
        if (codes[1] === "ConditionalCheckFailed") return this.resume(openid, broadcastId);
        if (codes[0] === "ConditionalCheckFailed") return "none";
        if (attempt >= MAX_CONFLICT_RETRIES) throw error;
        const ceiling = 20 * 2 ** attempt;
        await new Promise((r) => setTimeout(r, ceiling / 2 + Math.random() * (ceiling / 2)));
      }
    }
  }

  /** An existing reservation: a held one is taken up for a call; a calling one is in doubt. */
  private async resume(openid: string, broadcastId: string): Promise<CreditReservation> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: reservationKey(openid, broadcastId),
          ConditionExpression: "#state = :held",
          UpdateExpression: "SET #state = :calling",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: { ":held": "held", ":calling": "calling" },
        }),
      );
      return "held";
    } catch (error) {
      if (isConditionFailure(error)) return "in_doubt";
      throw error;
    }
  }

  async hold(openid: string, broadcastId: string): Promise<void> {
    await ignoreConditionFailure(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: reservationKey(openid, broadcastId),
          ConditionExpression: "#state = :calling",
          UpdateExpression: "SET #state = :held",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: { ":held": "held", ":calling": "calling" },
        }),
      ),
    );
  }

  async revoke(openid: string, templateId: string): Promise<void> {
    await ignoreConditionFailure(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: balanceKey(openid, templateId),
          ConditionExpression: "attribute_exists(sk)",
          UpdateExpression: "SET credits = :zero",
          ExpressionAttributeValues: { ":zero": 0 },
        }),
      ),
    );
  }
}
