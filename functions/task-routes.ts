import { randomBytes } from "node:crypto";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { z } from "zod";
import { CHUNK_SIZE } from "../common/definitions.ts";
import { DynamoBroadcastStore } from "./adapters/dynamodb/broadcast-store.ts";
import { DynamoCreditStore } from "./adapters/dynamodb/credit-store.ts";
import { DynamoDeliveryStore } from "./adapters/dynamodb/delivery-store.ts";
import {
  DynamoTaskStore,
  decodeTaskCursor,
  RECIPIENT_BATCH,
  TaskNotDraftError,
} from "./adapters/dynamodb/task-store.ts";
import { createSqsClient, SqsFanoutQueue, SqsSendQueue } from "./adapters/sqs/queues.ts";
import type { adminSchema } from "./config.ts";
import { ConflictError, NotFoundError, ValidationError } from "./core/errors.ts";
import type { ChunkMessage, DeliveryRecord, RetriedFailure } from "./core/model.ts";
import {
  isRetryableFailure,
  type PushTask,
  prepareTaskMessage,
  retryChunkId,
  type TaskDispatch,
  taskBroadcastId,
  taskProgress,
} from "./core/push-task.ts";
import {
  csvRows,
  importRecipients,
  jsonRows,
  OPENID_PATTERN,
  type RecipientRow,
} from "./core/recipient-list.ts";
import {
  type HttpEvent,
  type HttpResult,
  json,
  OPERATOR,
  OPERATOR_AND_APP,
  parseJsonBody,
  parseQuery,
  type RouteDef,
  rawBody,
} from "./http.ts";
import { logger } from "./observability.ts";

/**
 * Rows one upload request may carry; larger lists go in several requests (README). Each batch of 99
 * is one transaction on the task's count, so a request's batches run one after another: 20,000 rows
 * take ~15 s against DynamoDB Local on a small machine, inside the admin function's timeout.
 */
export const MAX_UPLOAD_ROWS = 20_000;
/** A retry round still being queued after this long was cut short (a crash); another may start. */
const RETRY_QUEUEING_MS = 5 * 60_000;
/** A sent task whose fan-out has not begun after this long had its first message lost: re-send it. */
const FANOUT_START_GRACE_MS = 60_000;

const text = z.string();
const createTask = z.strictObject({
  name: text,
  channel: z.enum(["template", "subscribe"], "must be template or subscribe"),
  templateId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "must be a WeChat template id"),
  templateName: text,
  topic: text,
  caption: text,
  tips: text.default(""),
  data: z.record(z.string(), z.string(), "must map template keys to text"),
  page: text.optional(),
  url: text.optional(),
  goods: z.strictObject({
    id: z.union([z.string().trim().min(1, "must not be empty").max(64), z.number().int().nonnegative()]),
    title: text,
    price: z.number("must be a number (yuan)"),
    onShelf: z.boolean("must be true or false"),
  }),
  audience: z.enum(["uploaded", "all"], "must be uploaded or all").default("uploaded"),
});

const grantCredits = z.strictObject({
  openid: z.string().regex(OPENID_PATTERN, "must be a WeChat openid (6–64 letters, digits, _ or -)"),
  templateId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "must be a WeChat template id"),
  count: z.number().int("must be a whole number").min(1).max(100).default(1),
});

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The optional `Idempotency-Key` header: the mini program's retry of one report adds nothing. */
function idempotencyKey(event: HttpEvent): string | undefined {
  const key = event.headers["idempotency-key"];
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key))
    throw new ValidationError("Idempotency-Key must be 1–64 letters, digits, _ . : or -");
  return key;
}

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(2000).optional(),
});

const deliveriesQuery = z.object({
  status: z
    .enum(["sent", "failed", "unknown", "skipped"], "must be sent, failed, unknown or skipped")
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().min(1).max(200).optional(),
});

