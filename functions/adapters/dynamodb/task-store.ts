/**
 * Push tasks in DynamoDB. It is long (over 300 lines) because it implements the whole TaskStore port:
 * upload, send, schedule and retry are conditional writes on the same item whose conditions must
 * agree (a draft only, recipients, goods on the shelf), so they are kept side by side.
 */
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { TaskDispatch } from "../../core/model.ts";
import { startingBroadcast } from "../../core/model.ts";
import {
  type AudiencePage,
  type SendRefusal,
  TaskNotDraftError,
  type TaskRecipientReader,
  type TaskStore,
} from "../../core/ports.ts";
import { type PushTask, type RetryRound, taskBroadcastId } from "../../core/push-task.ts";
import type { BatchResult } from "../../core/recipient-list.ts";
import { putStartingBroadcast } from "./broadcast-store.ts";
import { newestFirst } from "./newest-first.ts";
import { conditionHeld, isConditionFailure, transactFailedItems, transactWithRetry } from "./transactions.ts";
import { pause } from "./unprocessed.ts";

/** Distinct openids per recipient transaction: DynamoDB's 100 items, less the task's own update. */
export const RECIPIENT_BATCH = 99;
/** The sparse index's constant partition: only task items carry `kind`. */
const KIND = "task";
/** The `bySendAt` index's constant partition: only a task whose scheduled send has not started its fan-out carries `due`. */
const DUE = "due";
const DUE_INDEX = "bySendAt";

/** A stored item as the core's task: without the index attributes. */
function toTask(item: Record<string, unknown>): PushTask {
  const { kind: _kind, due: _due, ...task } = item;
  return task as unknown as PushTask;
}

/** A push task's uploaded recipients as the fan-out reads them: that table only. */
export class DynamoTaskRecipientReader implements TaskRecipientReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly recipients: string,
  ) {}

  async readTaskPage(taskId: string, cursor: string | null, limit: number): Promise<AudiencePage> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.recipients,
        KeyConditionExpression: "taskId = :t",
        ExpressionAttributeValues: { ":t": taskId },
        ProjectionExpression: "openid",
        Limit: limit,
        ...(cursor ? { ExclusiveStartKey: { taskId, openid: cursor } } : {}),
      }),
    );
    const next = out.LastEvaluatedKey?.openid;
    return {
      openids: (out.Items ?? []).map((item) => item.openid as string),
      windowed: [],
      next: typeof next === "string" ? next : null,
    };
  }
}

/** What a send or a schedule requires of the task, besides its state. */
const SENDABLE = "(audience = :all OR recipients > :zero) AND goods.onShelf = :yes";
const SENDABLE_VALUES = { ":all": "all", ":zero": 0, ":yes": true };

