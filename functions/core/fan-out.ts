import type { Broadcast, ChunkMessage, FanoutMessage } from "./model.ts";
import { holdOf } from "./parking.ts";
import type {
  AudiencePage,
  AudienceReader,
  BroadcastStore,
  Clock,
  FanoutQueue,
  ParkingStore,
  SendQueue,
  SuppressionReader,
  TaskRecipientReader,
} from "./ports.ts";
import type { QuietHours } from "./quiet-hours.ts";
import { UnknownBroadcastError } from "./send-chunk.ts";
import { markSuppressed, suppressedOnPage } from "./suppression.ts";
import { DEFAULT_TALLY_DELAY_SECONDS, delayUntil, firstTally } from "./tally-reports.ts";

export interface FanOutDeps {
  readonly broadcasts: BroadcastStore;
  readonly audience: AudienceReader;
  /** A push task's uploaded list, for tasks whose audience is `uploaded`. */
  readonly taskRecipients?: TaskRecipientReader;
  readonly sendQueue: SendQueue;
  readonly fanoutQueue: FanoutQueue;
  readonly clock: Clock;
  /** Who of an uploaded list is suppressed (the subscribers' Scan says so itself). */
  readonly suppression?: SuppressionReader;
  /** Where a page's chunks wait, uncalled, in quiet hours or while the broadcast is paused. */
  readonly parking: Pick<ParkingStore, "parkChunks">;
  /** The stage's quiet hours; none when unset. */
  readonly quietHours?: QuietHours;
}

export interface FanOutOptions {
  readonly pageSize: number;
  readonly chunkSize: number;
  /** How long a page waits for its predecessor to be recorded before giving up (queue retry). */
  readonly predecessorWaitMs?: number;
  /** The delivery-report tally's base delay (tally-reports.ts); its first pass is sent with the last page. */
  readonly reportTallyDelaySeconds?: number;
}

/** Raised when a page arrives before its predecessor was recorded and does not catch up in time. */
export class PageNotReadyError extends Error {
  override readonly name = "PageNotReadyError";
}

export type FanOutResult =
  | { readonly kind: "duplicate" }
  | { readonly kind: "page"; readonly recipients: number; readonly chunks: number; readonly last: boolean };

/** Splits recipients into chunks with ids derived from the page, so re-emitting a page repeats them. */
export function chunkRecipients(
  broadcastId: string,
  page: number,
  openids: readonly string[],
  chunkSize: number,
  windowed: readonly string[] = [],
): ChunkMessage[] {
  const open = new Set(windowed);
  const chunks: ChunkMessage[] = [];
  for (let i = 0; i * chunkSize < openids.length; i += 1) {
    const members = openids.slice(i * chunkSize, (i + 1) * chunkSize);
    const withWindow = members.filter((openid) => open.has(openid));
    chunks.push({
      broadcastId,
      chunkId: `${page}-${i}`,
      openids: members,
      ...(withWindow.length > 0 ? { windowed: withWindow } : {}),
    });
  }
  return chunks;
}

/**
 * Turns one page of the audience into send-queue chunks and hands the rest of the scan to the next
 * fan-out message, so no invocation's time or memory grows with the audience. The next message is
 * sent before the page is recorded: a crash in between repeats the page (chunks are recognised by
 * id downstream) instead of losing the rest of the audience. Pages are recorded in order, so a page
 * whose successor raced ahead of its own record is waited for. In quiet hours, or while the
 * broadcast is paused, the page's chunks are parked instead of queued: its recipients are counted
 * (and pending) all the same.
 */
export async function fanOutPage(
  message: FanoutMessage,
  deps: FanOutDeps,
  opts: FanOutOptions,
): Promise<FanOutResult> {
  const broadcast = await awaitPredecessor(message, deps, opts.predecessorWaitMs ?? 5_000);
  if (broadcast.fanoutPage > message.page || broadcast.fanoutDone) return { kind: "duplicate" };

  const page = await readAudiencePage(broadcast, message.cursor, deps, opts.pageSize);
  const chunks = chunkRecipients(
    message.broadcastId,
    message.page,
    page.openids,
    opts.chunkSize,
    // Push tasks send their own message type only, never a customer-service message.
    broadcast.task ? [] : page.windowed,
  );
  // Suppressed recipients are marked in their chunk: the sender records them skipped, uncalled.
  const marked = markSuppressed(chunks, await suppressedOnPage(broadcast, page, deps.suppression));
  await queueOrPark(broadcast, marked, deps);
  const last = page.next === null;
  if (!last) {
    await deps.fanoutQueue.sendPage({
      broadcastId: message.broadcastId,
      page: message.page + 1,
      cursor: page.next,
    });
  } else {
    // Before the page is recorded, like the next page: a crash in between may start two tallies
    // (they store the same counts), never none.
    const now = deps.clock.now();
    const tally = firstTally(
      message.broadcastId,
      now,
      opts.reportTallyDelaySeconds ?? DEFAULT_TALLY_DELAY_SECONDS,
    );
    await deps.fanoutQueue.sendTally(tally, delayUntil(tally.notBefore, now));
  }
  const recorded = await deps.broadcasts.recordPage(
    message.broadcastId,
    message.page,
    page.openids.length,
    last,
  );
  if (!recorded) return { kind: "duplicate" };
  return { kind: "page", recipients: page.openids.length, chunks: chunks.length, last };
}

/** Queues the page's chunks, or parks them while they must wait (a pause that just ended: queued). */
async function queueOrPark(broadcast: Broadcast, chunks: readonly ChunkMessage[], deps: FanOutDeps) {
  if (chunks.length === 0) return;
  const now = deps.clock.now();
  const hold = holdOf(broadcast, now, deps.quietHours);
  if (hold && (await deps.parking.parkChunks(broadcast.broadcastId, chunks, hold, now)) === "parked") return;
  await deps.sendQueue.sendChunks(chunks);
}

/** A page of the broadcast's audience: a task's uploaded list, or the active subscribers. */
function readAudiencePage(
  broadcast: Broadcast,
  cursor: string | null,
  deps: FanOutDeps,
  pageSize: number,
): Promise<AudiencePage> {
  if (broadcast.task?.audience === "uploaded") {
    if (!deps.taskRecipients) throw new Error("this fan-out is not set up for push tasks");
    return deps.taskRecipients.readTaskPage(broadcast.task.taskId, cursor, pageSize);
  }
  return deps.audience.readPage(cursor, pageSize, deps.clock.now());
}

/**
 * The broadcast once page `message.page - 1` is recorded. The next page's message is sent just before
 * its predecessor is recorded, so another fan-out container can pick it up a moment too early.
 */
async function awaitPredecessor(
  message: FanoutMessage,
  deps: FanOutDeps,
  waitMs: number,
): Promise<Broadcast> {
  const deadline = deps.clock.now() + waitMs;
  for (let pause = 20; ; pause = Math.min(pause * 2, 500)) {
    const broadcast = await deps.broadcasts.get(message.broadcastId);
    if (!broadcast) throw new UnknownBroadcastError(`broadcast ${message.broadcastId} does not exist`);
    if (broadcast.fanoutPage >= message.page || broadcast.fanoutDone) return broadcast;
    if (deps.clock.now() >= deadline) {
      throw new PageNotReadyError(`page ${message.page - 1} of ${message.broadcastId} is not recorded yet`);
    }
    await deps.clock.sleep(pause);
  }
}
