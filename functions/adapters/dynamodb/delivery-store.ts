import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandOutput,
} from "@aws-sdk/lib-dynamodb";
import type { DeliveryRecord, Outcome } from "../../core/model.ts";
import type { DeliveryStore } from "../../core/ports.ts";
import { groupsOf } from "../groups.ts";
import { pause, retryUnprocessed } from "./unprocessed.ts";

/**
 * Delivery records (and the delivery reports that complete them) are kept 30 days, then DynamoDB's TTL
 * removes them at no write cost: storage is a large share of a broadcast's cost.
 */
/** Records per tally page: a few hundred KB read, ten BatchGets of reports. */
const MSGID_PAGE = 1000;

export const RECORD_RETENTION_SECONDS = 30 * 24 * 3600;
/** Query rounds per listing page: a filter may leave DynamoDB pages empty, but a request stays short. */
const MAX_LIST_ROUNDS = 10;

export interface DeliveryPage {
  readonly items: DeliveryRecord[];
  /** The openid to continue after; null after the last record. */
  readonly next: string | null;
}

export class DynamoDeliveryStore implements DeliveryStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async getSettled(broadcastId: string, openids: readonly string[]): Promise<Map<string, DeliveryRecord>> {
    const settled = new Map<string, DeliveryRecord>();
    for (const group of groupsOf(openids, 100)) {
      let keys: Record<string, unknown>[] | undefined = group.map((openid) => ({ broadcastId, openid }));
      for (let round = 0; keys && keys.length > 0; round += 1) {
        const out: BatchGetCommandOutput = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.table] ?? []) {
          const record = item as DeliveryRecord;
          settled.set(record.openid, record);
        }
        keys = out.UnprocessedKeys?.[this.table]?.Keys;
        if (keys?.length) await pause(round);
      }
    }
    return settled;
  }

  async putMany(records: readonly DeliveryRecord[]): Promise<void> {
    await Promise.all(
      groupsOf(records, 25).map((group) =>
        retryUnprocessed(this.db, this.table, {
          [this.table]: group.map((record) => ({
            PutRequest: {
              Item: { ...record, expiresAt: Math.floor(record.at / 1000) + RECORD_RETENTION_SECONDS },
            },
          })),
        }),
      ),
    );
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
        ProjectionExpression: "msgid",
        Limit: MSGID_PAGE,
        ...(cursor ? { ExclusiveStartKey: { broadcastId, openid: cursor } } : {}),
      }),
    );
    const msgids = (out.Items ?? []).flatMap((item) => (typeof item.msgid === "number" ? [item.msgid] : []));
    const last = out.LastEvaluatedKey?.openid;
    return { msgids, next: typeof last === "string" ? last : null };
  }
}
