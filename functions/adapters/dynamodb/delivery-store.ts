import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import type { DeliveryRecord } from "../../core/model.ts";
import type { DeliveryStore } from "../../core/ports.ts";
import { groupsOf } from "../groups.ts";
import { pause, retryUnprocessed } from "./unprocessed.ts";

/** Delivery records are kept 90 days, then DynamoDB's TTL removes them at no write cost. */
const RECORD_RETENTION_SECONDS = 90 * 24 * 3600;

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
}