/** Push tasks and their uploaded recipients; a sent task's broadcast is created with its send. */
export class DynamoTaskStore implements TaskStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: {
      readonly tasks: string;
      readonly recipients: string;
      readonly broadcasts: string;
    },
  ) {}

  async create(task: PushTask): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tables.tasks,
        Item: { ...task, kind: KIND },
        ConditionExpression: "attribute_not_exists(taskId)",
      }),
    );
  }

  async get(taskId: string): Promise<PushTask | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tables.tasks, Key: { taskId }, ConsistentRead: true }),
    );
    return Item ? toTask(Item) : undefined;
  }

  /** Newest first, `limit` per page. */
  list(limit: number, cursor: string | null): Promise<{ items: PushTask[]; next: string | null }> {
    return newestFirst<PushTask>(
      this.db,
      { table: this.tables.tasks, key: "taskId", kind: KIND },
      limit,
      cursor,
    );
  }

  /**
   * Stores up to RECIPIENT_BATCH distinct openids and adds the ones that were new to the task's
   * count, in one transaction conditioned on the task still being a draft: the count always equals
   * the stored recipients, and nothing joins a task once its send has begun. Openids already stored
   * fail their condition; the transaction is repeated without them and they count as duplicates.
   */
  async addRecipients(taskId: string, openids: readonly string[]): Promise<BatchResult> {
    let todo = [...openids];
    let duplicates = 0;
    while (todo.length > 0) {
      const failed = await transactFailedItems(
        this.db,
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tables.tasks,
                Key: { taskId },
                ConditionExpression: "#status = :draft",
                UpdateExpression: "ADD recipients :n",
                ExpressionAttributeNames: { "#status": "status" },
                ExpressionAttributeValues: { ":draft": "draft", ":n": todo.length },
              },
            },
            ...todo.map((openid) => ({
              Put: {
                TableName: this.tables.recipients,
                Item: { taskId, openid },
                ConditionExpression: "attribute_not_exists(openid)",
              },
            })),
          ],
        }),
      );
      if (failed.length === 0) return { added: todo.length, duplicates };
      if (failed.includes(0)) throw new TaskNotDraftError((await this.get(taskId)) === undefined);
      const stored = new Set(todo.filter((_, i) => failed.includes(i + 1)));
      duplicates += stored.size;
      todo = todo.filter((openid) => !stored.has(openid));
    }
    return { added: 0, duplicates };
  }

  /**
   * Moves the task from draft (or scheduled) to sending and creates its broadcast, in one transaction
   * whose one condition holds only for a task in that state with recipients (or the all-subscribers
   * audience) and goods on the shelf: of concurrent presses exactly one succeeds, and a refused send
   * changes nothing. A scheduled task stays `due` until clearDue, after its fan-out is queued.
   */
  async startSend(
    task: PushTask,
    dispatch: TaskDispatch,
    now: number,
    from: "draft" | "scheduled" = "draft",
  ): Promise<true | SendRefusal> {
    const broadcastId = taskBroadcastId(task.taskId);
    const committed = await transactWithRetry(
      this.db,
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: this.tables.tasks,
              Key: { taskId: task.taskId },
              ConditionExpression: `#status = :from AND ${SENDABLE}`,
              UpdateExpression: "SET #status = :sending, sentAt = :now, broadcastId = :b",
              ExpressionAttributeNames: { "#status": "status" },
              ExpressionAttributeValues: {
                ...SENDABLE_VALUES,
                ":from": from,
                ":sending": "sending",
                ":now": now,
                ":b": broadcastId,
              },
            },
          },
          putStartingBroadcast(
            this.tables.broadcasts,
            startingBroadcast(broadcastId, now, { task: dispatch }),
          ),
        ],
      }),
    );
    return committed ? true : this.refusal(task.taskId, from);
  }

  /** The same conditions as a send, one write: the task becomes scheduled and `due` at `sendAt`. */
  async schedule(task: PushTask, sendAt: number): Promise<true | SendRefusal> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tables.tasks,
          Key: { taskId: task.taskId },
          ConditionExpression: `#status = :from AND ${SENDABLE}`,
          UpdateExpression: "SET #status = :scheduled, sendAt = :at, #due = :due REMOVE scheduleError",
          ExpressionAttributeNames: { "#status": "status", "#due": "due" },
          ExpressionAttributeValues: {
            ...SENDABLE_VALUES,
            ":from": "draft",
            ":scheduled": "scheduled",
            ":at": sendAt,
            ":due": DUE,
          },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return this.refusal(task.taskId, "draft");
    }
  }

  async unschedule(taskId: string, refusal?: string): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.tasks,
          Key: { taskId },
          ConditionExpression: "#status = :scheduled",
          UpdateExpression: `SET #status = :draft${refusal ? ", scheduleError = :why" : ""} REMOVE #due, sendAt`,
          ExpressionAttributeNames: { "#status": "status", "#due": "due" },
          ExpressionAttributeValues: {
            ":scheduled": "scheduled",
            ":draft": "draft",
            ...(refusal ? { ":why": refusal } : {}),
          },
        }),
      ),
    );
  }

  /** Due tasks from the sparse index (eventually consistent), each read again consistently. */
  async due(now: number, limit: number): Promise<readonly PushTask[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tables.tasks,
        IndexName: DUE_INDEX,
        KeyConditionExpression: "#due = :due AND sendAt <= :now",
        ExpressionAttributeNames: { "#due": "due" },
        ExpressionAttributeValues: { ":due": DUE, ":now": now },
        ProjectionExpression: "taskId",
        Limit: limit,
      }),
    );
    const tasks = await Promise.all((out.Items ?? []).map((item) => this.get(item.taskId as string)));
    return tasks.filter((task): task is PushTask => task !== undefined && task.status !== "draft");
  }

  async clearDue(taskId: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tables.tasks,
        Key: { taskId },
        ConditionExpression: "#status = :sending",
        UpdateExpression: "REMOVE #due",
        ExpressionAttributeNames: { "#status": "status", "#due": "due" },
        ExpressionAttributeValues: { ":sending": "sending" },
      }),
    );
  }

  /** Which condition a refused send or schedule failed: the task only moves forward, so a read tells. */
  private async refusal(taskId: string, from: "draft" | "scheduled"): Promise<SendRefusal> {
    const current = await this.get(taskId);
    if (!current) return "missing";
    if (current.status !== from) return "not_draft";
    if (!current.goods.onShelf) return "off_shelf";
    return "no_recipients";
  }

  /** Starts retry round `round` (after `round - 1`); false when another retry got there first. */
  async beginRetry(taskId: string, round: number, now: number): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.tasks,
          Key: { taskId },
          ConditionExpression: round === 1 ? "attribute_not_exists(#retry)" : "#retry.#round = :previous",
          UpdateExpression: "SET #retry = :retry",
          ExpressionAttributeNames: { "#retry": "retry", ...(round === 1 ? {} : { "#round": "round" }) },
          ExpressionAttributeValues: {
            ":retry": { round, chunks: -1, requeued: 0, at: now },
            ...(round === 1 ? {} : { ":previous": round - 1 }),
          },
        }),
      ),
    );
  }

  /** Records how many chunks and recipients a retry round queued, once they are all queued. */
  async finishRetry(taskId: string, retry: RetryRound): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tables.tasks,
        Key: { taskId },
        ConditionExpression: "#retry.#round = :round",
        UpdateExpression: "SET #retry = :retry",
        ExpressionAttributeNames: { "#retry": "retry", "#round": "round" },
        ExpressionAttributeValues: { ":round": retry.round, ":retry": retry },
      }),
    );
  }

  /** Whether every one of `chunkIds` of the broadcast is settled (its claim item says `done`). */
  async chunksDone(broadcastId: string, chunkIds: readonly string[]): Promise<boolean> {
    for (let i = 0; i < chunkIds.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = chunkIds
        .slice(i, i + 100)
        .map((id) => ({ broadcastId, sk: `CHUNK#${id}` }));
      let done = 0;
      const wanted = keys.length;
      for (let round = 0; keys && keys.length > 0; round += 1) {
        const out: BatchGetCommandOutput = await this.db.send(
          new BatchGetCommand({
            RequestItems: {
              [this.tables.broadcasts]: {
                Keys: keys,
                ConsistentRead: true,
                ProjectionExpression: "#s",
                ExpressionAttributeNames: { "#s": "state" },
              },
            },
          }),
        );
        done += (out.Responses?.[this.tables.broadcasts] ?? []).filter(
          (item) => item.state === "done",
        ).length;
        keys = out.UnprocessedKeys?.[this.tables.broadcasts]?.Keys;
        if (keys?.length) await pause(round);
      }
      if (done < wanted) return false;
    }
    return true;
  }
}
