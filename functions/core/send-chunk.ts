import {
  ChunkRun,
  type SendChunkDeps as ChunkRunDeps,
  type PendingReason,
  type SendChunkOptions,
  UnknownBroadcastError,
} from "./chunk-run.ts";
import { settlementOf } from "./chunk-settlement.ts";
import { RecordWriter } from "./delivery-records.ts";
import type { Broadcast, ChunkMessage, ChunkTally, DeliveryRecord, Hold } from "./model.ts";
import { holdOf, remainderOf } from "./parking.ts";
import type { ParkingStore } from "./ports.ts";
import type { QuietHours } from "./quiet-hours.ts";
import { RecipientRules } from "./recipient-rules.ts";
import { recordRefusals, UNFOLLOWED } from "./suppression.ts";

export {
  type Attempt,
  clientMsgId,
  OUTCOME_UNKNOWN,
  type PendingReason,
  type SendChunkOptions,
  UnknownBroadcastError,
} from "./chunk-run.ts";
export { tallyOf } from "./delivery-records.ts";

export interface SendChunkDeps extends ChunkRunDeps {
  /** Where chunks wait outside the queue during quiet hours and quota pauses (core/parking.ts). */
  readonly parking: Pick<ParkingStore, "parkRemainder">;
  /** The stage's quiet hours; none when unset. */
  readonly quietHours?: QuietHours;
}

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
    }
  /**
   * Its pending recipients wait outside the queue (quiet hours, a quota pause) as a chunk of their
   * own, and what had settled is counted: delete the message.
   */
  | { readonly kind: "parked"; readonly hold: Hold; readonly parked: number; readonly tally: ChunkTally };

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
 * exactly once. In quiet hours or while its broadcast is paused it calls nobody and parks the chunk;
 * a 45009 parks what is still pending after counting what has settled.
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
  const hold = todo.length > 0 ? await holdNow(broadcast, deps) : undefined;
  if (hold) {
    const parked = await park(chunk, broadcast, settled, todo, hold, deps);
    // The pause ended since the broadcast was read: send as usual.
    if (parked) return parked;
  }
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
    const waiting = todo.filter((openid) => !settled.has(openid));
    const parked = await park(chunk, broadcast, settled, waiting, { kind: "quota", hit: true }, deps);
    if (parked) return parked;
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
  const { tally, extras } = settlementOf(chunk, broadcast, settled);
  await broadcasts.completeChunk(chunk.broadcastId, chunk.chunkId, tally, extras);
  return { kind: "settled", tally };
}

/**
 * Why the chunk waits now, if it does. A pause seen in a memoised copy of the broadcast is read
 * again first: the resumer may have just ended it, and the chunk would wait another round for nothing.
 */
async function holdNow(broadcast: Broadcast, deps: SendChunkDeps): Promise<Hold | undefined> {
  const hold = holdOf(broadcast, deps.clock.now(), deps.quietHours);
  if (hold?.kind !== "quota") return hold;
  const fresh = await deps.broadcasts.get(broadcast.broadcastId);
  return fresh ? holdOf(fresh, deps.clock.now(), deps.quietHours) : hold;
}

/**
 * Parks the chunk's `waiting` recipients: what has settled is counted now and the chunk is done, in
 * the same write that parks the waiting ones as a chunk of their own. Whatever crashes when, a
 * recipient is counted once and in exactly one live chunk: before the write the old chunk comes back
 * from the queue with its records, after it only the parked rest can send. Undefined when the pause
 * it was to join has ended.
 */
async function park(
  chunk: ChunkMessage,
  broadcast: Broadcast,
  settled: ReadonlyMap<string, DeliveryRecord>,
  waiting: readonly string[],
  hold: Hold,
  deps: SendChunkDeps,
): Promise<SendChunkResult | undefined> {
  if (waiting.length === 0) return undefined;
  const settlement = settlementOf(chunk, broadcast, settled);
  const outcome = await deps.parking.parkRemainder(
    settlement,
    remainderOf(chunk, waiting),
    hold,
    deps.clock.now(),
  );
  if (outcome === "hold_gone") return undefined;
  if (outcome === "chunk_done") return { kind: "settled", tally: null };
  return { kind: "parked", hold, parked: waiting.length, tally: settlement.tally };
}
