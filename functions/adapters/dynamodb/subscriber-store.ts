import { type DynamoDBDocumentClient, GetCommand, ScanCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Subscriber } from "../../core/model.ts";
import type { AudiencePage, AudienceReader, SubscriberStatusStore, WindowUse } from "../../core/ports.ts";
import { ignoreConditionFailure, isConditionFailure } from "./transactions.ts";

/** How many subscriber upserts run at once within one import request. */
const UPSERT_CONCURRENCY = 32;

export class DynamoSubscriberStore implements AudienceReader, SubscriberStatusStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * One page of the audience by Scan: the filter runs after `limit` items are read, so a page may
   * hold fewer active subscribers than `limit`, or none, and still have a next page.
   */
  async readPage(cursor: string | null, limit: number, now: number): Promise<AudiencePage> {
    const out = await this.db.send(
      new ScanCommand({
        TableName: this.table,
        Limit: limit,
        ...(cursor ? { ExclusiveStartKey: { openid: cursor } } : {}),
        ProjectionExpression: "openid, windowUntil, windowRemaining",
        FilterExpression:
          "optedIn = :yes AND (attribute_not_exists(followed) OR followed = :yes) AND " +
          "(attribute_not_exists(membershipExpiresAt) OR membershipExpiresAt > :now)",
        ExpressionAttributeValues: { ":yes": true, ":now": now },
      }),
    );
    const next = out.LastEvaluatedKey?.openid;
    const items = out.Items ?? [];
    return {
      openids: items.map((item) => item.openid as string),
      windowed: items
        .filter((item) => Number(item.windowUntil) > now && Number(item.windowRemaining) > 0)
        .map((item) => item.openid as string),
      next: typeof next === "string" ? next : null,
    };
  }

  /**
   * Inserts or updates subscribers. A field the caller leaves out keeps its stored value, so an
   * import never re-subscribes someone who replied 0; new subscribers start opted in and following.
   */
  async upsert(subscribers: readonly Subscriber[], now: number): Promise<void> {
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < subscribers.length; i = next++) {
        const s = subscribers[i] as Subscriber;
        const sets = [
          "updatedAt = :now",
          "createdAt = if_not_exists(createdAt, :now)",
          "followed = if_not_exists(followed, :yes)",
          s.optedIn === undefined ? "optedIn = if_not_exists(optedIn, :yes)" : "optedIn = :optedIn",
        ];
        const values: Record<string, unknown> = { ":now": now, ":yes": true };
        if (s.optedIn !== undefined) values[":optedIn"] = s.optedIn;
        if (s.membershipExpiresAt !== undefined) {
          sets.push("membershipExpiresAt = :expires");
          values[":expires"] = s.membershipExpiresAt;
        }
        await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { openid: s.openid },
            UpdateExpression: `SET ${sets.join(", ")}`,
            ExpressionAttributeValues: values,
          }),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(UPSERT_CONCURRENCY, subscribers.length) }, worker));
  }

  /**
   * The window notes which broadcasts hold one of its messages (`windowCalls`), in the same write
   * that uses the message, so a chunk delivered again after a crash finds its own note.
   */
  async consumeWindow(openid: string, broadcastId: string, now: number): Promise<WindowUse> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { openid },
          ConditionExpression:
            "windowRemaining > :zero AND windowUntil > :now AND NOT contains(windowCalls, :b)",
          UpdateExpression: "SET windowRemaining = windowRemaining - :one ADD windowCalls :calls",
          ExpressionAttributeValues: {
            ":zero": 0,
            ":one": 1,
            ":now": now,
            ":b": broadcastId,
            ":calls": new Set([broadcastId]),
          },
        }),
      );
      return "taken";
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { openid },
        ProjectionExpression: "windowCalls",
        ConsistentRead: true,
      }),
    );
    return (Item?.windowCalls as Set<string> | undefined)?.has(broadcastId) ? "in_doubt" : "none";
  }

  async releaseWindow(openid: string, broadcastId: string, refund: boolean): Promise<void> {
    await ignoreConditionFailure(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { openid },
          ConditionExpression: "contains(windowCalls, :b)",
          UpdateExpression: `${refund ? "ADD windowRemaining :one " : ""}DELETE windowCalls :calls`,
          ExpressionAttributeValues: {
            ":b": broadcastId,
            ":calls": new Set([broadcastId]),
            ...(refund ? { ":one": 1 } : {}),
          },
        }),
      ),
    );
  }

  async markUnfollowed(openids: readonly string[], now: number): Promise<void> {
    await Promise.all(
      openids.map((openid) =>
        ignoreConditionFailure(
          this.db.send(
            new UpdateCommand({
              TableName: this.table,
              Key: { openid },
              ConditionExpression: "attribute_exists(openid)",
              UpdateExpression: "SET followed = :no, unfollowedAt = :now, updatedAt = :now",
              ExpressionAttributeValues: { ":no": false, ":now": now },
            }),
          ),
        ),
      ),
    );
  }
}
