import { randomBytes } from "node:crypto";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { z } from "zod";
import { DynamoBroadcastStore } from "./adapters/dynamodb/broadcast-store.ts";
import { DynamoCreditStore } from "./adapters/dynamodb/credit-store.ts";
import { DynamoDeliveryStore } from "./adapters/dynamodb/delivery-store.ts";
import { DynamoTaskStore, RECIPIENT_BATCH } from "./adapters/dynamodb/task-store.ts";
import { createSqsClient, SqsFanoutQueue, SqsSendQueue } from "./adapters/sqs/queues.ts";
import { systemClock } from "./clock.ts";
import type { adminSchema } from "./config.ts";
import {
  type CancelTaskAnswer,
  type CreateTaskAnswer,
  type CreditsAnswer,
  createTaskBody,
  creditsQuery,
  type DeliveriesPage,
  type DeliveryItem,
  deliveriesQuery,
  type GrantCreditsAnswer,
  grantCreditsBody,
  type RetryAnswer,
  type SendTaskAnswer,
  sendTaskBody,
  type TaskList,
  type TaskView,
  type UploadAnswer,
} from "./contracts/api.ts";
import { ValidationError } from "./core/errors.ts";
import type { DeliveryRecord } from "./core/model.ts";
import { isRetryableFailure, type PushTask, taskBroadcastId, taskProgress } from "./core/push-task.ts";
import {
  createTask,
  loadTask,
  type PushTaskDeps,
  retryTask,
  sendTask,
  uploadRecipients,
} from "./core/push-tasks.ts";
import { OPENID_PATTERN } from "./core/recipient-list.ts";
import { cancelSchedule, scheduleTask } from "./core/scheduled-sends.ts";
import {
  type HttpEvent,
  json,
  OPERATOR_AND_APP,
  parseJsonBody,
  parseOptionalJsonBody,
  parseQuery,
  type RouteDef,
  viewedPage,
} from "./http.ts";
import { logger } from "./observability.ts";
import { uploadRows } from "./recipient-upload.ts";

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The optional `Idempotency-Key` header: the mini program's retry of one report adds nothing. */
function idempotencyKey(event: HttpEvent): string | undefined {
  const key = event.headers["idempotency-key"];
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key))
    throw new ValidationError("Idempotency-Key must be 1–64 letters, digits, _ . : or -");
  return key;
}

/** Task ids sort by creation time and are hard to guess. */
function newTaskId(now: number): string {
  return `${now.toString(36)}${randomBytes(5).toString("hex")}`;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** The task as the API shows it: what the operator entered, the rendered message and its progress. */
function taskView(task: PushTask, progress: ReturnType<typeof taskProgress>): TaskView {
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
    ignoreQuietHours: task.ignoreQuietHours === true,
    message: task.message,
    recipients: task.recipients,
    createdAt: iso(task.createdAt) ?? "",
    sentAt: iso(task.sentAt),
    sendAt: iso(task.sendAt),
    scheduleError: task.scheduleError ?? null,
    retry: task.retry ?? null,
    ...progress,
  };
}

