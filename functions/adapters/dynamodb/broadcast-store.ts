import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { Broadcast, ChunkTally } from "../../core/model.ts";
import type { BroadcastStore, ChunkClaim, ChunkCompletion, SettledEventMarks } from "../../core/ports.ts";
import {
  conditionHeld,
  ignoreConditionFailure,
  isConditionFailure,
  transactWithRetry,
} from "./transactions.ts";
import { expiresAfter } from "./ttl.ts";

/** Sort key of a broadcast's own item; chunk claims sit beside it as `CHUNK#<chunkId>`. */
export const META = "META";
const chunkKey = (broadcastId: string, chunkId: string) => ({ broadcastId, sk: `CHUNK#${chunkId}` });
/**
 * A chunk's claim outlives its delivery records (30 days): it holds the filter of the chunk's openids
 * a subscriber lookup reads before any record (delivery-lookup.ts).
 */
const CHUNK_RETENTION_SECONDS = 31 * 24 * 3600;
/** The chunk claim's attribute holding its openids' filter (core/member-filter.ts). */
export const MEMBERS_ATTRIBUTE = "members";

/** The transaction item that creates a broadcast's META item, only if it does not exist yet. */
export function putStartingBroadcast(table: string, broadcast: Broadcast) {
  return {
    Put: {
      TableName: table,
      Item: { ...broadcast, sk: META },
      ConditionExpression: "attribute_not_exists(broadcastId)",
    },
  };
}

export class DynamoBroadcastStore implements BroadcastStore, SettledEventMarks {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(broadcastId: string): Promise<Broadcast | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { broadcastId, sk: META }, ConsistentRead: true }),
    );
    return Item as Broadcast | undefined;
  }

  async recordPage(broadcastId: string, page: number, recipients: number, last: boolean): Promise<boolean> {
    return conditionHeld(
      this.updateMeta(broadcastId, {
        ConditionExpression: "fanoutPage = :page",
        UpdateExpression: "SET fanoutPage = :next, fanoutDone = :last ADD #total :n",
        ExpressionAttributeNames: { "#total": "total" },
        ExpressionAttributeValues: { ":page": page, ":next": page + 1, ":last": last, ":n": recipients },
      }),
    );
  }

  async claimChunk(broadcastId: string, chunkId: string, leaseMs: number, now: number): Promise<ChunkClaim> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: chunkKey(broadcastId, chunkId),
          ConditionExpression: "attribute_not_exists(sk) OR (#state = :claimed AND leaseUntil < :now)",
          UpdateExpression: "SET #state = :claimed, leaseUntil = :until, expiresAt = :expires",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: {
            ":claimed": "claimed",
            ":now": now,
            ":until": now + leaseMs,
            ":expires": expiresAfter(now, CHUNK_RETENTION_SECONDS),
          },
          ReturnValues: "UPDATED_OLD",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return Attributes?.state === undefined ? "first" : "claimed";
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // The document client does not unmarshall items carried by exceptions.
      const old = (error as { Item?: Record<string, AttributeValue> }).Item;
      return old && unmarshall(old).state === "done" ? "done" : "busy";
    }
  }

  async releaseChunk(broadcastId: string, chunkId: string): Promise<void> {
    await ignoreConditionFailure(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: chunkKey(broadcastId, chunkId),
          ConditionExpression: "#state = :claimed",
          UpdateExpression: "SET leaseUntil = :zero",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: { ":claimed": "claimed", ":zero": 0 },
        }),
      ),
    );
  }

  async completeChunk(
    broadcastId: string,
    chunkId: string,
    tally: ChunkTally,
    extras: ChunkCompletion = {},
  ): Promise<void> {
    // false: the claim's condition failed, i.e. another delivery already settled this chunk.
    await transactWithRetry(
      this.db,
      new TransactWriteCommand({
        TransactItems: settlingItems(this.table, { broadcastId, chunkId, tally, extras }),
      }),
    );
  }

  async setReportCounts(
    broadcastId: string,
    counts: { readonly confirmed: number; readonly rejected: number },
    at: number,
  ): Promise<void> {
    await ignoreConditionFailure(
      this.updateMeta(broadcastId, {
        ConditionExpression: "attribute_exists(broadcastId)",
        UpdateExpression: "SET confirmed = :confirmed, rejected = :rejected, reportsCountedAt = :at",
        ExpressionAttributeValues: {
          ":confirmed": counts.confirmed,
          ":rejected": counts.rejected,
          ":at": at,
        },
      }),
    );
  }

  async claimSettledEvent(broadcastId: string, at: number): Promise<boolean> {
    return conditionHeld(
      this.updateMeta(broadcastId, {
        ConditionExpression: "attribute_exists(broadcastId) AND attribute_not_exists(settledEventAt)",
        UpdateExpression: "SET settledEventAt = :at",
        ExpressionAttributeValues: { ":at": at },
      }),
    );
  }

  async markSettledAnnounced(broadcastId: string): Promise<void> {
    await ignoreConditionFailure(
      this.updateMeta(broadcastId, {
        ConditionExpression: "attribute_exists(settledEventAt)",
        UpdateExpression: "SET settledAnnounced = :yes",
        ExpressionAttributeValues: { ":yes": true },
      }),
    );
  }

  /** An update of the broadcast's own (META) item. */
  private updateMeta(broadcastId: string, update: Omit<UpdateCommandInput, "TableName" | "Key">) {
    return this.db.send(
      new UpdateCommand({ TableName: this.table, Key: { broadcastId, sk: META }, ...update }),
    );
  }
}

