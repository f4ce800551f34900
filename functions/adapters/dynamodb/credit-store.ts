import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { ConflictError } from "../../core/errors.ts";
import type { CreditGrant, CreditReservation, SubscriptionCreditStore } from "../../core/ports.ts";
import { conditionHeld, ignoreConditionFailure, transactFailedItems } from "./transactions.ts";
import { expiresAfter } from "./ttl.ts";

const balanceKey = (openid: string, templateId: string) => ({ openid, sk: `T#${templateId}` });
const reservationKey = (openid: string, broadcastId: string) => ({ openid, sk: `USE#${broadcastId}` });
const grantKey = (openid: string, idempotencyKey: string) => ({ openid, sk: `GRANT#${idempotencyKey}` });
/** A reservation only matters while its task's chunks can be redelivered or retried. */
const RESERVATION_RETENTION_SECONDS = 30 * 24 * 3600;
/** How long a mini program's retry of the same report is recognised. */
const GRANT_RETENTION_SECONDS = 7 * 24 * 3600;

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

  async grant(
    openid: string,
    templateId: string,
    count: number,
    now: number,
    idempotencyKey?: string,
  ): Promise<CreditGrant> {
    const add = {
      TableName: this.table,
      Key: balanceKey(openid, templateId),
      UpdateExpression: "ADD credits :n SET templateId = :t, updatedAt = :now",
      ExpressionAttributeValues: { ":n": count, ":t": templateId, ":now": now },
    };
    if (idempotencyKey === undefined) {
      const out = await this.db.send(new UpdateCommand({ ...add, ReturnValues: "UPDATED_NEW" }));
      return { credits: Number(out.Attributes?.credits ?? 0), replayed: false };
    }
    // The grant's record and the credits commit together, so a retried report adds nothing.
    const failed = await transactFailedItems(
      this.db,
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.table,
              Item: {
                ...grantKey(openid, idempotencyKey),
                templateId,
                count,
                at: now,
                expiresAt: expiresAfter(now, GRANT_RETENTION_SECONDS),
              },
              ConditionExpression: "attribute_not_exists(sk)",
            },
          },
          { Update: add },
        ],
      }),
    );
    if (failed.length > 0) {
      const { Item } = await this.db.send(
        new GetCommand({
          TableName: this.table,
          Key: grantKey(openid, idempotencyKey),
          ConsistentRead: true,
        }),
      );
      if (Item?.templateId !== templateId || Item?.count !== count)
        throw new ConflictError("Idempotency-Key was already used for a different grant");
    }
    return { credits: await this.credits(openid, templateId), replayed: failed.length > 0 };
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
    const failed = await transactFailedItems(
      this.db,
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
                expiresAt: expiresAfter(now, RESERVATION_RETENTION_SECONDS),
              },
              ConditionExpression: "attribute_not_exists(sk)",
            },
          },
        ],
      }),
    );
    // A reservation exists: this task reserved for the user before (held, or a call in doubt).
    if (failed.includes(1))
      return (await this.moveReservation(openid, broadcastId, "held", "calling")) ? "held" : "in_doubt";
    return failed.includes(0) ? "none" : "taken";
  }

  /** Moves the user's reservation for the broadcast from `from` to `to`; false if it was not in `from`. */
  private async moveReservation(
    openid: string,
    broadcastId: string,
    from: "held" | "calling",
    to: "held" | "calling",
  ): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: reservationKey(openid, broadcastId),
          ConditionExpression: "#state = :from",
          UpdateExpression: "SET #state = :to",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: { ":from": from, ":to": to },
        }),
      ),
    );
  }

  async hold(openid: string, broadcastId: string): Promise<void> {
    await this.moveReservation(openid, broadcastId, "calling", "held");
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
