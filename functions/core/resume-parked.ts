/**
 * The resumer's use case, run every minute: finds the broadcasts with parked chunks (core/parking.ts),
 * announces a paid post's new pause or deferral as a broadcast event, ends a deferral once quiet
 * hours are over and a quota pause once WeChat's quota is back (asked every few minutes, and right
 * after the daily reset), and sends the parked chunks of every broadcast free to go on back to the
 * send queue. With nothing parked, a run is one small read.
 */
import type { BroadcastEvent, BroadcastEventName } from "../contracts/messages.ts";
import { broadcastEvent } from "./broadcast-events.ts";
import { ConflictError } from "./errors.ts";
import { type Broadcast, broadcastProgress } from "./model.ts";
import { quietHoldUntil } from "./parking.ts";
import type {
  AccessTokenProvider,
  BroadcastEvents,
  BroadcastStore,
  Clock,
  ParkedBroadcast,
  ParkedStore,
  QuotaReader,
  SendQueue,
} from "./ports.ts";
import type { QuietHours } from "./quiet-hours.ts";
import { QuotaAsker, quotaBack, quotaCheckDue, quotaPath } from "./quota-check.ts";

export interface ResumeDeps {
  readonly broadcasts: Pick<BroadcastStore, "get">;
  readonly parked: ParkedStore;
  readonly sendQueue: SendQueue;
  readonly quota: QuotaReader;
  readonly tokens: AccessTokenProvider;
  readonly events: BroadcastEvents;
  readonly clock: Clock;
}

export interface ResumeOptions {
  readonly quietHours?: QuietHours;
  /** How often a paused broadcast's quota is asked for (besides right after the daily reset). */
  readonly quotaCheckMs: number;
  /** No further page of parked chunks is sent on from this time (epoch ms); the next run goes on. */
  readonly stopAt: number;
}

export interface ResumeReport {
  /** Broadcasts with parked chunks. */
  readonly parked: number;
  /** Of those, still held (quiet hours, quota). */
  readonly held: number;
  /** Parked chunks sent back to the queue. */
  readonly resumed: number;
  readonly quotaCalls: number;
  readonly events: number;
  /** It stopped at `stopAt` with chunks left to send on. */
  readonly unfinished: boolean;
}

/** Parked chunks read (and queued) per round trip. */
const PAGE = 25;
/** How long a run waits for an access token before it leaves the quota question to the next run. */
const TOKEN_WAIT_MS = 5_000;

/** One run of the resumer. */
export async function resumeParked(deps: ResumeDeps, opts: ResumeOptions): Promise<ResumeReport> {
  const entries = await deps.parked.parkedBroadcasts();
  const asker = new QuotaAsker(
    deps.quota,
    deps.tokens,
    Math.min(opts.stopAt, deps.clock.now() + TOKEN_WAIT_MS),
  );
  let held = 0;
  let resumed = 0;
  let events = 0;
  let unfinished = false;
  for (const entry of entries) {
    if (deps.clock.now() >= opts.stopAt) {
      unfinished = true;
      break;
    }
    const broadcast = await deps.broadcasts.get(entry.broadcastId);
    if (!broadcast) continue;
    events += await announce(broadcast, deps);
    if (!(await mayGoOn(entry, broadcast, deps, opts, asker))) {
      held += 1;
      continue;
    }
    const drained = await drain(entry, deps, opts.stopAt);
    resumed += drained.sent;
    if (!drained.complete) unfinished = true;
  }
  return { parked: entries.length, held, resumed, quotaCalls: asker.calls, events, unfinished };
}

/**
 * Ends what holds the broadcast, where it may end now: a deferral once quiet hours are over, a quota
 * pause once the quota is back. True when nothing holds it any more.
 */