/** Task ids sort by creation time and are hard to guess. */
function newTaskId(now: number): string {
  return `${now.toString(36)}${randomBytes(5).toString("hex")}`;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** The task as the API shows it: what the operator entered, the rendered message and its progress. */
function taskView(task: PushTask, progress: ReturnType<typeof taskProgress>) {
  return {
    taskId: task.taskId,
    name: task.name,
    channel: task.channel,
    templateId: task.templateId,
    templateName: task.templateName,
    topic: task.topic,
    caption: task.caption,
    tips: task.tips,
    data: task.data,
    page: task.page ?? null,
    url: task.url ?? null,
    goods: task.goods,
    audience: task.audience,
    message: task.message,
    recipients: task.recipients,
    createdAt: iso(task.createdAt),
    sentAt: iso(task.sentAt),
    retry: task.retry ?? null,
    ...progress,
  };
}

function deliveryView(r: DeliveryRecord) {
  return {
    openid: r.openid,
    status: r.outcome,
    channel: r.channel ?? null,
    errcode: r.errcode ?? null,
    errmsg: r.errmsg ?? null,
    at: iso(r.at),
    /** Failures the retry route would send again. */
    retryable: isRetryableFailure(r),
  };
}

const encodeOpenidCursor = (openid: string | null) =>
  openid === null ? null : Buffer.from(openid).toString("base64url");
function decodeOpenidCursor(cursor: string): string {
  const openid = Buffer.from(cursor, "base64url").toString("utf8");
  if (!OPENID_PATTERN.test(openid)) throw new ValidationError("cursor: not a cursor this API returned");
  return openid;
}

/**
 * The rows of an upload: JSON `{"openids":[…]}`, or a CSV (`text/csv`, `text/plain`) whose first
 * column is the openid. The request body is already in memory (Lambda hands it over whole, at most
 * 6 MB); the rows are read from it lazily, never copied into a second list.
 */
function uploadRows(event: HttpEvent): Iterable<RecipientRow> {
  const contentType = (event.headers["content-type"] ?? "").toLowerCase();
  const body = rawBody(event).toString("utf8");
  if (contentType.includes("json") || (contentType === "" && body.trimStart().startsWith("{"))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new ValidationError('request body must be JSON {"openids":[…]} or a CSV (text/csv)');
    }
    const openids = (parsed as { openids?: unknown } | null)?.openids;
    if (!Array.isArray(openids)) throw new ValidationError("openids: must be an array of openids");
    if (openids.length === 0) throw new ValidationError("openids: must list at least one openid");
    if (openids.length > MAX_UPLOAD_ROWS)
      throw new ValidationError(
        `openids: at most ${MAX_UPLOAD_ROWS} per request; upload in several requests`,
      );
    return jsonRows(openids);
  }
  if (contentType === "" || contentType.startsWith("text/csv") || contentType.startsWith("text/plain")) {
    let lines = 1;
    for (let i = body.indexOf("\n"); i >= 0; i = body.indexOf("\n", i + 1)) lines += 1;
    if (lines > MAX_UPLOAD_ROWS + 1)
      throw new ValidationError(
        `CSV: at most ${MAX_UPLOAD_ROWS} rows per request; upload in several requests`,
      );
    if (body.trim() === "") throw new ValidationError("CSV: the upload is empty");
    return csvRows(body);
  }
  throw new ValidationError(`content-type ${contentType}: send application/json or text/csv`);
}

