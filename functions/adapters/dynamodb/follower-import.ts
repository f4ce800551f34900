import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { FollowerImporter, SyncMark } from "../../core/ports.ts";
import { ignoreConditionFailure, isConditionFailure } from "./transactions.ts";

/** The suppression of a subscriber WeChat answered 43004 (not following) for. */
const UNFOLLOWED_SUPPRESSION = "43004";
/** Subscriber writes in flight at once while a page of followers is imported. */
const CONCURRENCY = 32;

/**
 * Writes WeChat's followers into Subscribers. Each follower costs one conditional create; when the
 * subscriber exists, the refused create hands back the stored item, which says whether this very page
 * created it before (a crashed attempt: still counted as imported) and whether it needs an update.
 */
export class DynamoFollowerImporter implements FollowerImporter {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async importFollowers(
    openids: readonly string[],
    mark: SyncMark,
    listedAt: number,
    now: number,
  ): Promise<{ imported: number; alreadyKnown: number }> {
    let next = 0;
    let imported = 0;
    const worker = async () => {
      for (let i = next++; i < openids.length; i = next++)
        if (await this.importOne(openids[i] as string, mark, listedAt, now)) imported += 1;
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, openids.length) }, worker));
    return { imported, alreadyKnown: openids.length - imported };
  }

  /** True when the subscriber is new to Fanout (created by this page, now or in an earlier attempt). */
  private async importOne(openid: string, mark: SyncMark, listedAt: number, now: number): Promise<boolean> {
    let stored: Record<string, unknown>;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { openid },
          ConditionExpression: "attribute_not_exists(openid)",
          UpdateExpression:
            "SET followed = :yes, optedIn = :yes, createdAt = :now, updatedAt = :now, " +
            "createdBySync = :sync, createdOnPage = :page",
          ExpressionAttributeValues: { ":yes": true, ":now": now, ":sync": mark.syncId, ":page": mark.page },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // The document client does not unmarshall items carried by exceptions.
      const item = (error as { Item?: Record<string, AttributeValue> }).Item;
      stored = item ? unmarshall(item) : {};
    }
    const own = stored.createdBySync === mark.syncId && stored.createdOnPage === mark.page;
    // WeChat's 43004 suppression ends with the listing that says they follow (a refusal does not).
    const unfollowedSuppression = stored.suppressed === UNFOLLOWED_SUPPRESSION;
    if (stored.followed !== true || stored.optedIn === undefined || unfollowedSuppression)
      // Following again (the list says so), unless they unfollowed after WeChat listed them; their
      // stored optedIn stands, a user's own 0 above all; one with none gets the default.
      await ignoreConditionFailure(
        this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { openid },
            ConditionExpression: `NOT (followed = :no AND unfollowedAt > :listedAt)${unfollowedSuppression ? " AND suppressed = :unfollowed" : ""}`,
            UpdateExpression: `SET followed = :yes, updatedAt = :now, optedIn = if_not_exists(optedIn, :yes) REMOVE unfollowedAt${unfollowedSuppression ? ", suppressed, suppressedAt" : ""}`,
            ExpressionAttributeValues: {
              ":yes": true,
              ":no": false,
              ":now": now,
              ":listedAt": listedAt,
              ...(unfollowedSuppression ? { ":unfollowed": UNFOLLOWED_SUPPRESSION } : {}),
            },
          }),
        ),
      );
    return own;
  }
}
