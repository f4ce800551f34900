/**
 * Parking: chunks that must not be sent now (quiet hours, a quota pause) wait outside the queue, in
 * the store, until the resumer (core/resume-parked.ts) sends them on. SQS holds a message back 15
 * minutes at most and counts every receive towards the dead-letter queue; a parked chunk costs one
 * write and one read however long it waits, and no WeChat call is made for it meanwhile.
 */
import type { Broadcast, ChunkMessage, Hold } from "./model.ts";
import { type QuietHours, quietUntil } from "./quiet-hours.ts";

/** When the quiet hours that hold the broadcast now end; undefined when none do (or its task ignores them). */
export function quietHoldUntil(
  broadcast: Broadcast,
  now: number,
  quiet: QuietHours | undefined,
): number | undefined {
  return broadcast.task?.ignoreQuietHours ? undefined : quietUntil(quiet, now);
}

/** Whether the broadcast's chunks wait now: quiet hours (unless its task ignores them), else its quota pause. */
export function holdOf(broadcast: Broadcast, now: number, quiet: QuietHours | undefined): Hold | undefined {
  const until = quietHoldUntil(broadcast, now, quiet);
  if (until !== undefined) return { kind: "quiet", until };
  return broadcast.paused ? { kind: "quota", hit: false } : undefined;
}

/** Marks a parked chunk's pending rest; the fan-out's ids (`<page>-<i>`) and retries' (`r<n>-<i>`) have none. */
const REST = "~";

/**
 * The id of a parked chunk's pending rest, derived from the chunk's own: `3-1` → `3-1~1` → `3-1~2`.
 * Deterministic, so a repeated park of the same chunk writes the same rest, never a second one.
 */
function remainderChunkId(chunkId: string): string {
  const match = /^(.*)~(\d+)$/.exec(chunkId);
  return match ? `${match[1]}${REST}${Number(match[2]) + 1}` : `${chunkId}${REST}1`;
}

/**
 * The chunk's still-pending recipients as a chunk of their own: their windows, and for an operator's
 * retry the failures they re-do, and the fan-out's suppression marks, go with them; the token waits
 * start over.
 */
export function remainderOf(chunk: ChunkMessage, pending: readonly string[]): ChunkMessage {
  const members = new Set(pending);
  const windowed = (chunk.windowed ?? []).filter((openid) => members.has(openid));
  const retryOf = Object.fromEntries(
    Object.entries(chunk.retryOf ?? {}).filter(([openid]) => members.has(openid)),
  );
  const suppressed = Object.fromEntries(
    Object.entries(chunk.suppressed ?? {}).filter(([openid]) => members.has(openid)),
  );
  const retried = Object.keys(retryOf).length > 0;
  return {
    broadcastId: chunk.broadcastId,
    chunkId: remainderChunkId(chunk.chunkId),
    openids: chunk.openids.filter((openid) => members.has(openid)),
    ...(windowed.length > 0 ? { windowed } : {}),
    ...(retried ? { retryOf } : {}),
    ...(Object.keys(suppressed).length > 0 ? { suppressed } : {}),
    ...(retried && chunk.retryAt !== undefined ? { retryAt: chunk.retryAt } : {}),
  };
}