/** The push-task and subscription routes of the admin API. */
export function taskRoutes(db: DynamoDBDocumentClient, config: z.output<typeof adminSchema>): RouteDef[] {
  const tasks = new DynamoTaskStore(db, {
    tasks: config.TABLE_TASKS,
    recipients: config.TABLE_TASK_RECIPIENTS,
    broadcasts: config.TABLE_BROADCASTS,
  });
  const broadcasts = new DynamoBroadcastStore(db, config.TABLE_BROADCASTS);
  const deliveries = new DynamoDeliveryStore(db, config.TABLE_DELIVERIES);
  const credits = new DynamoCreditStore(db, config.TABLE_CREDITS);
  const sqs = createSqsClient();
  const fanoutQueue = new SqsFanoutQueue(sqs, config.QUEUE_URL_FANOUT);
  const sendQueue = new SqsSendQueue(sqs, config.QUEUE_URL_SEND);

  const load = async (id: string | undefined): Promise<PushTask> => {
    const task = await tasks.get(id ?? "");
    if (!task) throw new NotFoundError("no task with this id");
    return task;
  };
  const view = async (task: PushTask) =>
    taskView(
      task,
      taskProgress(
        task,
        task.status === "draft" ? undefined : await broadcasts.get(taskBroadcastId(task.taskId)),
      ),
    );

  return [
    {
      method: "POST",
      pattern: /^\/api\/tasks$/,
      roles: OPERATOR,
      does: "create push tasks",
      route: async (event) => {
        const body = parseJsonBody(event, createTask);
        const goods = { ...body.goods, id: String(body.goods.id) };
        const draft = { ...body, goods };
        const message = prepareTaskMessage(draft);
        const now = Date.now();
        const task: PushTask = {
          ...draft,
          taskId: newTaskId(now),
          status: "draft",
          recipients: 0,
          message,
          createdAt: now,
        };
        await tasks.create(task);
        logger.info("task created", { taskId: task.taskId, channel: task.channel, audience: task.audience });
        return json(201, { taskId: task.taskId, status: task.status });
      },
    },
    {
      method: "GET",
      pattern: /^\/api\/tasks$/,
      roles: OPERATOR,
      does: "list push tasks",
      route: async (event) => {
        const query = parseQuery(event, listQuery);
        let cursor: Record<string, unknown> | undefined;
        if (query.cursor) {
          cursor = decodeTaskCursor(query.cursor);
          if (!cursor) throw new ValidationError("cursor: not a cursor this API returned");
        }
        const page = await tasks.list(query.limit, cursor);
        return json(200, { items: await Promise.all(page.items.map(view)), next: page.next });
      },
    },
    {
      method: "GET",
      pattern: /^\/api\/tasks\/([^/]+)$/,
      roles: OPERATOR,
      does: "read push tasks",
      route: async (_event, [id]) => json(200, await view(await load(id))),
    },
    {
      method: "POST",
      pattern: /^\/api\/tasks\/([^/]+)\/recipients$/,
      roles: OPERATOR,
      does: "upload push-task recipients",
      route: async (event, [id]) => {
        const task = await load(id);
        if (task.audience !== "uploaded")
          throw new ValidationError("this task goes to all active subscribers; it takes no recipient list");
        if (task.status !== "draft") throw new ConflictError("the task was sent; its recipients are fixed");
        const rows = uploadRows(event);
        try {
          const report = await importRecipients(rows, (batch) => tasks.addRecipients(task.taskId, batch), {
            batchSize: RECIPIENT_BATCH,
          });
          logger.info("recipients uploaded", { taskId: task.taskId, added: report.added });
          return json(200, report);
        } catch (error) {
          if (error instanceof TaskNotDraftError) {
            if (error.missing) throw new NotFoundError("no task with this id");
            throw new ConflictError("the task was sent during the upload; rows after that were not added");
          }
          throw error;
        }
      },
    },
    {
      method: "POST",
      pattern: /^\/api\/tasks\/([^/]+)\/send$/,
      roles: OPERATOR,
      does: "send push tasks",
      route: async (_event, [id]) => {
        const task = await load(id);
        const now = Date.now();
        if (task.status !== "draft") {
          await restartStalledFanout(task, now);
          throw new ConflictError("the task was sent already; it is never sent twice");
        }
        const dispatch: TaskDispatch = {
          taskId: task.taskId,
          audience: task.audience,
          message: task.message,
        };
        const result = await tasks.startSend(task, dispatch, now);
        switch (result) {
          case "missing":
            throw new NotFoundError("no task with this id");
          case "not_draft":
            throw new ConflictError("the task was sent already; it is never sent twice");
          case "no_recipients":
            throw new ValidationError("the task has no recipients: upload some first (it stays a draft)");
          case "off_shelf":
            throw new ValidationError(`goods ${task.goods.id} is off the shelf: put it on sale first`);
        }
        const broadcastId = taskBroadcastId(task.taskId);
        await fanoutQueue.sendPage({ broadcastId, page: 0, cursor: null });
        logger.info("task sent", { taskId: task.taskId, broadcastId });
        return json(202, { taskId: task.taskId, status: "sending" });
      },
    },
    {
      method: "GET",
      pattern: /^\/api\/tasks\/([^/]+)\/deliveries$/,
      roles: OPERATOR,
      does: "list push-task deliveries",
      route: async (event, [id]) => {
        const task = await load(id);
        const query = parseQuery(event, deliveriesQuery);
        const after = query.cursor ? decodeOpenidCursor(query.cursor) : undefined;
        const page = await deliveries.listPage(taskBroadcastId(task.taskId), {
          limit: query.limit,
          ...(after ? { after } : {}),
          ...(query.status ? { outcome: query.status } : {}),
        });
        return json(200, { items: page.items.map(deliveryView), next: encodeOpenidCursor(page.next) });
      },
    },
    {
      method: "POST",
      pattern: /^\/api\/tasks\/([^/]+)\/retry$/,
      roles: OPERATOR,
      does: "retry push tasks",
      route: async (_event, [id]) => retry(await load(id)),
    },
    {
      method: "POST",
      pattern: /^\/api\/subscriptions$/,
      roles: OPERATOR_AND_APP,
      does: "report subscribe credits",
      route: async (event) => {
        const body = parseJsonBody(event, grantCredits);
        const key = idempotencyKey(event);
        const grant = await credits.grant(body.openid, body.templateId, body.count, Date.now(), key);
        return json(200, { openid: body.openid, templateId: body.templateId, ...grant });
      },
    },
    {
      method: "GET",
      pattern: /^\/api\/subscriptions$/,
      roles: OPERATOR_AND_APP,
      does: "read subscribe credits",
      route: async (event) => {
        const query = parseQuery(event, grantCredits.pick({ openid: true, templateId: true }));
        const count = await credits.credits(query.openid, query.templateId);
        return json(200, { openid: query.openid, templateId: query.templateId, credits: count });
      },
    },
  ];

  /**
   * A send whose first fan-out message was lost (the request failed between its write and the
   * queue) would wait forever; a later press re-sends that message. Harmless if it was not lost:
   * the fan-out recognises a page it has done and the senders a chunk they have settled.
   */
  async function restartStalledFanout(task: PushTask, now: number): Promise<void> {
    const broadcastId = taskBroadcastId(task.taskId);
    const broadcast = await broadcasts.get(broadcastId);
    if (
      broadcast &&
      broadcast.fanoutPage === 0 &&
      !broadcast.fanoutDone &&
      now - broadcast.createdAt > FANOUT_START_GRACE_MS
    ) {
      await fanoutQueue.sendPage({ broadcastId, page: 0, cursor: null });
      logger.warn("fan-out restarted", { taskId: task.taskId });
    }
  }

  /**
   * Re-queues the task's transient failures (WeChat busy, rate-limited, unreachable, token refused)
   * as chunks of a new retry round; permanent failures and skipped recipients stay as they are.
   * Only once the task is done and any earlier round has settled, and one round at a time, so no
   * recipient is in two chunks at once.
   */
  async function retry(task: PushTask): Promise<HttpResult> {
    if (task.status === "draft") throw new ConflictError("the task has not been sent");
    const broadcastId = taskBroadcastId(task.taskId);
    const progress = taskProgress(task, await broadcasts.get(broadcastId));
    if (progress.status !== "done")
      throw new ConflictError(`the task is ${progress.status}; retry once nothing is pending`);
    const now = Date.now();
    const previous = task.retry;
    if (previous) {
      const queueing = previous.chunks < 0 && now - previous.at < RETRY_QUEUEING_MS;
      const ids = Array.from({ length: Math.max(0, previous.chunks) }, (_, i) =>
        retryChunkId(previous.round, i),
      );
      if (queueing || !(await tasks.chunksDone(broadcastId, ids)))
        throw new ConflictError(`retry round ${previous.round} is still running`);
    }
    const round = (previous?.round ?? 0) + 1;
    if (!(await tasks.beginRetry(task.taskId, round, now)))
      throw new ConflictError("another retry of this task has just started");

    let chunks = 0;
    let requeued = 0;
    let pending: ChunkMessage[] = [];
    let members: Record<string, RetriedFailure> = {};
    const cut = () => {
      const openids = Object.keys(members);
      if (openids.length === 0) return;
      pending.push({
        broadcastId,
        chunkId: retryChunkId(round, chunks),
        openids,
        retryOf: members,
        retryAt: now,
      });
      chunks += 1;
      requeued += openids.length;
      members = {};
    };
    for (const outcome of ["failed", "unknown"] as const) {
      let after: string | undefined;
      do {
        const page = await deliveries.listPage(broadcastId, {
          limit: 500,
          outcome,
          ...(after ? { after } : {}),
        });
        for (const record of page.items) {
          if (!isRetryableFailure(record) || record.at >= now) continue;
          members[record.openid] = { outcome, errcode: record.errcode ?? 0 };
          if (Object.keys(members).length >= CHUNK_SIZE) cut();
        }
        if (pending.length >= 10) {
          await sendQueue.sendChunks(pending);
          pending = [];
        }
        after = page.next ?? undefined;
      } while (after);
    }
    cut();
    if (pending.length > 0) await sendQueue.sendChunks(pending);
    await tasks.finishRetry(task.taskId, { round, chunks, requeued, at: now });
    logger.info("task retry queued", { taskId: task.taskId, round, requeued });
    return json(202, { taskId: task.taskId, round, requeued });
  }
}
