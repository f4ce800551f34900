import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
} from "@aws-sdk/lib-dynamodb";
import { mayContain } from "../../core/member-filter.ts";
import type { DeliveryRecord } from "../../core/model.ts";
import type { RecipientRecordFinder } from "../../core/ports.ts";
import { isTaskBroadcast } from "../../core/push-task.ts";
import { MEMBERS_ATTRIBUTE } from "./broadcast-store.ts";
import { fromEntry, type GroupEntry, groupPrefix } from "./delivery-store.ts";

/** Chunks' grouped records read at once for one broadcast. */
const CHUNK_READS = 8;

interface Consumed {
  readonly ConsumedCapacity?: { readonly CapacityUnits?: number };
}
const unitsOf = (out: Consumed) => out.ConsumedCapacity?.CapacityUnits ?? 0;

/**
 * Finds one user's delivery record in one broadcast by reading, eventually consistent (half the
 * price; a lookup may lag a write by a second). A push task's record is one item keyed by the
 * openid: one GetItem. A paid post's records are grouped (~25 to an item, keyed by chunk), so the
 * broadcast's chunk claims are read first, each with a filter of its openids written when it
 * settled, and only the chunks that may hold the user are read: about 40 read units for a broadcast
 * of 100,000 instead of the 1,000 its grouped records weigh. A chunk with no filter (not settled
 * yet, or settled before filters were kept) is read whole; a broadcast with no claims left is read
 * whole.
 */
export class DynamoDeliveryLookup implements RecipientRecordFinder {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { readonly deliveries: string; readonly broadcasts: string },
  ) {}

  async find(broadcastId: string, openid: string): Promise<{ record?: DeliveryRecord; readUnits: number }> {
    if (isTaskBroadcast(broadcastId)) {
      const out = await this.db.send(
        new GetCommand({
          TableName: this.tables.deliveries,
          Key: { broadcastId, openid },
          ReturnConsumedCapacity: "TOTAL",
        }),
      );
      const item = out.Item as (DeliveryRecord & { expiresAt?: number }) | undefined;
      if (!item) return { readUnits: unitsOf(out) };
      const { expiresAt: _expiresAt, ...record } = item;
      return { record, readUnits: unitsOf(out) };
    }
    let readUnits = 0;
    const claims: { chunkId: string; members?: Uint8Array }[] = [];
    await this.queryAll(
      {
        TableName: this.tables.broadcasts,
        KeyConditionExpression: "broadcastId = :b AND begins_with(sk, :chunk)",
        ExpressionAttributeValues: { ":b": broadcastId, ":chunk": "CHUNK#" },
        ProjectionExpression: "sk, #members",
        ExpressionAttributeNames: { "#members": MEMBERS_ATTRIBUTE },
      },
      (items, units) => {
        readUnits += units;
        for (const item of items) {
          const members = item[MEMBERS_ATTRIBUTE];
          claims.push({
            chunkId: String(item.sk).slice("CHUNK#".length),
            ...(members instanceof Uint8Array ? { members } : {}),
          });
        }
        return true;
      },
    );
    const find = async (prefix: string): Promise<DeliveryRecord | undefined> => {
      let record: DeliveryRecord | undefined;
      await this.queryAll(
        {
          TableName: this.tables.deliveries,
          KeyConditionExpression: "broadcastId = :b AND begins_with(openid, :p)",
          ExpressionAttributeValues: { ":b": broadcastId, ":p": prefix },
          ProjectionExpression: "entries",
        },
        (items, units) => {
          readUnits += units;
          for (const item of items) {
            const entry = ((item.entries ?? []) as GroupEntry[]).find((e) => e.o === openid);
            if (entry) record = fromEntry(broadcastId, entry);
          }
          return record === undefined;
        },
      );
      return record;
    };
    if (claims.length === 0) {
      const record = await find("#");
      return record ? { record, readUnits } : { readUnits };
    }
    const candidates = claims
      .filter((c) => !c.members || mayContain(c.members, openid))
      .map((c) => groupPrefix(c.chunkId));
    let record: DeliveryRecord | undefined;
    const worker = async () => {
      for (let prefix = candidates.shift(); prefix && !record; prefix = candidates.shift())
        record = (await find(prefix)) ?? record;
    };
    await Promise.all(Array.from({ length: CHUNK_READS }, worker));
    return record ? { record, readUnits } : { readUnits };
  }

  /** Every page of a query, each handed to `page` (with its read units) until it returns false. */
  private async queryAll(
    input: QueryCommandInput,
    page: (items: Record<string, unknown>[], readUnits: number) => boolean,
  ): Promise<void> {
    let start: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await this.db.send(
        new QueryCommand({
          ...input,
          ReturnConsumedCapacity: "TOTAL",
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      if (!page(out.Items ?? [], unitsOf(out))) return;
      start = out.LastEvaluatedKey;
    } while (start);
  }
}
