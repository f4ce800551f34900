/**
 * What a paid post's broadcast tells the business app (the `broadcastEvent` contract), each event
 * with an id that is the same whenever the same occurrence is told again: after a crash, a retry or
 * a race, the receiver drops the repeat by its `eventId`.
 */
import type { BroadcastEvent, BroadcastEventName } from "../contracts/messages.ts";
import { type Broadcast, broadcastProgress, postBroadcastId } from "./model.ts";
import type { BroadcastEvents, BroadcastStore, Clock, SettledEventMarks } from "./ports.ts";

/** `post-T1.settled`; `post-T1.paused.2026-12-02` where one broadcast can have several of a kind. */
export function broadcastEventId(
  broadcastId: string,
  event: BroadcastEventName,
  occurrence?: string,
): string {
  return occurrence === undefined ? `${broadcastId}.${event}` : `${broadcastId}.${event}.${occurrence}`;
}

/** A post's event before it has a broadcast (held, rejected): nothing counted yet. */
export function postEvent(event: "held" | "rejected", outTradeNo: string, at: number): BroadcastEvent {
  const broadcastId = postBroadcastId(outTradeNo);
  return {
    eventId: broadcastEventId(broadcastId, event),
    event,
    outTradeNo,
    broadcastId,
    status: event,
    total: 0,
    sent: 0,
    failed: 0,
    skipped: 0,
    at: new Date(at).toISOString(),
  };
}

/** A paid post's broadcast's event with its counters as they stand; undefined for a push task's. */
export function broadcastEvent(
  event: BroadcastEventName,
  broadcast: Broadcast,
  at: number,
  opts: { readonly occurrence?: string } = {},
): BroadcastEvent | undefined {
  if (broadcast.outTradeNo === undefined) return undefined;
  const progress = broadcastProgress(broadcast);
  return {
    eventId: broadcastEventId(broadcast.broadcastId, event, opts.occurrence),
    event,
    outTradeNo: broadcast.outTradeNo,
    broadcastId: broadcast.broadcastId,
    status: progress.status,
    total: progress.total,
    sent: progress.sent,
    failed: progress.failed,
    skipped: progress.skipped,
    at: new Date(at).toISOString(),
  };
}

export interface SettledAnnouncementDeps {
  readonly broadcasts: Pick<BroadcastStore, "get">;
  readonly marks: SettledEventMarks;
  readonly events: BroadcastEvents;
  readonly clock: Clock;
}

/**
 * Tells the business app that a paid post's broadcast settled (its fan-out done, nothing pending),
 * once. Run after each write that can settle it: a chunk's completion (fan-out done before) and the
 * fan-out's last page (every chunk settled before), either of which may come last, and again when a
 * redelivered message finds its work done. Whoever first sees the broadcast settled claims the event
 * with a conditional write, which fixes its `at`; the claim's holder hands it to the webhook queue
 * and marks it announced. A claim left unannounced (a crash in between) is announced by the
 * redelivered message, so a crash may tell it twice, never not at all: always the same event.
 * True when this call handed it on.
 */
export async function announceIfSettled(
  broadcastId: string,
  deps: SettledAnnouncementDeps,
): Promise<boolean> {
  const broadcast = await deps.broadcasts.get(broadcastId);
  if (!broadcast?.outTradeNo || broadcast.settledAnnounced) return false;
  if (broadcastProgress(broadcast).status !== "done") return false;
  let at = broadcast.settledEventAt;
  if (at === undefined) {
    at = deps.clock.now();
    // Lost: another invocation claimed it a moment ago and is announcing it.
    if (!(await deps.marks.claimSettledEvent(broadcastId, at))) return false;
  }
  const event = broadcastEvent("settled", broadcast, at) as BroadcastEvent;
  await deps.events.emit(event);
  await deps.marks.markSettledAnnounced(broadcastId);
  return true;
}
