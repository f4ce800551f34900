import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { FollowerSync, SyncStatus } from "../../core/follower-sync.ts";
import type { SyncStore } from "../../core/ports.ts";
import { conditionHeld, isConditionFailure, transactWithRetry } from "./transactions.ts";

/** The item naming the latest sync; no sync id looks like it (they are letters and digits). */
const LATEST = "#latest";
/** `status` is a DynamoDB reserved word. */
const NAMES = { "#status": "status" };

/** Follower syncs: one item per sync, and `#latest`, whose conditional update allows one at a time. */
export class DynamoSyncStore implements SyncStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(syncId: string): Promise<FollowerSync | undefined> {
    if (syncId === LATEST) return undefined;
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { syncId }, ConsistentRead: true }),
    );
    return Item ? toSync(Item) : undefined;
  }

  async latest(): Promise<FollowerSync | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { syncId: LATEST }, ConsistentRead: true }),
    );
    return typeof Item?.current === "string" ? this.get(Item.current) : undefined;
  }

  create(sync: FollowerSync, previous: string | null): Promise<boolean> {
    return transactWithRetry(
      this.db,
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.table,
              Item: { ...sync },
              ConditionExpression: "attribute_not_exists(syncId)",
            },
          },
          {
            Update: {
              TableName: this.table,
              Key: { syncId: LATEST },
              UpdateExpression: "SET #current = :id",
              ExpressionAttributeNames: { "#current": "current" },
              ...(previous === null
                ? {
                    ConditionExpression: "attribute_not_exists(#current)",
                    ExpressionAttributeValues: { ":id": sync.syncId },
                  }
                : {
                    ConditionExpression: "#current = :previous",
                    ExpressionAttributeValues: { ":id": sync.syncId, ":previous": previous },
                  }),
            },
          },
        ],
      }),
    );
  }

  resume(syncId: string, lease: string, leaseUntil: number, now: number): Promise<boolean> {
    return this.conditional({
      Key: { syncId },
      ConditionExpression: "#status = :paused OR (#status = :running AND leaseUntil < :now)",
      UpdateExpression:
        "SET #status = :running, lease = :lease, leaseUntil = :until, updatedAt = :now REMOVE #error",
      ExpressionAttributeNames: { ...NAMES, "#error": "error" },
      ExpressionAttributeValues: {
        ":paused": "paused",
        ":running": "running",
        ":lease": lease,
        ":until": leaseUntil,
        ":now": now,
      },
    });
  }

  async claim(
    syncId: string,
    presented: string,
    fresh: string,
    leaseUntil: number,
    now: number,
  ): Promise<FollowerSync | undefined> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { syncId },
          ConditionExpression: "#status = :running AND (lease = :presented OR leaseUntil < :now)",
          UpdateExpression: "SET lease = :fresh, leaseUntil = :until",
          ExpressionAttributeNames: NAMES,
          ExpressionAttributeValues: {
            ":running": "running",
            ":presented": presented,
            ":fresh": fresh,
            ":until": leaseUntil,
            ":now": now,
          },
          ReturnValues: "ALL_NEW",
        }),
      );
      return Attributes ? toSync(Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  recordPage(
    syncId: string,
    lease: string,
    at: { readonly cursor: string; readonly page: number },
    result: { readonly next: string; readonly imported: number; readonly alreadyKnown: number },
    last: boolean,
    now: number,
  ): Promise<boolean> {
    const sets = [
      "#cursor = :next",
      "pages = pages + :one",
      "imported = imported + :imported",
      "alreadyKnown = alreadyKnown + :known",
      "updatedAt = :now",
      ...(last ? ["#status = :done", "finishedAt = :now"] : []),
    ];
    return this.conditional({
      Key: { syncId },
      ConditionExpression: "lease = :lease AND #cursor = :cursor AND pages = :page",
      UpdateExpression: `SET ${sets.join(", ")}${last ? " REMOVE lease" : ""}`,
      ExpressionAttributeNames: { "#cursor": "cursor", ...(last ? NAMES : {}) },
      ExpressionAttributeValues: {
        ":lease": lease,
        ":cursor": at.cursor,
        ":page": at.page,
        ":next": result.next,
        ":one": 1,
        ":imported": result.imported,
        ":known": result.alreadyKnown,
        ":now": now,
        ...(last ? { ":done": "done" } : {}),
      },
    });
  }

  finish(
    syncId: string,
    lease: string,
    end: { readonly status: Exclude<SyncStatus, "running">; readonly error?: string },
    now: number,
  ): Promise<boolean> {
    const sets = ["#status = :status", "updatedAt = :now"];
    if (end.status !== "paused") sets.push("finishedAt = :now");
    if (end.error) sets.push("#error = :error");
    return this.conditional({
      Key: { syncId },
      ConditionExpression: "lease = :lease",
      UpdateExpression: `SET ${sets.join(", ")} REMOVE lease`,
      ExpressionAttributeNames: { ...NAMES, ...(end.error ? { "#error": "error" } : {}) },
      ExpressionAttributeValues: {
        ":lease": lease,
        ":status": end.status,
        ":now": now,
        ...(end.error ? { ":error": end.error } : {}),
      },
    });
  }

  handOver(syncId: string, lease: string, next: string, leaseUntil: number): Promise<boolean> {
    return this.conditional({
      Key: { syncId },
      ConditionExpression: "lease = :lease",
      UpdateExpression: "SET lease = :next, leaseUntil = :until",
      ExpressionAttributeValues: { ":lease": lease, ":next": next, ":until": leaseUntil },
    });
  }

  /** An update of one sync; false when its condition failed. */
  private async conditional(
    input: Omit<ConstructorParameters<typeof UpdateCommand>[0], "TableName">,
  ): Promise<boolean> {
    return conditionHeld(this.db.send(new UpdateCommand({ TableName: this.table, ...input })));
  }
}

function toSync(item: Record<string, unknown>): FollowerSync {
  return {
    syncId: String(item.syncId),
    status: item.status as SyncStatus,
    cursor: typeof item.cursor === "string" ? item.cursor : "",
    pages: Number(item.pages ?? 0),
    imported: Number(item.imported ?? 0),
    alreadyKnown: Number(item.alreadyKnown ?? 0),
    ...(typeof item.error === "string" ? { error: item.error } : {}),
    startedAt: Number(item.startedAt ?? 0),
    updatedAt: Number(item.updatedAt ?? 0),
    ...(typeof item.lease === "string" ? { lease: item.lease } : {}),
    leaseUntil: Number(item.leaseUntil ?? 0),
  };
}
