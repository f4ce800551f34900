import { type TimelinePoint, timelinePoints } from "./timeline.ts";

/**
 * Final outcome of one recipient; `pending` recipients have no delivery record yet. `unknown`: a
 * customer-service or subscribe call was on the wire when it got no answer (or its invocation
 * stopped), and WeChat cannot de-duplicate those, so it is not made again.
 */
export type Outcome = "sent" | "failed" | "unknown" | "skipped";
/** `subscribe`: a mini-program subscribe message (push tasks only). */
export type Channel = "custom" | "template" | "subscribe";

export interface DeliveryRecord {
  readonly broadcastId: string;
  readonly openid: string;
  readonly outcome: Outcome;
  /** The channel that delivered or last failed; absent when WeChat was never called. */
  readonly channel?: Channel;
  readonly errcode?: number;
  readonly errmsg?: string;
  readonly msgid?: number;
  /** WeChat calls made for this recipient by the invocation that settled it. */
  readonly attempts: number;
  /** Epoch ms. */
  readonly at: number;
}

/** What every recipient of a broadcast receives, fixed when the broadcast starts. */
export interface BroadcastMessage {
  /** Customer-service text message body. */
  readonly customText: string;
  readonly template: {
    readonly templateId: string;
    readonly url?: string;
    readonly data: Readonly<Record<string, { readonly value: string }>>;
  };
}

/**
 * `paused`: WeChat's daily quota ran out (45009); `deferred`: quiet hours. Either way its pending
 * chunks are parked outside the queue (core/parking.ts) until the resumer sends them on.
 */
export type BroadcastStatus = "fanning_out" | "sending" | "paused" | "deferred" | "done";

/** Settled recipients of a broadcast or a chunk, with delivered ones by channel and the rest by errcode. */
export interface DeliveryCounts {
  readonly sent: number;
  readonly failed: number;
  readonly unknown: number;
  readonly skipped: number;
  readonly byChannel: Readonly<Record<string, number>>;
  readonly byErrcode: Readonly<Record<string, number>>;
}

export interface Broadcast extends DeliveryCounts {
  readonly broadcastId: string;
  /** Paid-post broadcasts: the post and what every subscriber receives. */
  readonly outTradeNo?: string;
  readonly message?: BroadcastMessage;
  /** Push-task broadcasts: the task's audience and its one rendered message (core/push-task.ts). */
  readonly task?: TaskDispatch;
  readonly paused: boolean;
  /** When the current quota pause began (epoch ms); removed when it is resumed. */
  readonly pausedAt?: number;
  /** Quiet hours: parked chunks wait until then (epoch ms), and since when; removed when resumed. */
  readonly deferredUntil?: number;
  readonly deferredAt?: number;
  /** The pause (`pausedAt`) and deferral (`deferredUntil`) last announced as broadcast events. */
  readonly pauseAnnounced?: number;
  readonly deferAnnounced?: number;
  /** Audience pages already turned into chunks; the fan-out cursor chain's progress. */
  readonly fanoutPage: number;
  readonly fanoutDone: boolean;
  /** Recipients enqueued so far; the audience size once `fanoutDone`. */
  readonly total: number;
  /** Delivery reports (TEMPLATESENDJOBFINISH) received: `success`, and `failed:…`. */
  readonly confirmed?: number;
  readonly rejected?: number;
  /** When the report counts were last tallied (epoch ms); absent before the first tally. */
  readonly reportsCountedAt?: number;
  /**
   * Settled recipients over time, by bucket (core/timeline.ts), added as each chunk settles. Absent
   * on broadcasts started before it was kept: they get none.
   */
  readonly timeline?: Readonly<Record<string, number>>;
  /**
   * Skipped recipients by reason (core/skip-reasons.ts), added as each chunk settles. Absent on
   * broadcasts started before skips were counted by reason.
   */
  readonly bySkipReason?: Readonly<Record<string, number>>;
  readonly createdAt: number;
  /**
   * A paid post's `settled` webhook event (core/broadcast-events.ts): when it was claimed (its `at`),
   * and that it was handed to the webhook queue. Absent until the broadcast settles.
   */
  readonly settledEventAt?: number;
  readonly settledAnnounced?: boolean;
}

/** A broadcast as it starts: nothing read from its audience, nothing counted. */
export function startingBroadcast(
  broadcastId: string,
  createdAt: number,
  origin: Pick<Broadcast, "outTradeNo" | "message" | "task">,
): Broadcast {
  return {
    broadcastId,
    ...origin,
    paused: false,
    fanoutPage: 0,
    fanoutDone: false,
    total: 0,
    sent: 0,
    failed: 0,
    unknown: 0,
    skipped: 0,
    byChannel: {},
    byErrcode: {},
    timeline: {},
    bySkipReason: {},
    createdAt,
  };
}

/** Counter increments for one settled chunk, applied once. */
export type ChunkTally = DeliveryCounts;

/**
 * Why chunks are parked instead of sent: quiet hours until `until`, or a quota pause. `hit`: the
 * chunk's own call was answered 45009 (it pauses the broadcast); otherwise it joins a pause under way.
 */
export type Hold =
  | { readonly kind: "quiet"; readonly until: number }
  | { readonly kind: "quota"; readonly hit: boolean };

export type PostStatus = "PENDING" | "PAID";
/**
 * A paid post's review (core/post-review.ts): `held` waits for an operator with no broadcast yet;
 * `approved` has its broadcast; `rejected` never gets one. Absent: it went out without review.
 */