/** A delivery record as the listings answer it (a post's too: functions/post-delivery-routes.ts). */
export function deliveryView(r: DeliveryRecord): DeliveryItem {
  return {
    openid: r.openid,
    status: r.outcome,
    channel: r.channel ?? null,
    errcode: r.errcode ?? null,
    errmsg: r.errmsg ?? null,
    at: iso(r.at),
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

/** The admin function's push tasks. */
export function taskStore(db: DynamoDBDocumentClient, config: z.output<typeof adminSchema>): DynamoTaskStore {
  return new DynamoTaskStore(db, {
    tasks: config.TABLE_TASKS,
    recipients: config.TABLE_TASK_RECIPIENTS,
    broadcasts: config.TABLE_BROADCASTS,
  });
}

/** The push-task and subscription routes of the admin API: parse, call the core, shape the answer. */
export function taskRoutes(db: DynamoDBDocumentClient, config: z.output<typeof adminSchema>): RouteDef[] {
  const sqs = createSqsClient();
  const deps: PushTaskDeps = {
    tasks: taskStore(db, config),
    broadcasts: new DynamoBroadcastStore(db, config.TABLE_BROADCASTS),
    deliveries: new DynamoDeliveryStore(db, config.TABLE_DELIVERIES),
    fanoutQueue: new SqsFanoutQueue(sqs, config.QUEUE_URL_FANOUT),
    sendQueue: new SqsSendQueue(sqs, config.QUEUE_URL_SEND),
    clock: systemClock,
    newTaskId,
  };
  const credits = new DynamoCreditStore(db, config.TABLE_CREDITS);
  const view = async (task: PushTask) =>
    taskView(
      task,
      taskProgress(
        task,
        task.status === "sending" ? await deps.broadcasts.get(taskBroadcastId(task.taskId)) : undefined,
      ),
    );

  return [
    {
      method: "POST",
      pattern: /^\/api\/tasks$/,
      does: "create push tasks",
      route: async (event) => {
        const body = parseJsonBody(event, createTaskBody);
        const task = await createTask({ ...body, goods: { ...body.goods, id: String(body.goods.id) } }, deps);
        logger.info("task created", { taskId: task.taskId, channel: task.channel, audience: task.audience });
        return json(201, { taskId: task.taskId, status: "draft" } satisfies CreateTaskAnswer);
      },
    },
    {
      method: "GET",
      pattern: /^\/api\/tasks$/,
      does: "list push tasks",
      route: async (event) => {
        const answer: TaskList = await viewedPage(
          event,
          (limit, cursor) => deps.tasks.list(limit, cursor),
          view,
        );
        return json(200, answer);
      },
    },
    {
      method: "GET",
      pattern: /^\/api\/tasks\/([^/]+)$/,
      does: "read push tasks",
      route: async (_event, [id]) => json(200, await view(await loadTask(id ?? "", deps))),
    },
    {
      method: "POST",
      pattern: /^\/api\/tasks\/([^/]+)\/recipients$/,
      does: "upload push-task recipients",
      route: async (event, [id]) => {
        const report = await uploadRecipients(id ?? "", uploadRows(event), deps, RECIPIENT_BATCH);
        logger.info("recipients uploaded", { taskId: id, added: report.added });
        return json(200, report satisfies UploadAnswer);
      },
    },
    {
      method: "POST",
      pattern: /^\/api\/tasks\/([^/]+)\/send$/,
      does: "send push tasks",
      route: async (event, [id]) => {
        const taskId = id ?? "";
        const { at } = parseOptionalJsonBody(event, sendTaskBody);
        if (at !== undefined) {
          const { sendAt } = await scheduleTask(taskId, Date.parse(at), deps);
          logger.info("task scheduled", { taskId, sendAt: iso(sendAt) });
          const answer: SendTaskAnswer = { taskId, status: "scheduled", sendAt: iso(sendAt) ?? at };
          return json(202, answer);
        }
        const { broadcastId } = await sendTask(taskId, deps);
        logger.info("task sent", { taskId, broadcastId });
        return json(202, { taskId, status: "sending" } satisfies SendTaskAnswer);
      },
    },
    {
      method: "POST",
      pattern: /^\/api\/tasks\/([^/]+)\/cancel$/,
      does: "cancel scheduled push tasks",
      route: async (_event, [id]) => {
        await cancelSchedule(id ?? "", deps);
        logger.info("task schedule cancelled", { taskId: id });
        return json(200, { taskId: id ?? "", status: "draft" } satisfies CancelTaskAnswer);
      },
    },
    {
      method: "GET",
      pattern: /^\/api\/tasks\/([^/]+)\/deliveries$/,
      does: "list push-task deliveries",
      route: async (event, [id]) => {
        const task = await loadTask(id ?? "", deps);
        const query = parseQuery(event, deliveriesQuery);
        const after = query.cursor ? decodeOpenidCursor(query.cursor) : undefined;
        const page = await deps.deliveries.listPage(taskBroadcastId(task.taskId), {
          limit: query.limit,
          ...(after ? { after } : {}),
          ...(query.status ? { outcome: query.status } : {}),
        });
        const answer: DeliveriesPage = {
          items: page.items.map(deliveryView),
          next: encodeOpenidCursor(page.next),
        };
        return json(200, answer);
      },
    },
    {
      method: "POST",
      pattern: /^\/api\/tasks\/([^/]+)\/retry$/,
      does: "retry push tasks",
      route: async (_event, [id]) => {
        const { round, requeued } = await retryTask(id ?? "", deps);
        logger.info("task retry queued", { taskId: id, round, requeued });
        return json(202, { taskId: id ?? "", round, requeued } satisfies RetryAnswer);
      },
    },
    {
      method: "POST",
      pattern: /^\/api\/subscriptions$/,
      roles: OPERATOR_AND_APP,
      does: "report subscribe credits",
      route: async (event) => {
        const body = parseJsonBody(event, grantCreditsBody);
        const grant = await credits.grant(
          body.openid,
          body.templateId,
          body.count,
          Date.now(),
          idempotencyKey(event),
        );
        return json(200, {
          openid: body.openid,
          templateId: body.templateId,
          ...grant,
        } satisfies GrantCreditsAnswer);
      },
    },
    {
      method: "GET",
      pattern: /^\/api\/subscriptions$/,
      roles: OPERATOR_AND_APP,
      does: "read subscribe credits",
      route: async (event) => {
        const query = parseQuery(event, creditsQuery);
        const count = await credits.credits(query.openid, query.templateId);
        return json(200, { ...query, credits: count } satisfies CreditsAnswer);
      },
    },
  ];
}
