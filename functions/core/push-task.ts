import { classifyErrcode } from "./errcodes.ts";
import { ValidationError } from "./errors.ts";
import {
  type Broadcast,
  type BroadcastProgress,
  broadcastProgress,
  type DeliveryCounts,
  type DeliveryRecord,
  type TaskDraft,
  type TaskMessage,
} from "./model.ts";

import { templateKeyType, templateValueProblem } from "./template-data.ts";

/** A draft may be scheduled (and cancelled back to a draft) or sent; a sent task stays sent. */
export type TaskState = "draft" | "scheduled" | "sending";

/**
 * An operator's retry of a task's transient failures: round `round`, started at `at` (epoch ms),
 * queued `requeued` recipients in `chunks` chunks (`-1` while still queueing).
 */
export interface RetryRound {
  readonly round: number;
  readonly chunks: number;
  readonly requeued: number;
  readonly at: number;
}

/** Chunk ids of retry round `round`: distinct from the fan-out's `<page>-<index>`. */
export function retryChunkId(round: number, index: number): string {
  return `r${round}-${index}`;
}

export interface PushTask extends TaskDraft {
  readonly taskId: string;
  readonly status: TaskState;
  /** Uploaded recipients stored (duplicates excluded). */
  readonly recipients: number;
  readonly message: TaskMessage;
  /** Epoch ms. */
  readonly createdAt: number;
  readonly sentAt?: number;
  /** When a scheduled task is to be sent (epoch ms); kept once it is sent. */
  readonly sendAt?: number;
  /** Why the last scheduled send was refused at its time (the task went back to draft). */
  readonly scheduleError?: string;
  /** The last operator retry of transient failures. */
  readonly retry?: RetryRound;
}

/** The limits of the system Fanout replaces, kept: what the operator form enforces too. */
export const TASK_LIMITS = {
  name: 50,
  templateName: 50,
  topic: 10,
  caption: 30,
  tips: 30,
  goodsTitle: 100,
  page: 512,
  dataKeys: 20,
} as const;

/** The furthest ahead a send may be scheduled. */
export const MAX_SCHEDULE_AHEAD_MS = 30 * 24 * 3600_000;

/** Skipped subscribe-message recipients carry this reason; WeChat is never called for them. */
export const NO_CREDIT = "no subscription credit";
/** A preview is not sent to a test user who opted out: their 0 holds for previews too. */
export const OPTED_OUT = "opted out (replied 0): not sent";

/** Placeholders a task's `data` and `page` may use. */
export const PLACEHOLDERS = [
  "name",
  "templateName",
  "topic",
  "caption",
  "tips",
  "goods.id",
  "goods.title",
  "goods.price",
] as const;

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const LEGACY_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;
const SUBSCRIBE_TYPES = new Set([
  "thing",
  "short_thing",
  "number",
  "letter",
  "symbol",
  "character_string",
  "time",
  "date",
  "amount",
  "phone_number",
  "car_number",
  "name",
  "phrase",
  "enum",
]);

const TASK_BROADCAST_PREFIX = "task-";

export function taskBroadcastId(taskId: string): string {
  return `${TASK_BROADCAST_PREFIX}${taskId}`;
}

/** Whether a broadcast carries a push task (rather than a paid post). */
export function isTaskBroadcast(broadcastId: string): boolean {
  return broadcastId.startsWith(TASK_BROADCAST_PREFIX);
}

function chars(text: string): number {
  return Array.from(text).length;
}

/** Goods prices print as the operator typed them: `250`, `19.9`. */
function formatPrice(price: number): string {
  return Number.isInteger(price) ? String(price) : String(Math.round(price * 100) / 100);
}

function placeholderValues(draft: TaskDraft): Record<string, string> {
  return {
    name: draft.name,
    templateName: draft.templateName,
    topic: draft.topic,
    caption: draft.caption,
    tips: draft.tips,
    "goods.id": draft.goods.id,
    "goods.title": draft.goods.title,
    "goods.price": formatPrice(draft.goods.price),
  };
}

/** Replaces `{{name}}` placeholders; an unknown one is a ValidationError naming `field`. */
export function renderPlaceholders(text: string, values: Readonly<Record<string, string>>, field: string) {
  return text.replace(PLACEHOLDER, (_, name: string) => {
    const value = values[name];
    if (value === undefined) {
      throw new ValidationError(`${field}: unknown placeholder {{${name}}}; use ${PLACEHOLDERS.join(", ")}`);
    }
    return value;
  });
}

function checkLength(field: string, value: string, max: number, required = true): void {
  if (required && value.trim() === "") throw new ValidationError(`${field}: must not be empty`);
  const n = chars(value);
  if (n > max) throw new ValidationError(`${field}: at most ${max} characters (has ${n})`);
}

/**
 * Checks a task as the operator wrote it and renders its one message: every field's limit, every
 * placeholder, and every rendered `data` value against WeChat's rule for its key's type, so a task
 * that would answer 47003 is refused before anything is stored or sent. Errors name the field.
 */
