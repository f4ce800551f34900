import { tallyOf } from "./delivery-records.ts";
import { memberFilter } from "./member-filter.ts";
import type { Broadcast, ChunkMessage, ChunkTally, DeliveryRecord } from "./model.ts";
import type { ChunkSettlement } from "./ports.ts";
import { skipReasonCounts } from "./skip-reasons.ts";
import { timelineIncrements } from "./timeline.ts";

/**
 * What settling a chunk adds to its broadcast, once: the tally of the records written under its id
 * (by this delivery or an earlier one), less the failures an operator's retry re-did, the filter of
 * the openids those records are for, and the records' timeline increments. A parked chunk settles
 * only this part; its pending rest goes on as a chunk of its own (core/parking.ts).
 */
export function settlementOf(
  chunk: ChunkMessage,
  broadcast: Broadcast,
  settled: ReadonlyMap<string, DeliveryRecord>,
): ChunkSettlement {
  const redone = chunk.retryOf
    ? Object.fromEntries(Object.entries(chunk.retryOf).filter(([openid]) => settled.has(openid)))
    : undefined;
  return {
    broadcastId: chunk.broadcastId,
    chunkId: chunk.chunkId,
    tally: withoutRetried(tallyOf(settled.values()), redone),
    extras: {
      members: memberFilter(settled.keys()),
      // Each record in the minute it settled; broadcasts from before the timeline have none.
      ...(broadcast.timeline ? { timeline: timelineIncrements(settled.values(), broadcast.createdAt) } : {}),
      // Skips by reason; broadcasts from before they were counted so have no such map.
      ...(broadcast.bySkipReason ? { bySkipReason: skipReasonCounts(settled.values()) } : {}),
    },
  };
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
