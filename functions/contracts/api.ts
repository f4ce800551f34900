/**
 * The HTTP API's bodies and answers, as schemas: the routes validate requests with them and shape
 * answers to their types; the console, the demo and benchmark clients and the tests read answers
 * through them. A field is defined here once, wherever it is written or read. It is long (over
 * 300 lines) because it is the whole API in one module, by design: one definition per contract.
 */
import { z } from "zod";
import { OPENID_PATTERN } from "../core/recipient-list.ts";
import { suppressionReason } from "./messages.ts";

// ——— Pieces

export const openid = z
  .string()
  .regex(OPENID_PATTERN, "must be a WeChat openid (6–64 letters, digits, _ or -)");
export const outTradeNo = z
  .string()
  .regex(/^[A-Za-z0-9_\-|*@]{6,32}$/, "must be 6–32 letters, digits or _-|*@ (WeChat Pay's rule)");
export const templateId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "must be a WeChat template id");
/** ISO 8601 with an offset, as every answer gives times; null where there is none. */
const isoTime = z.string();
const counts = z.record(z.string(), z.number());

/** `?limit=&cursor=` of every list. */
export const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(2000).optional(),
});

/** A page of a list: pass `next` as `cursor` for the following one; null after the last. */
const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), next: z.string().nullable() });

/** Every refusal: 4xx and 5xx answers carry only this. */
export const errorAnswer = z.object({ error: z.string() });
export type ErrorAnswer = z.infer<typeof errorAnswer>;

/** Where a broadcast (of a post or a task) stands. `unknown`: delivery not known, not re-sent. */
export const deliveryCounts = z.object({
  sent: z.number(),
  failed: z.number(),
  unknown: z.number(),
  skipped: z.number(),
  byChannel: counts,
  byErrcode: counts,
  /**
   * Skipped recipients by reason, as their records word it (`daily cap`, `suppressed: user block`,
   * `no subscription credit`…); each skip counts once. Absent for broadcasts from before it was kept
   * (and before a post is paid). Skips stay counted under `none` in byErrcode as well.
   */
  bySkipReason: counts.optional(),
});

/** Settled recipients in one time bucket (1 minute, or 60 once a broadcast is over 2 hours old). */
export const timelinePoint = z.object({
  at: isoTime,
  minutes: z.union([z.literal(1), z.literal(60)]),
  sent: z.number(),
  failed: z.number(),
});
export type TimelinePointView = z.infer<typeof timelinePoint>;

/** A broadcast's numbers, a post's or a task's: its counts, total and pending, reports and timeline. */
const broadcastNumbers = deliveryCounts.extend({
  total: z.number(),
  pending: z.number(),
  /** Delivery reports WeChat pushed, as of the last tally (`reportsCountedAt`, epoch ms). */
  confirmed: z.number(),
  rejected: z.number(),
  reportsCountedAt: z.number().optional(),
  /** Sent and failed by time bucket, oldest first; empty for broadcasts from before it was kept. */
  timeline: z.array(timelinePoint),
  /** Deferred: when quiet hours end and it goes on (ISO 8601). */
  resumesAt: isoTime.optional(),
});

/**
 * `paused`: WeChat's daily quota ran out (45009), it goes on once the quota is back or on a resume;
 * `deferred`: quiet hours, it goes on at `resumesAt`.
 */
export const broadcastProgress = broadcastNumbers.extend({
  status: z.enum(["awaiting_payment", "fanning_out", "sending", "paused", "deferred", "done"]),
});
export type BroadcastProgressView = z.infer<typeof broadcastProgress>;

// ——— Subscribers

export const importSubscribersBody = z.object({
  subscribers: z
    .array(
      z.strictObject({
        openid,
        membershipExpiresAt: z
          .union([z.iso.datetime({ offset: true }), z.number().int().positive()])
          .optional(),
        optedIn: z.boolean().optional(),
      }),
    )
    .min(1, "must list at least one subscriber")
    .max(10_000, "at most 10,000 subscribers per request"),
});
export type SubscriberImport = z.input<typeof importSubscribersBody>["subscribers"][number];

/** `keptOptedOut`: subscribers whose own `0` an `"optedIn": true` did not undo. */
export const importSubscribersAnswer = z.object({ imported: z.number(), keptOptedOut: z.number() });
export type ImportSubscribersAnswer = z.infer<typeof importSubscribersAnswer>;

// ——— Importing the account's followers from WeChat

/** A sync started, or the paused (or stalled) one resumed: poll it by this id. */
export const startSyncAnswer = z.object({ syncId: z.string() });
export type StartSyncAnswer = z.infer<typeof startSyncAnswer>;