export function prepareTaskMessage(draft: TaskDraft): TaskMessage {
  checkLength("name", draft.name, TASK_LIMITS.name);
  checkLength("templateName", draft.templateName, TASK_LIMITS.templateName);
  checkLength("topic", draft.topic, TASK_LIMITS.topic);
  checkLength("caption", draft.caption, TASK_LIMITS.caption);
  checkLength("tips", draft.tips, TASK_LIMITS.tips, false);
  checkLength("goods.title", draft.goods.title, TASK_LIMITS.goodsTitle);
  if (!Number.isFinite(draft.goods.price) || draft.goods.price < 0)
    throw new ValidationError("goods.price: must be a price in yuan, 0 or more");
  if (Math.abs(draft.goods.price * 100 - Math.round(draft.goods.price * 100)) > 1e-6)
    throw new ValidationError("goods.price: at most two decimals (yuan)");
  if (draft.url !== undefined && draft.channel !== "template")
    throw new ValidationError("url: only template messages carry a url; subscribe messages open `page`");

  const values = placeholderValues(draft);
  const keys = Object.keys(draft.data);
  if (keys.length === 0) throw new ValidationError("data: must map at least one template key");
  if (keys.length > TASK_LIMITS.dataKeys)
    throw new ValidationError(`data: at most ${TASK_LIMITS.dataKeys} template keys`);
  const data: Record<string, { value: string }> = {};
  for (const [key, template] of Object.entries(draft.data)) {
    const field = `data.${key}`;
    const type = templateKeyType(key);
    if (draft.channel === "subscribe" && (type === undefined || !SUBSCRIBE_TYPES.has(type))) {
      throw new ValidationError(`${field}: subscribe message keys are <type><number>, e.g. thing1, amount2`);
    }
    if (type === undefined && !LEGACY_KEY.test(key))
      throw new ValidationError(`${field}: not a template key`);
    const value = renderPlaceholders(template, values, field);
    const problem = templateValueProblem(type ?? "", value);
    if (problem) throw new ValidationError(`${field}: "${value}" is not valid: ${problem}`);
    data[key] = { value };
  }

  let page: string | undefined;
  if (draft.page !== undefined && draft.page.trim() !== "") {
    page = renderPlaceholders(draft.page.trim(), values, "page");
    checkLength("page", page, TASK_LIMITS.page);
    if (/\s/.test(page)) throw new ValidationError("page: must not contain spaces");
  }
  let url: string | undefined;
  if (draft.url !== undefined && draft.url.trim() !== "") {
    url = renderPlaceholders(draft.url.trim(), values, "url");
    if (!/^https?:\/\/\S+$/.test(url)) throw new ValidationError("url: must be an http(s) URL");
  }
  return {
    channel: draft.channel,
    templateId: draft.templateId,
    data,
    ...(page === undefined ? {} : { page }),
    ...(url === undefined ? {} : { url }),
  };
}

/** A failure an operator's retry may re-send: WeChat was busy, rate-limited, unreachable or refused the token. */
export function isRetryableFailure(record: Pick<DeliveryRecord, "outcome" | "errcode">): boolean {
  if ((record.outcome !== "failed" && record.outcome !== "unknown") || record.errcode === undefined)
    return false;
  const kind = classifyErrcode(record.errcode);
  return kind === "transient" || kind === "token";
}

export type TaskStatus = "draft" | "scheduled" | "sending" | "paused" | "deferred" | "done";

export interface TaskProgress extends DeliveryCounts {
  readonly status: TaskStatus;
  readonly total: number;
  readonly pending: number;
  /** Delivery reports of its template messages, as of the last tally (as a post's broadcast). */
  readonly confirmed: number;
  readonly rejected: number;
  readonly reportsCountedAt?: number;
  readonly timeline: BroadcastProgress["timeline"];
  readonly bySkipReason?: BroadcastProgress["bySkipReason"];
  readonly resumesAt?: string;
}

/** A task's progress: its broadcast's counters once sent; before that its recipients are all pending. */
export function taskProgress(task: PushTask, broadcast: Broadcast | undefined): TaskProgress {
  if (task.status !== "sending" || !broadcast) {
    const total = task.audience === "uploaded" ? task.recipients : 0;
    return {
      status: task.status,
      total,
      sent: 0,
      failed: 0,
      unknown: 0,
      skipped: 0,
      pending: total,
      byChannel: {},
      byErrcode: {},
      confirmed: 0,
      rejected: 0,
      timeline: [],
    };
  }
  const p = broadcastProgress(broadcast);
  return {
    status: p.status === "fanning_out" ? "sending" : p.status,
    total: p.total,
    sent: p.sent,
    failed: p.failed,
    unknown: p.unknown,
    skipped: p.skipped,
    pending: p.pending,
    byChannel: p.byChannel,
    byErrcode: p.byErrcode,
    confirmed: p.confirmed,
    rejected: p.rejected,
    ...(p.reportsCountedAt === undefined ? {} : { reportsCountedAt: p.reportsCountedAt }),
    timeline: p.timeline,
    ...(p.bySkipReason ? { bySkipReason: p.bySkipReason } : {}),
    ...(p.resumesAt === undefined ? {} : { resumesAt: p.resumesAt }),
  };
}
