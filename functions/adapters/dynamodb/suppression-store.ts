import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { type SuppressionReason, suppressionReason } from "../../contracts/messages.ts";
import type { SuppressionReader, SuppressionStore } from "../../core/ports.ts";
import { groupsOf } from "../groups.ts";
import { ignoreConditionFailure, isConditionFailure } from "./transactions.ts";
import { pause } from "./unprocessed.ts";

/** BatchGetItem's most keys per request. */
const BATCH_GET_KEYS = 100;
const MAX_ROUNDS = 10;

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
    const items: Record<string, unknown>[] = [];
    for (const group of groupsOf(openids, BATCH_GET_KEYS)) {
      let keys: Record<string, unknown>[] | undefined = group.map((openid) => ({ openid }));
      for (let round = 0; keys?.length; round += 1) {
        if (round >= MAX_ROUNDS) throw new Error(`BatchGetItem on ${this.table} left keys unprocessed`);
        const out: BatchGetCommandOutput = await this.db.send(
          new BatchGetCommand({
            RequestItems: { [this.table]: { Keys: keys, ProjectionExpression: "openid, suppressed" } },
          }),
        );
        items.push(...(out.Responses?.[this.table] ?? []));
        keys = out.UnprocessedKeys?.[this.table]?.Keys;
        if (keys?.length) await pause(round);
      }
    }
    return suppressedOf(items);
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