/**
 * A follower sync. `pages`: pages of followers read; `imported`: followers new to Fanout;
 * `alreadyKnown`: followers it had. `error` (paused or failed) starts with WeChat's errcode when
 * WeChat gave one: `45009: …`.
 */
export const syncView = z.object({
  status: z.enum(["running", "done", "paused", "failed"]),
  pages: z.number(),
  imported: z.number(),
  alreadyKnown: z.number(),
  error: z.string().optional(),
});
export type SyncView = z.infer<typeof syncView>;

// ——— Posts

export const registerPostBody = z.strictObject({
  outTradeNo,
  amount: z.number().int("must be whole fen").positive("must be positive (fen)"),
  content: z.string().trim().min(1, "must not be empty").max(2000, "at most 2,000 characters"),
  contactPhone: z
    .string()
    .regex(/^[0-9+\-() ]{5,20}$/, "must be a phone number")
    .optional(),
});
export const registerPostAnswer = z.object({ postId: z.string(), outTradeNo: z.string() });
export type RegisterPostAnswer = z.infer<typeof registerPostAnswer>;

/**
 * A post, its payment and its broadcast's progress (`awaiting_payment` before it is paid). `held`:
 * paid and waiting for an operator's review, nothing sent; `rejected`: an operator rejected it,
 * nothing is ever sent.
 */
export const postView = broadcastProgress.extend({
  postId: z.string(),
  outTradeNo: z.string(),
  amount: z.number(),
  content: z.string(),
  contactPhone: z.string().optional(),
  payment: z.enum(["PENDING", "PAID"]),
  createdAt: isoTime,
  paidAt: isoTime.nullable(),
  broadcastId: z.string().nullable(),
  status: z.enum([...broadcastProgress.shape.status.options, "held", "rejected"]),
  /** Why the post was held for review (`blocked word "…"`, `blocked pattern /…/`, `manual review`). */
  reviewReason: z.string().optional(),
  /** The operator's words when rejecting it. */
  rejectionReason: z.string().optional(),
  /** When an operator approved or rejected it. */
  reviewedAt: isoTime.optional(),
});
export type PostView = z.infer<typeof postView>;
export const postList = page(postView);
export type PostList = z.infer<typeof postList>;

export const tallyAnswer = z.object({ broadcastId: z.string() });
export type TallyAnswer = z.infer<typeof tallyAnswer>;

// ——— Review of paid posts (待审核)

/** `POST /api/posts/{outTradeNo}/approve`: the broadcast started. */
export const approvePostAnswer = z.object({ outTradeNo: z.string(), broadcastId: z.string() });
export type ApprovePostAnswer = z.infer<typeof approvePostAnswer>;
export const rejectPostBody = z.strictObject({
  reason: z
    .string()
    .trim()
    .min(1, "must say why (it is kept with the post)")
    .max(200, "at most 200 characters"),
});
export type RejectPostBody = z.input<typeof rejectPostBody>;
export const rejectPostAnswer = z.object({ outTradeNo: z.string(), status: z.literal("rejected") });
export type RejectPostAnswer = z.infer<typeof rejectPostAnswer>;

// ——— Push tasks

export const createTaskBody = z.strictObject({
  name: z.string(),
  channel: z.enum(["template", "subscribe"], "must be template or subscribe"),
  templateId,
  templateName: z.string(),
  topic: z.string(),
  caption: z.string(),
  tips: z.string().default(""),
  data: z.record(z.string(), z.string(), "must map template keys to text"),
  page: z.string().optional(),
  url: z.string().optional(),
  goods: z.strictObject({
    id: z.union([z.string().trim().min(1, "must not be empty").max(64), z.number().int().nonnegative()]),
    title: z.string(),
    price: z.number("must be a number (yuan)"),
    onShelf: z.boolean("must be true or false"),
  }),
  audience: z.enum(["uploaded", "all"], "must be uploaded or all").default("uploaded"),
  /** An urgent service notice: sent inside quiet hours (免打扰时段) too. */
  ignoreQuietHours: z.boolean("must be true or false").optional(),
});
export type CreateTaskBody = z.input<typeof createTaskBody>;
export const createTaskAnswer = z.object({ taskId: z.string(), status: z.literal("draft") });
export type CreateTaskAnswer = z.infer<typeof createTaskAnswer>;

const taskMessage = z.object({
  channel: z.enum(["template", "subscribe"]),
  templateId: z.string(),
  data: z.record(z.string(), z.object({ value: z.string() })),
  page: z.string().optional(),
  url: z.string().optional(),
});

