import { pausedEvent } from "./broadcast-events.ts";
import {
  ChunkRun,
  type PendingReason,
  type SendChunkDeps,
  type SendChunkOptions,
  UnknownBroadcastError,
} from "./chunk-run.ts";
import { RecordWriter, tallyOf } from "./delivery-records.ts";
import { memberFilter } from "./member-filter.ts";
import type { ChunkMessage, ChunkTally, DeliveryRecord } from "./model.ts";
import { RecipientRules } from "./recipient-rules.ts";
import { skipReasonCounts } from "./skip-reasons.ts";
import { recordRefusals } from "./suppression.ts";
import { timelineIncrements } from "./timeline.ts";

export {
  type Attempt,
  clientMsgId,
  OUTCOME_UNKNOWN,
  type PendingReason,
  type SendChunkDeps,
  type SendChunkOptions,
  UnknownBroadcastError,
} from "./chunk-run.ts";
export { tallyOf } from "./delivery-records.ts";

/** WeChat's "require subscribe": the user no longer follows the account. */
const UNFOLLOWED = 43004;

export type SendChunkResult =
  /** Every recipient settled (now or earlier): delete the message. */
  | { readonly kind: "settled"; readonly tally: ChunkTally | null }
  /** Some recipients still pending (or the chunk busy elsewhere): the queue delivers it again. */
  | {
      readonly kind: "retry";
      readonly reason: PendingReason | "busy";
      readonly pending: number;
      /** Why no token could be had, for the log line. */
      readonly detail?: string;
    };

/** Time kept after the last WeChat call may start, besides that call's timeout: the records' writes. */
const FINISH_MARGIN_MS = 2_000;

/**
 * The last moment a WeChat call may start in an invocation that ends at `endsAt`, so the call (its
 * timeout) and the writes after it end in time: the invocation never needs its whole timeout.
 */
export function lastCallStart(endsAt: number, callTimeoutMs: number): number {
  return endsAt - callTimeoutMs - FINISH_MARGIN_MS;
}

/** The reason a chunk reports when its recipients wait for different things: the longest wait. */
const REASON_ORDER: readonly PendingReason[] = ["quota", "token", "transient", "deadline"];

/**
 * Delivers one chunk: skips recipients already settled by an earlier delivery of the same chunk,
 * sends to the rest (a customer-service message to those with a tracked open window, the template
 * message to everyone else and whenever WeChat says the window is gone),
 * records each outcome and, once every recipient is settled, adds the chunk's tally to the broadcast
 * exactly once.
 */
export async function sendChunk(
  chunk: ChunkMessage,
  deps: SendChunkDeps,
  opts: SendChunkOptions,
): Promise<SendChunkResult> {
  const { broadcasts, deliveries, clock } = deps;
  const broadcast = await deps.loadBroadcast(chunk.broadcastId);
  if (!broadcast) throw new UnknownBroadcastError(`broadcast ${chunk.broadcastId} does not exist`);

  const claim = await broadcasts.claimChunk(chunk.broadcastId, chunk.chunkId, opts.leaseMs, clock.now());
  if (claim === "done") return { kind: "settled", tally: null };
  if (claim === "busy") return { kind: "retry", reason: "busy", pending: chunk.openids.length };

  // A chunk nobody claimed before has no records yet (a retry's recipients have theirs elsewhere):
  // skipping the read saves DynamoDB a lookup per recipient on the common path.
  const settled =
    claim === "first" && chunk.retryOf === undefined
      ? new Map<string, DeliveryRecord>()
      : await deliveries.getSettled(chunk, chunk.openids);
  // An operator's retry re-does the failures it re-queued (records from before it), not its own.
  for (const openid of Object.keys(chunk.retryOf ?? {})) {
    const record = settled.get(openid);
    if (record && record.outcome !== "sent" && record.at < (chunk.retryAt ?? 0)) settled.delete(openid);
  }
  const todo = chunk.openids.filter((openid) => !settled.has(openid));
  const lastReceive = opts.receiveCount >= opts.maxReceiveCount;
  const run = new ChunkRun(
    broadcast,
    deps,
    opts,
    lastReceive,
    new Set(chunk.windowed),
    chunk.retryOf !== undefined,
    new RecipientRules(broadcast, chunk, todo, deps),
  );

  const writer = new RecordWriter(deliveries, chunk, opts.flushEvery ?? 25);
  const outcomes = await Promise.all(
    todo.map(async (openid) => {
      const attempt = await run.deliver(openid);
      if ("settled" in attempt) {
        settled.set(openid, attempt.settled);
        writer.add(attempt.settled);
      }
      return attempt;
    }),
  );
  await writer.flush();
  const unfollowed = outcomes.flatMap((o) =>
    "settled" in o && o.settled.errcode === UNFOLLOWED ? [o.settled.openid] : [],
  );
  if (unfollowed.length > 0) await deps.subscribers.markUnfollowed(unfollowed, clock.now());
  await recordRefusals(
    outcomes.flatMap((o) => ("settled" in o ? [o.settled] : [])),
    deps.suppression,
  );

  const pending = new Set(outcomes.flatMap((o) => ("pending" in o ? [o.pending] : [])));
  if (run.quotaHit) {
    // Told before the flag is set: a crash in between tells it again, as the same event.
    const paused = broadcast.paused ? undefined : pausedEvent(broadcast, clock.now());
    if (paused) await deps.events?.emit(paused);
    await broadcasts.setPaused(chunk.broadcastId, true);
  }
  const reason = REASON_ORDER.find((r) => pending.has(r));
  if (reason) {
    await broadcasts.releaseChunk(chunk.broadcastId, chunk.chunkId);
    const count = outcomes.filter((o) => "pending" in o).length;
    return {
      kind: "retry",
      reason,
      pending: count,
      ...(run.tokenProblem ? { detail: run.tokenProblem } : {}),
    };
  }
  if (broadcast.paused && todo.length > 0) await broadcasts.setPaused(chunk.broadcastId, false);
  const tally = withoutRetried(tallyOf(settled.values()), chunk.retryOf);
  await broadcasts.completeChunk(chunk.broadcastId, chunk.chunkId, tally, {
    members: memberFilter(chunk.openids),
    // Each record in the minute it settled; broadcasts from before the timeline have none.
    ...(broadcast.timeline ? { timeline: timelineIncrements(settled.values(), broadcast.createdAt) } : {}),
    // Skips by reason; broadcasts from before they were counted so have no such map.
    ...(broadcast.bySkipReason ? { bySkipReason: skipReasonCounts(settled.values()) } : {}),
  });
  return { kind: "settled", tally };
}

/**
 * A retry chunk's tally replaces the failures it re-did: they were counted when first settled, so
 * they come off the counters in the same write that adds their new outcomes.
 */
function withoutRetried(tally: ChunkTally, retryOf: ChunkMessage["retryOf"]): ChunkTally {
  if (!retryOf) return tally;
  const byErrcode: Record<string, number> = { ...tally.byErrcode };
  let { failed, unknown } = tally;
  for (const { errcode, outcome } of Object.values(retryOf)) {
    byErrcode[String(errcode)] = (byErrcode[String(errcode)] ?? 0) - 1;
    if (outcome === "unknown") unknown -= 1;
    else failed -= 1;
  }
  return { ...tally, failed, unknown, byErrcode };
}
