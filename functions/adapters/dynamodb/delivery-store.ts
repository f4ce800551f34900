import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
} from "@aws-sdk/lib-dynamodb";
import type { Channel, DeliveryRecord, Outcome } from "../../core/model.ts";
import type { ChunkRef, DeliveryStore } from "../../core/ports.ts";
import { isTaskBroadcast } from "../../core/push-task.ts";
import { groupsOf } from "../groups.ts";
import { expiresAfter } from "./ttl.ts";
import { pause, retryUnprocessed } from "./unprocessed.ts";

/** Records per tally page: a few hundred KB read, ten BatchGets of reports. */
const MSGID_PAGE = 1000;
/** Delivery records are kept 30 days, then DynamoDB's TTL removes them at no write cost. */
export const RECORD_RETENTION_SECONDS = 30 * 24 * 3600;
/** Query rounds per listing page: a filter may leave DynamoDB pages empty, but a request stays short. */
const MAX_LIST_ROUNDS = 10;
/** Sort keys of grouped records start with this, which no openid does. */
export const GROUP_MARK = "#";

export interface DeliveryPage {
  readonly items: DeliveryRecord[];
  /** The openid to continue after; null after the last record. */
  readonly next: string | null;
}

/** One recipient's record inside a group item, with one-letter names: the item's size is its price. */
export interface GroupEntry {
  readonly o: string;
  readonly s: Outcome;
  readonly c?: Channel;
  readonly e?: number;
  /** errmsg, kept for failures only. */
  readonly m?: string;
  readonly i?: number;
  readonly n: number;
  readonly t: number;
}

/**
 * A paid post's records are read only by chunk (when a chunk comes back) and by the report tally, so
 * each flush of ~25 is one item of ~2 KB (2 write units instead of 25). A push task's records are
 * listed, filtered and re-sent per user, so they stay one item per recipient, keyed by openid.
 */
function grouped(broadcastId: string): boolean {
  return !isTaskBroadcast(broadcastId);
}

export const groupPrefix = (chunkId: string) => `${GROUP_MARK}${chunkId}${GROUP_MARK}`;

function toEntry(r: DeliveryRecord): GroupEntry {
  return {
    o: r.openid,
    s: r.outcome,
    ...(r.channel === undefined ? {} : { c: r.channel }),
    ...(r.errcode === undefined ? {} : { e: r.errcode }),
    ...(r.outcome !== "sent" && r.errmsg !== undefined ? { m: r.errmsg } : {}),
    ...(r.msgid === undefined ? {} : { i: r.msgid }),
    n: r.attempts,
    t: r.at,
  };
}

export function fromEntry(broadcastId: string, e: GroupEntry): DeliveryRecord {
  return {
    broadcastId,
    openid: e.o,
    outcome: e.s,
    ...(e.c === undefined ? {} : { channel: e.c }),
    ...(e.e === undefined ? {} : { errcode: e.e }),
    ...(e.m !== undefined ? { errmsg: e.m } : e.s === "sent" ? { errmsg: "ok" } : {}),
    ...(e.i === undefined ? {} : { msgid: e.i }),
    attempts: e.n,
    at: e.t,
  };
}