/** A task: what the operator entered, its rendered message, and its progress. */
export const taskView = broadcastNumbers.extend({
  taskId: z.string(),
  name: z.string(),
  channel: z.enum(["template", "subscribe"]),
  templateId: z.string(),
  templateName: z.string(),
  topic: z.string(),
  caption: z.string(),
  tips: z.string(),
  data: z.record(z.string(), z.string()),
  page: z.string().nullable(),
  url: z.string().nullable(),
  goods: z.object({ id: z.string(), title: z.string(), price: z.number(), onShelf: z.boolean() }),
  audience: z.enum(["uploaded", "all"]),
  message: taskMessage,
  recipients: z.number(),
  createdAt: isoTime,
  sentAt: isoTime.nullable(),
  /** The last operator retry: round, chunks (-1 while queueing), recipients re-queued, started (epoch ms). */
  retry: z.object({ round: z.number(), chunks: z.number(), requeued: z.number(), at: z.number() }).nullable(),
  status: z.enum(["draft", "scheduled", "sending", "paused", "deferred", "done"]),
  /** Sent inside quiet hours too (an urgent service notice). */
  ignoreQuietHours: z.boolean().optional(),
  /** Deferred: when quiet hours end and it goes on (ISO 8601). */
  resumesAt: isoTime.optional(),
  /** When a scheduled task is (or was) to be sent; null for a task sent at once. */
  sendAt: isoTime.nullable(),
  /** Why the scheduled send was refused at its time (the task is a draft again); null otherwise. */
  scheduleError: z.string().nullable(),
});
export type TaskView = z.infer<typeof taskView>;
export const taskList = page(taskView);
export type TaskList = z.infer<typeof taskList>;

/** An upload's report: duplicates within it and of stored recipients are dropped and counted. */
export const uploadAnswer = z.object({
  added: z.number(),
  duplicates: z.number(),
  /** The first invalid rows (1-based line of the upload, why); `invalidCount` counts them all. */
  invalid: z.array(z.object({ line: z.number(), reason: z.string() }).readonly()).readonly(),
  invalidCount: z.number(),
});
export type UploadAnswer = z.infer<typeof uploadAnswer>;

/** No body (or no `at`): send now. `at`: send then, within a minute (ISO 8601 with its offset). */
export const sendTaskBody = z.strictObject({
  at: z.iso
    .datetime({ offset: true, error: "must be a time with its offset, e.g. 2026-12-02T09:00:00+08:00" })
    .optional(),
});
export type SendTaskBody = z.input<typeof sendTaskBody>;
export const sendTaskAnswer = z.union([
  z.object({ taskId: z.string(), status: z.literal("sending") }),
  z.object({ taskId: z.string(), status: z.literal("scheduled"), sendAt: isoTime }),
]);
export type SendTaskAnswer = z.infer<typeof sendTaskAnswer>;
export const cancelTaskAnswer = z.object({ taskId: z.string(), status: z.literal("draft") });
export type CancelTaskAnswer = z.infer<typeof cancelTaskAnswer>;

/** Test recipients of a preview: the operator's own openids. */
export const previewBody = z.strictObject({
  openids: z
    .array(openid)
    .min(1, "must list 1–10 openids")
    .max(10, "must list 1–10 openids")
    .refine((list) => new Set(list).size === list.length, "must not repeat an openid"),
});
export type PreviewBody = z.infer<typeof previewBody>;
/**
 * WeChat's answer per test openid (errcode 0: sent). errcode null: not sent by Fanout itself (the
 * user opted out with 0, or has no subscribe credit), errmsg says why.
 */
export const previewAnswer = z.object({
  results: z.array(z.object({ openid: z.string(), errcode: z.number().nullable(), errmsg: z.string() })),
});
export type PreviewAnswer = z.infer<typeof previewAnswer>;

/** The account's template-message templates (我的模板), as WeChat lists them. */
export const templatesAnswer = z.object({
  templates: z.array(z.object({ templateId: z.string(), title: z.string(), keys: z.array(z.string()) })),
});
export type TemplatesAnswer = z.infer<typeof templatesAnswer>;

export const deliveriesQuery = z.object({
  status: z
    .enum(["sent", "failed", "unknown", "skipped"], "must be sent, failed, unknown or skipped")
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().min(1).max(200).optional(),
});

export const deliveryItem = z.object({
  openid: z.string(),
  status: z.enum(["sent", "failed", "unknown", "skipped"]),
  channel: z.enum(["custom", "template", "subscribe"]).nullable(),
  errcode: z.number().nullable(),
  errmsg: z.string().nullable(),
  at: isoTime.nullable(),
  /** A failure the retry route would send again. */
  retryable: z.boolean(),
});
export type DeliveryItem = z.infer<typeof deliveryItem>;
export const deliveriesPage = page(deliveryItem);
export type DeliveriesPage = z.infer<typeof deliveriesPage>;

