/**
 * Parked chunks on the Broadcasts table: `PARK#<chunkId>` items beside the broadcast's META and its
 * chunk claims, each holding one chunk message, and one `#parked` / `<broadcastId>` entry per
 * broadcast with parked chunks, which is all the resumer reads when nothing waits. Every park adds
 * one to its entry's `parks`, so the resumer forgets an entry only if nothing was parked since it
 * looked, however a park and a resume interleave.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandOutput,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { chunkMessage } from "../../contracts/messages.ts";
import type { ChunkMessage, Hold } from "../../core/model.ts";
import type {
  ChunkSettlement,
  ParkedBroadcast,
  ParkedStore,
  ParkingStore,
  ParkOutcome,
} from "../../core/ports.ts";
import { groupsOf } from "../groups.ts";
import { META, type MetaUpdate, settlingItems } from "./broadcast-store.ts";
import { conditionHeld, transactFailedItems } from "./transactions.ts";
import { retryUnprocessed } from "./unprocessed.ts";

/** The partition of the entries naming the broadcasts with parked chunks; no broadcast id starts with `#`. */
const PARKED = "#parked";
const PARK_PREFIX = "PARK#";
const parkKey = (broadcastId: string, chunkId: string) => ({ broadcastId, sk: `${PARK_PREFIX}${chunkId}` });
const entryKey = (broadcastId: string) => ({ broadcastId: PARKED, sk: broadcastId });
/** Parked chunks per transaction: DynamoDB's 100 items, less the META and entry updates. */
const PARKS_PER_TRANSACTION = 98;

/**
 * The hold as it rides on the broadcast's META update: a deferral's end, a new pause (a chunk's own
 * 45009), or, to join a pause under way, the condition that the broadcast is still paused.
 */
function holdUpdate(hold: Hold, now: number): MetaUpdate {
  if (hold.kind === "quiet")
    return {
      sets: ["deferredUntil = :until", "deferredAt = if_not_exists(deferredAt, :now)"],
      values: { ":until": hold.until, ":now": now },
    };
  if (hold.hit)
    return {
      sets: ["paused = :paused", "pausedAt = if_not_exists(pausedAt, :now)"],
      values: { ":paused": true, ":now": now },
    };
  return { sets: ["paused = :paused"], condition: "paused = :paused", values: { ":paused": true } };
}

