import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { type SuppressionReason, suppressionReason } from "../../contracts/messages.ts";
import type { SuppressionReader, SuppressionStore } from "../../core/ports.ts";
import { ignoreConditionFailure, isConditionFailure } from "./transactions.ts";
import { batchGetByOpenid } from "./unprocessed.ts";

/** The suppressed among subscriber items that carry `openid` and `suppressed`. */
export function suppressedOf(items: readonly Record<string, unknown>[]): Map<string, SuppressionReason> {
  const suppressed = new Map<string, SuppressionReason>();
  for (const item of items) {
    const reason = suppressionReason.safeParse(item.suppressed);
    if (reason.success && typeof item.openid === "string") suppressed.set(item.openid, reason.data);
  }
  return suppressed;
}

/**
 * Suppression on the subscribers' items: `suppressed` (the reason) and `suppressedAt` (since when).
 * The user's message and a follow lift it in the callback's own writes (callback-store.ts).
 */
export class DynamoSuppressionStore implements SuppressionStore, SuppressionReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** One conditional write per subscriber; `since` stays that of a suppression already in place. */
  async suppress(
    marks: readonly { readonly openid: string; readonly at: number }[],
    reason: SuppressionReason,
  ): Promise<void> {
    await Promise.all(
      marks.map(({ openid, at }) =>
        ignoreConditionFailure(
          this.db.send(
            new UpdateCommand({
              TableName: this.table,
              Key: { openid },
              // A comparison with a missing attribute is false, so `NOT (…)` holds for one never set.
              ConditionExpression:
                "attribute_exists(openid) AND NOT (lastInteractionAt > :at) AND NOT (followedAt > :at)",
              UpdateExpression: "SET suppressed = :reason, suppressedAt = if_not_exists(suppressedAt, :at)",
              ExpressionAttributeValues: { ":reason": reason, ":at": at },
            }),
          ),
        ),
      ),
    );
  }

  /** Eventually consistent BatchGetItem, 100 keys a request: half a read unit per subscriber. */
  async suppressedAmong(openids: readonly string[]): Promise<ReadonlyMap<string, SuppressionReason>> {
    return suppressedOf(
      await batchGetByOpenid(this.db, this.table, openids, { ProjectionExpression: "openid, suppressed" }),
    );
  }

  /**
   * An operator lifts the subscriber's suppression: the reason it had, null when there was none (no
   * write then), undefined when there is no such subscriber.
   */
  async unsuppress(openid: string): Promise<SuppressionReason | null | undefined> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { openid },
          ConditionExpression: "attribute_exists(suppressed)",
          UpdateExpression: "REMOVE suppressed, suppressedAt",
          ReturnValues: "UPDATED_OLD",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return suppressionReason.safeParse(Attributes?.suppressed).data ?? null;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // The document client does not unmarshall items carried by exceptions.
      const item = (error as { Item?: Record<string, AttributeValue> }).Item;
      return item && unmarshall(item).openid ? null : undefined;
    }
  }
}
