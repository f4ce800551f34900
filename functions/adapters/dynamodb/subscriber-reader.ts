import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { CreditBalance, StoredSubscriber } from "../../core/subscriber-lookup.ts";

/** The fields of a subscriber's item a lookup shows (not the window's in-flight notes). */
const SUBSCRIBER_FIELDS = [
  "openid",
  "optedIn",
  "optedInBy",
  "optedInChangedAt",
  "followed",
  "followedAt",
  "unfollowedAt",
  "membershipExpiresAt",
  "windowUntil",
  "windowRemaining",
  "lastInteractionAt",
  "createdAt",
  "updatedAt",
  "suppressed",
  "suppressedAt",
] as const;

/** Sort keys of a user's credit balances in SubscriptionCredits (credit-store.ts). */
const BALANCE_PREFIX = "T#";

/** One subscriber's item and subscribe-message credits, as an operator's lookup reads them. */
export class DynamoSubscriberReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { readonly subscribers: string; readonly credits: string },
  ) {}

  /** Strongly consistent: an operator checks the effect of a change made a moment ago. */
  async get(openid: string): Promise<StoredSubscriber | undefined> {
    const names = Object.fromEntries(SUBSCRIBER_FIELDS.map((f, i) => [`#f${i}`, f]));
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tables.subscribers,
        Key: { openid },
        ConsistentRead: true,
        ProjectionExpression: Object.keys(names).join(", "),
        ExpressionAttributeNames: names,
      }),
    );
    return Item as StoredSubscriber | undefined;
  }

  /** The user's credit balance per template (reservations and grant records left out). */
  async credits(openid: string): Promise<CreditBalance[]> {
    const balances: CreditBalance[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tables.credits,
          KeyConditionExpression: "openid = :o AND begins_with(sk, :t)",
          ExpressionAttributeValues: { ":o": openid, ":t": BALANCE_PREFIX },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? [])
        balances.push({
          templateId: String(item.templateId ?? String(item.sk).slice(BALANCE_PREFIX.length)),
          credits: Number(item.credits ?? 0),
          ...(typeof item.updatedAt === "number" ? { updatedAt: item.updatedAt } : {}),
        });
      start = out.LastEvaluatedKey;
    } while (start);
    return balances;
  }
}
