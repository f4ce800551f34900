import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandOutput } from "@aws-sdk/lib-dynamodb";
import { ValidationError } from "../../core/errors.ts";
import type { DeliveryRecord, Outcome } from "../../core/model.ts";
import { fromEntry, GROUP_MARK, type GroupEntry } from "./delivery-store.ts";

/**
 * Where a listing of grouped records resumes: inside the item keyed `key`, at entry `index`. Item
 * keys only grow, so a cursor stays valid while the broadcast is still writing records.
 */
export interface GroupedCursor {
  readonly key: string;
  readonly index: number;
}

/** Query rounds per page: a sparse filter answers a short page with a cursor rather than a slow one. */
const MAX_ROUNDS = 10;
/** Entries per grouped item (the sender flushes 25): how many items a page needs, roughly. */
const ENTRIES_PER_ITEM = 25;
/** Items read per round at most (~800 KB), when a filter leaves most entries out. */
const MAX_ITEMS_PER_ROUND = 400;
/** `#<chunkId>#<first openid>` (delivery-store.ts). */
const GROUP_KEY = /^#[A-Za-z0-9_-]{1,40}#[A-Za-z0-9_-]{6,64}$/;

/** The cursor as the API hands it out: opaque, URL-safe. */
export function encodeGroupedCursor(cursor: GroupedCursor | null): string | null {
  return cursor === null
    ? null
    : Buffer.from(JSON.stringify([cursor.key, cursor.index])).toString("base64url");
}

/** A cursor this API handed out; anything else is the caller's mistake. */
export function decodeGroupedCursor(text: string): GroupedCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (
    Array.isArray(parsed) &&
    parsed.length === 2 &&
    typeof parsed[0] === "string" &&
    GROUP_KEY.test(parsed[0]) &&
    Number.isInteger(parsed[1]) &&
    parsed[1] >= 0 &&
    parsed[1] <= 1000
  )
    return { key: parsed[0], index: parsed[1] };
  throw new ValidationError("cursor: not a cursor this API returned");
}

/**
 * A paid post's delivery records, read from their grouped items (one per flush of ~25, see
 * delivery-store.ts) and flattened, in the items' key order (by chunk, not by openid). The status
 * filter runs here: DynamoDB cannot filter inside an item's list, so filtered pages read more items.
 */
export class DynamoGroupedDeliveryReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async listPage(
    broadcastId: string,
    opts: { readonly limit: number; readonly after?: GroupedCursor; readonly outcome?: Outcome },
  ): Promise<{ items: DeliveryRecord[]; next: GroupedCursor | null }> {
    const items: DeliveryRecord[] = [];
    const resume = opts.after;
    let start: Record<string, unknown> | undefined;
    let perRound = Math.ceil(opts.limit / ENTRIES_PER_ITEM) + 1;
    let last: GroupedCursor | null = null;
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const out: QueryCommandOutput = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          // The first round starts at the cursor's item itself (inclusive), later ones after the last.
          KeyConditionExpression:
            resume && !start
              ? "broadcastId = :b AND openid >= :k"
              : "broadcastId = :b AND begins_with(openid, :g)",
          ExpressionAttributeValues: {
            ":b": broadcastId,
            ...(resume && !start ? { ":k": resume.key } : { ":g": GROUP_MARK }),
          },
          ProjectionExpression: "openid, entries",
          Limit: Math.min(MAX_ITEMS_PER_ROUND, perRound),
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      const page = out.Items ?? [];
      for (const [n, item] of page.entries()) {
        const key = String(item.openid);
        const entries = (item.entries ?? []) as GroupEntry[];
        const from = round === 0 && resume?.key === key ? resume.index : 0;
        for (let i = from; i < entries.length; i += 1) {
          const entry = entries[i] as GroupEntry;
          if (opts.outcome && entry.s !== opts.outcome) continue;
          items.push(fromEntry(broadcastId, entry));
          if (items.length === opts.limit) {
            const exhausted = i === entries.length - 1 && n === page.length - 1 && !out.LastEvaluatedKey;
            return { items, next: exhausted ? null : { key, index: i + 1 } };
          }
        }
        last = { key, index: entries.length };
      }
      start = out.LastEvaluatedKey;
      if (!start) return { items, next: null };
      // A filter that matched little: read more items in the next round.
      if (opts.outcome) perRound *= 2;
    }
    return { items, next: last ?? resume ?? null };
  }
}