export class DynamoDeliveryStore implements DeliveryStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async getSettled(chunk: ChunkRef, openids: readonly string[]): Promise<Map<string, DeliveryRecord>> {
    const wanted = new Set(openids);
    const settled = new Map<string, DeliveryRecord>();
    const found = grouped(chunk.broadcastId)
      ? await this.readGroups(chunk)
      : await this.readRecords(chunk.broadcastId, openids);
    for (const record of found) if (wanted.has(record.openid)) settled.set(record.openid, record);
    return settled;
  }

  async putMany(chunk: ChunkRef, records: readonly DeliveryRecord[]): Promise<void> {
    const [first] = records;
    if (!first) return;
    if (grouped(chunk.broadcastId)) {
      // The first openid makes the key unique: a chunk that comes back records only the recipients
      // it has not recorded, so it never starts a group with an openid that began one before.
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            broadcastId: chunk.broadcastId,
            openid: `${groupPrefix(chunk.chunkId)}${first.openid}`,
            entries: records.map(toEntry),
            expiresAt: expiresAfter(first.at, RECORD_RETENTION_SECONDS),
          },
        }),
      );
      return;
    }
    await Promise.all(
      groupsOf(records, 25).map((group) =>
        retryUnprocessed(this.db, this.table, {
          [this.table]: group.map((record) => ({
            PutRequest: { Item: { ...record, expiresAt: expiresAfter(record.at, RECORD_RETENTION_SECONDS) } },
          })),
        }),
      ),
    );
  }

  private async readGroups(chunk: ChunkRef): Promise<DeliveryRecord[]> {
    const records: DeliveryRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "broadcastId = :b AND begins_with(openid, :p)",
          ExpressionAttributeValues: { ":b": chunk.broadcastId, ":p": groupPrefix(chunk.chunkId) },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? [])
        for (const entry of item.entries as GroupEntry[]) records.push(fromEntry(chunk.broadcastId, entry));
      start = out.LastEvaluatedKey;
    } while (start);
    return records;
  }

  private async readRecords(broadcastId: string, openids: readonly string[]): Promise<DeliveryRecord[]> {
    const records: DeliveryRecord[] = [];
    for (const group of groupsOf(openids, 100)) {
      let keys: Record<string, unknown>[] | undefined = group.map((openid) => ({ broadcastId, openid }));
      for (let round = 0; keys && keys.length > 0; round += 1) {
        const out: BatchGetCommandOutput = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
        );
        records.push(...((out.Responses?.[this.table] ?? []) as DeliveryRecord[]));
        keys = out.UnprocessedKeys?.[this.table]?.Keys;
        if (keys?.length) await pause(round);
      }
    }
    return records;
  }

  /**
   * A page of a broadcast's records in openid order, only those with `outcome` when given. Reads
   * DynamoDB pages until `limit` records match or a few rounds are done, so a sparse filter answers
   * a short page with a cursor rather than a slow one.
   */
  async listPage(
    broadcastId: string,
    opts: { readonly limit: number; readonly after?: string; readonly outcome?: Outcome },
  ): Promise<DeliveryPage> {
    const items: DeliveryRecord[] = [];
    let after = opts.after;
    for (let round = 0; round < MAX_LIST_ROUNDS && items.length < opts.limit; round += 1) {
      const out: QueryCommandOutput = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "broadcastId = :b",
          ...(opts.outcome
            ? { FilterExpression: "#outcome = :o", ExpressionAttributeNames: { "#outcome": "outcome" } }
            : {}),
          ExpressionAttributeValues: { ":b": broadcastId, ...(opts.outcome ? { ":o": opts.outcome } : {}) },
          Limit: opts.limit - items.length,
          ...(after ? { ExclusiveStartKey: { broadcastId, openid: after } } : {}),
        }),
      );
      items.push(...((out.Items ?? []) as DeliveryRecord[]));
      const last = out.LastEvaluatedKey?.openid;
      after = typeof last === "string" ? last : undefined;
      if (after === undefined) break;
    }
    return { items, next: after ?? null };
  }

  /** One page of the msgids of a broadcast's records that have one (delivered template messages). */
  async readMsgids(
    broadcastId: string,
    cursor: string | null,
  ): Promise<{ msgids: number[]; next: string | null }> {
    const out: QueryCommandOutput = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: "broadcastId = :b",
        ExpressionAttributeValues: { ":b": broadcastId },
        ProjectionExpression: "msgid, entries",
        // About MSGID_PAGE recipients either way: a group holds up to 25.
        Limit: grouped(broadcastId) ? MSGID_PAGE / 25 : MSGID_PAGE,
        ...(cursor ? { ExclusiveStartKey: { broadcastId, openid: cursor } } : {}),
      }),
    );
    const msgids: number[] = [];
    for (const item of out.Items ?? []) {
      if (typeof item.msgid === "number") msgids.push(item.msgid);
      for (const entry of (item.entries ?? []) as GroupEntry[])
        if (entry.i !== undefined) msgids.push(entry.i);
    }
    const last = out.LastEvaluatedKey?.openid;
    return { msgids, next: typeof last === "string" ? last : null };
  }
}