export class DynamoParkStore implements ParkingStore, ParkedStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async parkRemainder(
    settled: ChunkSettlement,
    remainder: ChunkMessage,
    hold: Hold,
    now: number,
  ): Promise<ParkOutcome> {
    const failed = await transactFailedItems(
      this.db,
      new TransactWriteCommand({
        TransactItems: [
          ...settlingItems(this.table, settled, holdUpdate(hold, now)),
          this.parkItem(remainder, hold, now),
          this.entryUpdate(settled.broadcastId, now),
        ],
      }),
    );
    if (failed.includes(0)) return "chunk_done";
    return failed.length > 0 ? "hold_gone" : "parked";
  }

  async parkChunks(
    broadcastId: string,
    chunks: readonly ChunkMessage[],
    hold: Hold,
    now: number,
  ): Promise<"parked" | "hold_gone"> {
    const meta = holdUpdate(hold, now);
    for (const group of groupsOf(chunks, PARKS_PER_TRANSACTION)) {
      const failed = await transactFailedItems(
        this.db,
        new TransactWriteCommand({
          TransactItems: [
            ...group.map((chunk) => this.parkItem(chunk, hold, now)),
            {
              Update: {
                TableName: this.table,
                Key: { broadcastId, sk: META },
                UpdateExpression: `SET ${meta.sets?.join(", ")}`,
                ConditionExpression: meta.condition ?? "attribute_exists(broadcastId)",
                ExpressionAttributeValues: meta.values,
              },
            },
            this.entryUpdate(broadcastId, now),
          ],
        }),
      );
      // Only a pause can end: parked groups before this one are sent on by the resumer.
      if (failed.length > 0) return "hold_gone";
    }
    return "parked";
  }

  async parkedBroadcasts(): Promise<readonly ParkedBroadcast[]> {
    const entries: ParkedBroadcast[] = [];
    let start: QueryCommandOutput["LastEvaluatedKey"];
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "broadcastId = :parked",
          ExpressionAttributeValues: { ":parked": PARKED },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? [])
        entries.push({
          broadcastId: String(item.sk),
          parks: Number(item.parks ?? 0),
          ...(typeof item.checkedAt === "number" ? { checkedAt: item.checkedAt } : {}),
        });
      start = page.LastEvaluatedKey;
    } while (start);
    return entries;
  }

  async parkedChunks(broadcastId: string, limit: number): Promise<readonly ChunkMessage[]> {
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: "broadcastId = :b AND begins_with(sk, :park)",
        ExpressionAttributeValues: { ":b": broadcastId, ":park": PARK_PREFIX },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (page.Items ?? []).map((item) => chunkMessage.parse(item.chunk));
  }

  async unpark(broadcastId: string, chunkIds: readonly string[]): Promise<void> {
    for (const group of groupsOf(chunkIds, 25))
      await retryUnprocessed(this.db, this.table, {
        [this.table]: group.map((chunkId) => ({ DeleteRequest: { Key: parkKey(broadcastId, chunkId) } })),
      });
  }

  async forget(entry: ParkedBroadcast): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: entryKey(entry.broadcastId),
          ConditionExpression: "parks = :parks",
          ExpressionAttributeValues: { ":parks": entry.parks },
        }),
      ),
    );
  }

  async markChecked(broadcastId: string, at: number): Promise<void> {
    await this.conditional({
      Key: entryKey(broadcastId),
      UpdateExpression: "SET checkedAt = :at",
      ConditionExpression: "attribute_exists(sk)",
      ExpressionAttributeValues: { ":at": at },
    });
  }

  clearPause(broadcastId: string, pausedAt?: number): Promise<boolean> {
    return this.conditional({
      Key: { broadcastId, sk: META },
      UpdateExpression: "SET paused = :running REMOVE pausedAt",
      ConditionExpression: `paused = :paused${pausedAt === undefined ? "" : " AND pausedAt = :at"}`,
      ExpressionAttributeValues: {
        ":running": false,
        ":paused": true,
        ...(pausedAt === undefined ? {} : { ":at": pausedAt }),
      },
    });
  }

  clearDeferral(broadcastId: string, deferredUntil: number): Promise<boolean> {
    return this.conditional({
      Key: { broadcastId, sk: META },
      UpdateExpression: "REMOVE deferredUntil, deferredAt",
      ConditionExpression: "deferredUntil = :until",
      ExpressionAttributeValues: { ":until": deferredUntil },
    });
  }

  async markAnnounced(broadcastId: string, event: "paused" | "deferred", occasion: number): Promise<void> {
    await this.conditional({
      Key: { broadcastId, sk: META },
      UpdateExpression: `SET ${event === "paused" ? "pauseAnnounced" : "deferAnnounced"} = :occasion`,
      ConditionExpression: "attribute_exists(broadcastId)",
      ExpressionAttributeValues: { ":occasion": occasion },
    });
  }

  private parkItem(chunk: ChunkMessage, hold: Hold, now: number) {
    return {
      Put: {
        TableName: this.table,
        Item: { ...parkKey(chunk.broadcastId, chunk.chunkId), chunk, hold: hold.kind, parkedAt: now },
      },
    };
  }

  private entryUpdate(broadcastId: string, now: number) {
    return {
      Update: {
        TableName: this.table,
        Key: entryKey(broadcastId),
        UpdateExpression: "ADD parks :one SET since = if_not_exists(since, :now)",
        ExpressionAttributeValues: { ":one": 1, ":now": now },
      },
    };
  }

  /** A conditional update of one item: false when its condition failed. */
  private async conditional(update: {
    Key: Record<string, string>;
    UpdateExpression: string;
    ConditionExpression: string;
    ExpressionAttributeValues?: Record<string, unknown>;
  }): Promise<boolean> {
    return conditionHeld(this.db.send(new UpdateCommand({ TableName: this.table, ...update })));
  }
}
