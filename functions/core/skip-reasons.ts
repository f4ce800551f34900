import type { DeliveryRecord } from "./model.ts";

/**
 * Skipped records counted by reason (the record's errmsg: `daily cap`, `suppressed: user block`,
 * `no subscription credit`…), the increments of a broadcast's `bySkipReason`. Each skipped recipient
 * counts once, under the one reason its record gives.
 */
export function skipReasonCounts(records: Iterable<DeliveryRecord>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of records) {
    if (r.outcome !== "skipped") continue;
    const reason = r.errmsg ?? "none";
    counts[reason] = (counts[reason] ?? 0) + 1;
  }
  return counts;
}
