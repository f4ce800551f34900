import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { CallbackAction, CallbackStore, DeliveryReport } from "../../core/callback.ts";
import { RECORD_RETENTION_SECONDS } from "./delivery-store.ts";
import { DynamoSuppressionStore } from "./suppression-store.ts";
import { conditionHeld, ignoreConditionFailure, isConditionFailure } from "./transactions.ts";
import { expiresAfter } from "./ttl.ts";

/** Inbox keys outlive WeChat's retries (seconds) by far; TTL removes them after a day. */
const INBOX_RETENTION_SECONDS = 24 * 3600;

export interface CallbackTables {
  readonly inbox: string;
  readonly subscribers: string;
}

/** The callback's state in DynamoDB: the inbox (dedup, and delivery reports) and subscribers. */
export class DynamoCallbackStore implements CallbackStore {
  private readonly suppression: DynamoSuppressionStore;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: CallbackTables,
  ) {
    this.suppression = new DynamoSuppressionStore(db, tables.subscribers);
  }

  async claim(dedupKey: string, now: number, report?: DeliveryReport): Promise<boolean> {
    // A report lives as long as the delivery record it completes.
    const retention = report ? RECORD_RETENTION_SECONDS : INBOX_RETENTION_SECONDS;
    return conditionHeld(
      this.db.send(
        new PutCommand({
          TableName: this.tables.inbox,
          Item: {
            eventKey: dedupKey,
            at: now,
            expiresAt: expiresAfter(now, retention),
            ...(report ? { report: report.status } : {}),
          },
          ConditionExpression: "attribute_not_exists(eventKey)",
        }),
      ),
    );
  }

  async release(dedupKey: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.tables.inbox, Key: { eventKey: dedupKey } }));
  }

  async apply(action: CallbackAction): Promise<void> {
    switch (action.kind) {
      case "interaction":
        return this.interaction(action);
      case "follow":
        return this.follow(action);
      case "eventWindow":
        return this.openEventWindow(action.openid, action.window, action.at, true);
      case "unfollow":
        return this.unfollow(action.openid, action.at);
      case "suppress":
        return this.suppression.suppress([action], action.reason);
    }
  }

  private async interaction(a: Extract<CallbackAction, { kind: "interaction" }>): Promise<void> {
    const sets = [
      "lastInteractionAt = :now",
      "windowUntil = :until",
      "windowRemaining = :remaining",
      "updatedAt = :now",
      "createdAt = if_not_exists(createdAt, :now)",
    ];
    const values: Record<string, unknown> = {
      ":now": a.at,
      ":until": a.window.until,
      ":remaining": a.window.remaining,
    };
    if (a.optedIn !== undefined) {
      // The user's own choice: only their own next reply changes it (an import never re-subscribes).
      sets.push("optedIn = :optedIn", "optedInBy = :user", "optedInChangedAt = :now");
      values[":optedIn"] = a.optedIn;
      values[":user"] = "user";
    }
    await this.db.send(
      new UpdateCommand({
        TableName: this.tables.subscribers,
        Key: { openid: a.openid },
        // A new window starts without the notes of broadcasts that used the last one; the user's
        // own message lifts a suppression.
        UpdateExpression: `SET ${sets.join(", ")} REMOVE windowCalls, suppressed, suppressedAt`,
        ExpressionAttributeValues: values,
      }),
    );
  }

  private async follow(a: Extract<CallbackAction, { kind: "follow" }>): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tables.subscribers,
        Key: { openid: a.openid },
        UpdateExpression:
          "SET followed = :yes, followedAt = :now, updatedAt = :now, " +
          "optedIn = if_not_exists(optedIn, :yes), createdAt = if_not_exists(createdAt, :now) " +
          "REMOVE unfollowedAt, suppressed, suppressedAt",
        ExpressionAttributeValues: { ":yes": true, ":now": a.at },
      }),
    );
    await this.openEventWindow(a.openid, a.window, a.at, false);
  }

  /**
   * Opens a short event window: replaces a window ending sooner; a longer live one keeps its end and
   * gets at least `window.remaining` messages. `existingOnly`: does nothing for unknown openids.
   */
  private async openEventWindow(
    openid: string,
    window: { until: number; remaining: number },
    now: number,
    existingOnly: boolean,
  ) {
    const exists = existingOnly ? "attribute_exists(openid) AND " : "";
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tables.subscribers,
          Key: { openid },
          ConditionExpression: `${exists}(attribute_not_exists(windowUntil) OR windowUntil <= :until)`,
          UpdateExpression:
            "SET windowUntil = :until, windowRemaining = :remaining, lastInteractionAt = :now REMOVE windowCalls",
          ExpressionAttributeValues: { ":until": window.until, ":remaining": window.remaining, ":now": now },
        }),
      );
      return;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    // Either unknown (existingOnly) or a longer window is live: top up its remaining messages.
    await ignoreConditionFailure(
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.subscribers,
          Key: { openid },
          ConditionExpression:
            "attribute_exists(openid) AND windowUntil > :until AND " +
            "(attribute_not_exists(windowRemaining) OR windowRemaining < :remaining)",
          UpdateExpression: "SET windowRemaining = :remaining, lastInteractionAt = :now",
          ExpressionAttributeValues: { ":until": window.until, ":remaining": window.remaining, ":now": now },
        }),
      ),
    );
  }

  private async unfollow(openid: string, now: number): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tables.subscribers,
        Key: { openid },
        UpdateExpression:
          "SET followed = :no, unfollowedAt = :now, updatedAt = :now, windowRemaining = :zero",
        ExpressionAttributeValues: { ":no": false, ":now": now, ":zero": 0 },
      }),
    );
  }
}