export const retryAnswer = z.object({ taskId: z.string(), round: z.number(), requeued: z.number() });
export type RetryAnswer = z.infer<typeof retryAnswer>;

/** A quota pause ended by an operator: its parked recipients go on within a minute. */
export const resumeAnswer = z.object({ broadcastId: z.string() });
export type ResumeAnswer = z.infer<typeof resumeAnswer>;

// ——— Subscribe credits (the mini program's backend)

export const grantCreditsBody = z.strictObject({
  openid,
  templateId,
  count: z.number().int("must be a whole number").min(1).max(100).default(1),
});
export const grantCreditsAnswer = z.object({
  openid: z.string(),
  templateId: z.string(),
  credits: z.number(),
  /** The same Idempotency-Key was granted before: nothing was added. */
  replayed: z.boolean(),
});
export type GrantCreditsAnswer = z.infer<typeof grantCreditsAnswer>;
export const creditsQuery = z.object({ openid, templateId });
export const creditsAnswer = z.object({ openid: z.string(), templateId: z.string(), credits: z.number() });
export type CreditsAnswer = z.infer<typeof creditsAnswer>;

// ——— The central token server's push

export const accessTokenPush = z.strictObject({
  accessToken: z
    .string()
    .regex(
      /^[\x21-\x7e]{16,2048}$/,
      "must be the access token WeChat issued (16–2,048 visible ASCII characters)",
    ),
  expiresIn: z
    .number()
    .int("must be whole seconds")
    .min(60, "must be at least 60 seconds")
    .max(7200, "must be at most 7,200 seconds (WeChat's longest)"),
});

// ——— Subscriber lookup (GET /api/subscribers/{openid})

/** One of the user's recent deliveries: which broadcast (a paid post's or a task's) and its outcome. */
export const recentDelivery = z.object({
  kind: z.enum(["post", "task"]),
  /** The post's outTradeNo or the task's id. */
  id: z.string(),
  /** The task's name, or the start of the post's content. */
  title: z.string(),
  broadcastId: z.string(),
  status: deliveryItem.shape.status,
  channel: deliveryItem.shape.channel,
  errcode: z.number().nullable(),
  errmsg: z.string().nullable(),
  at: isoTime,
});
export type RecentDeliveryView = z.infer<typeof recentDelivery>;

export const subscriberView = z.object({
  openid: z.string(),
  optedIn: z.boolean(),
  /** `user`: their own 0/1 (only they undo a 0); `operator`: an import; null: never changed. */
  optedInBy: z.enum(["user", "operator"]).nullable(),
  /** When the current choice was made (for one never changed: when first stored). */
  optedInSince: isoTime.nullable(),
  followed: z.boolean(),
  /** When they last followed or unfollowed, as `followed` says; null when Fanout never heard. */
  followedChangedAt: isoTime.nullable(),
  membershipExpiresAt: isoTime.nullable(),
  membershipActive: z.boolean(),
  /** The customer-service window Fanout tracks (a message opens 48 h with 5 messages). */
  window: z.object({ until: isoTime, remaining: z.number(), open: z.boolean() }).nullable(),
  /** A broadcast starting now would include them. */
  inAudience: z.boolean(),
  /**
   * WeChat's word that they will not take the account's messages: a `user block` report, a 43101 or
   * a 43004 from a send, and since when. Broadcasts skip them (`suppressed: <reason>`) until their
   * own message, a re-follow or POST /api/subscribers/{openid}/unsuppress. Null when not suppressed.
   */
  suppressed: z.object({ reason: suppressionReason, since: isoTime.nullable() }).nullable(),
  lastInteractionAt: isoTime.nullable(),
  createdAt: isoTime.nullable(),
  /** Subscribe-message credits by template (SubscriptionCredits `T#<templateId>`). */
  credits: z.array(z.object({ templateId: z.string(), credits: z.number(), updatedAt: isoTime.nullable() })),
  recentDeliveries: z.object({
    /** The newest first, at most 20. */
    items: z.array(recentDelivery),
    searchedBroadcasts: z.number(),
    /** DynamoDB read units the search used. */
    readUnits: z.number(),
    /** False when the search stopped (budget, time) before every broadcast that still has records. */
    complete: z.boolean(),
    stoppedBy: z.enum(["found", "retention", "end", "budget", "time"]),
  }),
});
export type SubscriberView = z.infer<typeof subscriberView>;

/** `POST /api/subscribers/{openid}/unsuppress`: the reason lifted, null when they were not suppressed. */
export const unsuppressAnswer = z.object({ openid: z.string(), lifted: suppressionReason.nullable() });
export type UnsuppressAnswer = z.infer<typeof unsuppressAnswer>;