/** More to set on the broadcast's META item in the write that settles a chunk, and its condition. */
export interface MetaUpdate {
  readonly sets?: readonly string[];
  readonly condition?: string;
  readonly names?: Readonly<Record<string, string>>;
  readonly values?: Readonly<Record<string, unknown>>;
}

/**
 * The transaction items that settle a chunk: its claim done (only from claimed) with its openids'
 * filter, and its tally (and timeline) added to the broadcast's counters, with `meta` riding on that
 * same update.
 */
export function settlingItems(
  table: string,
  settlement: {
    readonly broadcastId: string;
    readonly chunkId: string;
    readonly tally: ChunkTally;
    readonly extras: ChunkCompletion;
  },
  meta: MetaUpdate = {},
) {
  const { broadcastId, chunkId, tally, extras } = settlement;
  const names: Record<string, string> = { ...meta.names };
  const values: Record<string, unknown> = {
    ...meta.values,
    ":sent": tally.sent,
    ":failed": tally.failed,
    ":unknown": tally.unknown,
    ":skipped": tally.skipped,
    ":zero": 0,
  };
  const sets: string[] = [];
  const addToMap = (map: string, counts: Readonly<Record<string, number>>) => {
    Object.entries(counts).forEach(([key, n], i) => {
      const name = `#${map}${i}`;
      const value = `:${map}${i}`;
      names[name] = key;
      values[value] = n;
      sets.push(`${map}.${name} = if_not_exists(${map}.${name}, :zero) + ${value}`);
    });
  };
  addToMap("byChannel", tally.byChannel);
  addToMap("byErrcode", tally.byErrcode);
  if (extras.timeline) addToMap("timeline", extras.timeline);
  if (extras.bySkipReason) addToMap("bySkipReason", extras.bySkipReason);
  const update = `SET ${[
    "sent = sent + :sent",
    "failed = failed + :failed",
    // Broadcasts started before `unknown` was counted apart have no such attribute.
    "#unknown = if_not_exists(#unknown, :zero) + :unknown",
    "skipped = skipped + :skipped",
    ...sets,
    ...(meta.sets ?? []),
  ].join(", ")}`;
  names["#unknown"] = "unknown";
  return [
    {
      Update: {
        TableName: table,
        Key: chunkKey(broadcastId, chunkId),
        ConditionExpression: "#state = :claimed",
        UpdateExpression: `SET #state = :done${extras.members ? ", #members = :members" : ""} REMOVE leaseUntil`,
        ExpressionAttributeNames: {
          "#state": "state",
          ...(extras.members ? { "#members": MEMBERS_ATTRIBUTE } : {}),
        },
        ExpressionAttributeValues: {
          ":claimed": "claimed",
          ":done": "done",
          ...(extras.members ? { ":members": extras.members } : {}),
        },
      },
    },
    {
      Update: {
        TableName: table,
        Key: { broadcastId, sk: META },
        UpdateExpression: update,
        ...(meta.condition ? { ConditionExpression: meta.condition } : {}),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    },
  ];
}