async function mayGoOn(
  entry: ParkedBroadcast,
  broadcast: Broadcast,
  deps: ResumeDeps,
  opts: ResumeOptions,
  asker: QuotaAsker,
): Promise<boolean> {
  const now = deps.clock.now();
  const quiet = quietHoldUntil(broadcast, now, opts.quietHours);
  if (broadcast.deferredUntil !== undefined && quiet === undefined)
    await deps.parked.clearDeferral(broadcast.broadcastId, broadcast.deferredUntil);
  if (broadcast.paused) {
    if (!quotaCheckDue(entry.checkedAt, now, opts.quotaCheckMs)) return false;
    const answer = await asker.ask(quotaPath(broadcast));
    // Without a token the question waits for the next run, a minute later.
    if (answer === "no_token") return false;
    await deps.parked.markChecked(broadcast.broadcastId, now);
    if (!quotaBack(answer, broadcast.pausedAt, now)) return false;
    // A new 45009 since the broadcast was read began a new pause: that one waits its turn.
    if (!(await deps.parked.clearPause(broadcast.broadcastId, broadcast.pausedAt))) return false;
  }
  // In quiet hours a chunk sent on would only be parked again.
  return quiet === undefined;
}

/**
 * Sends the broadcast's parked chunks back to the queue, page by page, each page removed once
 * queued: a crash in between queues a page twice, and the chunk claims make the copy a no-op. The
 * broadcast is forgotten only if nothing was parked meanwhile.
 */
async function drain(
  entry: ParkedBroadcast,
  deps: ResumeDeps,
  stopAt: number,
): Promise<{ readonly sent: number; readonly complete: boolean }> {
  let sent = 0;
  for (;;) {
    if (deps.clock.now() >= stopAt) return { sent, complete: false };
    const chunks = await deps.parked.parkedChunks(entry.broadcastId, PAGE);
    if (chunks.length === 0) break;
    await deps.sendQueue.sendChunks(chunks);
    await deps.parked.unpark(
      entry.broadcastId,
      chunks.map((c) => c.chunkId),
    );
    sent += chunks.length;
  }
  await deps.parked.forget(entry);
  return { sent, complete: true };
}

/**
 * A paid post's pause or deferral as a broadcast event, once per occurrence: its id comes from the
 * occasion (when the pause began, when the deferral ends), and it is noted only after it was
 * emitted, so a crash in between emits the same event again, never a different one.
 */
async function announce(broadcast: Broadcast, deps: ResumeDeps): Promise<number> {
  if (!broadcast.outTradeNo) return 0;
  let emitted = 0;
  const { deferredUntil, pausedAt } = broadcast;
  if (deferredUntil !== undefined && broadcast.deferAnnounced !== deferredUntil) {
    await deps.events.emit(
      eventOf(broadcast, "deferred", deferredUntil, broadcast.deferredAt ?? deps.clock.now()),
    );
    await deps.parked.markAnnounced(broadcast.broadcastId, "deferred", deferredUntil);
    emitted += 1;
  }
  if (broadcast.paused && pausedAt !== undefined && broadcast.pauseAnnounced !== pausedAt) {
    await deps.events.emit(eventOf(broadcast, "paused", pausedAt, pausedAt));
    await deps.parked.markAnnounced(broadcast.broadcastId, "paused", pausedAt);
    emitted += 1;
  }
  return emitted;
}

/** The event of one occasion: its id names the occasion, the same however often it is emitted. */
function eventOf(
  broadcast: Broadcast,
  event: Extract<BroadcastEventName, "paused" | "deferred">,
  occasion: number,
  at: number,
): BroadcastEvent {
  return broadcastEvent(event, broadcast, at, { occurrence: String(occasion) }) as BroadcastEvent;
}

/**
 * An operator's resume of a quota pause (the quota was cleared in the MP console, say): the pause
 * ends now and the resumer's next run, within a minute, sends the parked chunks on. A broadcast that
 * is not paused is a ConflictError, a deferred one included: quiet hours end by themselves.
 */
export async function resumePaused(
  broadcast: Broadcast | undefined,
  what: string,
  parked: Pick<ParkedStore, "clearPause">,
): Promise<void> {
  if (!broadcast) throw new ConflictError(`the ${what} has not been sent: nothing to resume`);
  const progress = broadcastProgress(broadcast);
  if (progress.status === "done") throw new ConflictError(`the ${what} is done: nothing to resume`);
  if (!broadcast.paused) {
    throw new ConflictError(
      progress.status === "deferred"
        ? `the ${what} is deferred by quiet hours and goes on by itself at ${progress.resumesAt}; only a quota pause is resumed`
        : `the ${what} is ${progress.status}, not paused: nothing to resume`,
    );
  }
  if (!(await parked.clearPause(broadcast.broadcastId)))
    throw new ConflictError(`the ${what} is no longer paused: nothing to resume`);
}