export type ReviewState = "held" | "approved" | "rejected";

export interface Post {
  readonly postId: string;
  readonly outTradeNo: string;
  /** Expected amount, in fen. */
  readonly amount: number;
  readonly content: string;
  readonly contactPhone?: string;
  readonly status: PostStatus;
  readonly createdAt: number;
  readonly paidAt?: number;
  readonly transactionId?: string;
  readonly broadcastId?: string;
  readonly review?: ReviewState;
  /** Why it was held: the blocked word or pattern it matched, or `manual review`. */
  readonly reviewReason?: string;
  /** The operator's words when rejecting it. */
  readonly rejectionReason?: string;
  /** When an operator approved or rejected it (epoch ms). */
  readonly reviewedAt?: number;
}

export interface Subscriber {
  readonly openid: string;
  readonly optedIn?: boolean;
  /** Epoch ms; absent means no expiry. */
  readonly membershipExpiresAt?: number;
}

// The queue messages are contracts (functions/contracts/messages.ts); the core uses their types.
export type { ChunkMessage, FanoutMessage, RetriedFailure } from "../contracts/messages.ts";

/** Derived view of a broadcast's progress, as the status API reports it. */
export interface BroadcastProgress extends DeliveryCounts {
  readonly status: BroadcastStatus;
  readonly total: number;
  readonly pending: number;
  /**
   * Template messages WeChat reported delivered, and reported refused (user block, system failure),
   * as of the last tally (`reportsCountedAt`): the tally passes run after the broadcast settles.
   */
  readonly confirmed: number;
  readonly rejected: number;
  readonly reportsCountedAt?: number;
  /** Sent and failed over time (core/timeline.ts); empty for broadcasts from before it was kept. */
  readonly timeline: TimelinePoint[];
  /** Skipped recipients by reason; absent for broadcasts from before it was kept. */
  readonly bySkipReason?: Readonly<Record<string, number>>;
  /** Deferred: when quiet hours end and it goes on (ISO 8601). */
  readonly resumesAt?: string;
}

/** Where a broadcast stands: a pause or a deferral shows while anything is pending, fan-out or not. */
function statusOf(b: Broadcast, pending: number): BroadcastStatus {
  if (b.fanoutDone && pending === 0) return "done";
  if (b.deferredUntil !== undefined) return "deferred";
  if (b.paused) return "paused";
  return b.fanoutDone ? "sending" : "fanning_out";
}

/** Progress of a broadcast, derived from its counters. */
export function broadcastProgress(b: Broadcast): BroadcastProgress {
  const settled = b.sent + b.failed + (b.unknown ?? 0) + b.skipped;
  const pending = Math.max(0, b.total - settled);
  const status = statusOf(b, pending);
  return {
    status,
    total: b.total,
    sent: b.sent,
    failed: b.failed,
    unknown: b.unknown ?? 0,
    skipped: b.skipped,
    pending,
    byChannel: b.byChannel,
    byErrcode: b.byErrcode,
    confirmed: b.confirmed ?? 0,
    rejected: b.rejected ?? 0,
    ...(b.reportsCountedAt === undefined ? {} : { reportsCountedAt: b.reportsCountedAt }),
    timeline: timelinePoints(b.timeline),
    ...(b.bySkipReason ? { bySkipReason: b.bySkipReason } : {}),
    ...(status === "deferred" && b.deferredUntil !== undefined
      ? { resumesAt: new Date(b.deferredUntil).toISOString() }
      : {}),
  };
}

/** The broadcast id of a paid post: deterministic, so one post can only ever have one broadcast. */
export function postBroadcastId(outTradeNo: string): string {
  return `post-${outTradeNo}`;
}

// ——— Push tasks: what an operator fills in, and the one message it renders to.

/** `template`: Official Account template message; `subscribe`: mini-program subscribe message. */
export type TaskChannel = "template" | "subscribe";
/** `uploaded`: the task's own recipient list; `all`: every active subscriber. */
export type TaskAudience = "uploaded" | "all";

export interface Goods {
  readonly id: string;
  readonly title: string;
  /** Yuan, at most two decimals (the old back office's unit). */
  readonly price: number;
  readonly onShelf: boolean;
}

/** What an operator fills in; `data` and `page` may hold `{{…}}` placeholders. */
export interface TaskDraft {
  readonly name: string;
  readonly channel: TaskChannel;
  readonly templateId: string;
  readonly templateName: string;
  readonly topic: string;
  readonly caption: string;
  readonly tips: string;
  readonly data: Readonly<Record<string, string>>;
  readonly page?: string;
  /** Template messages only: the link when no mini-program page is configured. */
  readonly url?: string;
  readonly goods: Goods;
  readonly audience: TaskAudience;
  /** An urgent service notice: sent inside quiet hours too. */
  readonly ignoreQuietHours?: boolean;
}

/** The one message every recipient of a task receives, rendered and checked when the task is made. */
export interface TaskMessage {
  readonly channel: TaskChannel;
  readonly templateId: string;
  readonly data: Readonly<Record<string, { readonly value: string }>>;
  readonly page?: string;
  readonly url?: string;
}

/** What a task's broadcast carries for the fan-out (its audience) and the senders (its message). */
export interface TaskDispatch {
  readonly taskId: string;
  readonly audience: TaskAudience;
  readonly message: TaskMessage;
  /** Sent inside quiet hours too (TaskDraft.ignoreQuietHours). */
  readonly ignoreQuietHours?: boolean;
}
