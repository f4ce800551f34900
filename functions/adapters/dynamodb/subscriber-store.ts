import { type DynamoDBDocumentClient, GetCommand, ScanCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Subscriber } from "../../core/model.ts";
import type {
  AudiencePage,
  AudienceReader,
  ConsentReader,
  SubscriberStatusStore,
  WindowUse,
} from "../../core/ports.ts";
import { suppressedOf } from "./suppression-store.ts";
import { ignoreConditionFailure, isConditionFailure } from "./transactions.ts";

/** How many subscriber upserts run at once within one import request. */
const UPSERT_CONCURRENCY = 32;
/** `optedInBy`: whose choice the stored `optedIn` is. Only the user's own reply undoes the user's 0. */
const OPERATOR_OUT = { ":no": false, ":operator": "operator" };
const OPERATOR_IN = { ":no": false, ":operator": "operator", ":user": "user" };

export class DynamoSubscriberStore implements AudienceReader, SubscriberStatusStore, ConsentReader {
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
        ProjectionExpression: "openid, windowUntil, windowRemaining, suppressed",
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
      suppressed: suppressedOf(items),
    };
  }

  /**
   * Inserts or updates subscribers. A field the caller leaves out keeps its stored value; new
   * subscribers start opted in and following. An operator may always opt someone out, but never back
   * in over the user's own 0 (nor over a 0 from before `optedInBy` was kept): those keep their choice,
   * the rest of their row is still updated, and they are counted.
   */
  async upsert(subscribers: readonly Subscriber[], now: number): Promise<{ keptOptedOut: number }> {
    let next = 0;
    let keptOptedOut = 0;
    const worker = async () => {
      for (let i = next++; i < subscribers.length; i = next++) {
        const s = subscribers[i] as Subscriber;
        const sets = [
          "updatedAt = :now",
          "createdAt = if_not_exists(createdAt, :now)",
          "followed = if_not_exists(followed, :yes)",
        ];
        const values: Record<string, unknown> = { ":now": now, ":yes": true };
        if (s.membershipExpiresAt !== undefined) {
          sets.push("membershipExpiresAt = :expires");
          values[":expires"] = s.membershipExpiresAt;
        }
        const update = (optedIn: string[], extra: Record<string, unknown>, condition?: string) =>
          this.db.send(
            new UpdateCommand({
              TableName: this.table,
              Key: { openid: s.openid },
              UpdateExpression: `SET ${[...sets, ...optedIn].join(", ")}`,
              ExpressionAttributeValues: { ...values, ...extra },
              ...(condition ? { ConditionExpression: condition, ReturnValues: "UPDATED_OLD" } : {}),
            }),
          );
        if (s.optedIn === undefined) await update(["optedIn = if_not_exists(optedIn, :yes)"], {});
        else if (!s.optedIn)
          await update(["optedIn = :no", "optedInBy = :operator", "optedInChangedAt = :now"], OPERATOR_OUT);
        else {
          try {
            const { Attributes } = await update(
              ["optedIn = :yes", "optedInBy = :operator"],
              OPERATOR_IN,
              "NOT (optedIn = :no AND (optedInBy = :user OR attribute_not_exists(optedInBy)))",
            );
            // The operator undid their own opt-out: the choice changed now (the lookup's "since").
            if (Attributes?.optedIn === false) await this.markOptedInChanged(s.openid, now);
          } catch (error) {
            if (!isConditionFailure(error)) throw error;
            keptOptedOut += 1;
            await update([], {});
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(UPSERT_CONCURRENCY, subscribers.length) }, worker));
    return { keptOptedOut };
  }

  /** One read per openid: previews ask about a few test users at a time. */
  async optedOut(openids: readonly string[]): Promise<ReadonlySet<string>> {
    const items = await Promise.all(
      openids.map(async (openid) => {
        const { Item } = await this.db.send(
          new GetCommand({ TableName: this.table, Key: { openid }, ProjectionExpression: "optedIn" }),
        );
        return Item?.optedIn === false ? openid : undefined;
      }),
    );
    return new Set(items.filter((openid) => openid !== undefined));
  }

  /** Notes when an operator's opt-in over their own opt-out took effect, unless a reply came since. */
  private async markOptedInChanged(openid: string, now: number): Promise<void> {
    await ignoreConditionFailure(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { openid },
          ConditionExpression: "optedIn = :yes AND optedInBy = :operator",
          UpdateExpression: "SET optedInChangedAt = :now",
          ExpressionAttributeValues: { ":yes": true, ":operator": "operator", ":now": now },
        }),
      ),
    );
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
              // Suppressed in the same write: a push task's uploaded list is not filtered by following.
              UpdateExpression:
                "SET followed = :no, unfollowedAt = :now, updatedAt = :now, " +
                "suppressed = :reason, suppressedAt = if_not_exists(suppressedAt, :now)",
              ExpressionAttributeValues: { ":no": false, ":now": now, ":reason": "43004" },
            }),
          ),
        ),
      ),
    );
  }
}
