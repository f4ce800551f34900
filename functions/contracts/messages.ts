/**
 * The queue messages, as schemas: the handlers validate what they receive with them, the core and
 * the adapters use their types, so a message has one definition wherever it is written or read.
 */
import { z } from "zod";
import { CHUNK_SIZE } from "../../common/definitions.ts";

const id = z.string().min(1);
const count = z.number().int().nonnegative();
/** A chunk's openids: never more than the fan-out puts in one (CHUNK_SIZE). */
const openidList = z.array(id).max(CHUNK_SIZE).readonly();

/**
 * Why a subscriber is suppressed (core/suppression.ts): a `failed:user block` delivery report, or a
 * send WeChat refused with 43101 (the user refuses the account's messages) or 43004 (not following).
 */
export const suppressionReason = z.enum(["user block", "43101", "43004"]);
export type SuppressionReason = z.infer<typeof suppressionReason>;

/** The record an operator's retry re-does, as it was counted. */
export const retriedFailure = z
  .object({ outcome: z.enum(["failed", "unknown"]), errcode: z.number().int() })
  .readonly();
export type RetriedFailure = z.infer<typeof retriedFailure>;

/** A send-queue message: one chunk of one broadcast's recipients. */
export const chunkMessage = z
  .object({
    broadcastId: id,
    /** Deterministic (`<page>-<index>`, `r<round>-<index>` for a retry), so a re-emitted chunk is recognised. */
    chunkId: id,
    openids: openidList.refine((list) => list.length > 0, "must list at least one openid"),
    /** Recipients with a customer-service window open when the audience was read. */
    windowed: openidList.optional(),
    /**
     * An operator's retry of transient failures: each recipient's failure when it was re-queued.
     * Their records older than `retryAt` (epoch ms) are re-done and the old failures taken off the
     * counters.
     */
    retryOf: z.record(id, retriedFailure).readonly().optional(),
    retryAt: z.number().int().positive().optional(),
    /** Times this chunk was put back to wait for an access token: each wait doubles. */
    tokenWaits: count.optional(),
    /**
     * Recipients the fan-out found suppressed, and why: recorded skipped with the reason, WeChat
     * never called for them (core/suppression.ts).
     */
    suppressed: z.record(id, suppressionReason).readonly().optional(),
  })
  .readonly();
export type ChunkMessage = z.infer<typeof chunkMessage>;

/**
 * A sync-queue message: go on with a follower sync from its stored cursor. `lease` is the lease the
 * sync's item holds for this message; any other message for the sync is a stale duplicate.
 */
export const syncMessage = z
  .object({
    syncId: id,
    lease: id,
    /** Consecutive waits (for a token, or out of transient WeChat failures) before this message. */
    waits: count.optional(),
  })
  .readonly();
export type SyncMessage = z.infer<typeof syncMessage>;

/** A fan-out-queue message: continue the audience scan of a broadcast from `cursor`. */
export const fanoutPageMessage = z
  .object({ broadcastId: id, page: count, cursor: z.string().nullable() })
  .readonly();
export type FanoutMessage = z.infer<typeof fanoutPageMessage>;

/** A fan-out-queue message: one pass of a broadcast's delivery-report tally (core/tally-reports.ts). */
export const tallyMessage = z
  .object({
    kind: z.literal("tallyReports"),
    broadcastId: id,
    /** Index into TALLY_PASSES. */
    pass: count,
    /** Epoch ms before which the pass does not start: SQS delays a message by at most 15 minutes. */
    notBefore: count,
    /** Where this pass continues; null at its start. */
    cursor: z.string().nullable(),
    confirmed: count,
    rejected: count,
  })
  .readonly();
export type TallyMessage = z.infer<typeof tallyMessage>;

/** Everything the fan-out queue carries. */
export const fanoutQueueMessage = z.union([tallyMessage, fanoutPageMessage]);

/** A token-refresh-queue message: a sender had the token refused and asks for the successor. */
export const tokenRefreshRequest = z.object({ refresh: z.literal(true) }).readonly();
export type TokenRefreshRequest = z.infer<typeof tokenRefreshRequest>;

/**
 * What happened to a paid post's broadcast, as the business app's webhook receives it (issue 14):
 * held for review, rejected, paused (WeChat's daily quota), deferred (quiet hours), or settled.
 * `eventId` is stable for one occurrence, so a re-delivery carries the same one.
 */
export const broadcastEventName = z.enum(["held", "rejected", "paused", "deferred", "settled"]);
export type BroadcastEventName = z.infer<typeof broadcastEventName>;
export const broadcastEvent = z
  .object({
    eventId: id,
    event: broadcastEventName,
    outTradeNo: id,
    broadcastId: id,
    /** The broadcast's status as the post API shows it, at the event. */
    status: z.string(),
    total: count,
    sent: count,
    failed: count,
    skipped: count,
    /** ISO 8601, when it happened. */
    at: z.string(),
  })
  .readonly();
export type BroadcastEvent = z.infer<typeof broadcastEvent>;
