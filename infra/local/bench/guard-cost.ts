/**
 * What the daily cap (MAX_POSTS_PER_SUBSCRIBER_PER_DAY) and suppression add to a broadcast: the same
 * audience and latency broadcast by a stack without the cap and one with it; the difference in
 * DynamoDB units per recipient is the cap's (one conditional write per delivered recipient, one
 * strongly consistent read per recipient in the chunk's batch read). Suppression costs one write per
 * `failed:user block` report or 43101 (the callback's and the sender's UpdateItem on the subscriber),
 * measured in both runs; its skips then save a WeChat call each.
 */
import { PRICES } from "./prices.ts";
import type { ScenarioResult } from "./summary.ts";

export interface GuardCost {
  readonly audience: number;
  readonly latencyMs: number;
  readonly dailyCap: number;
  readonly capWriteUnitsPerRecipient: number;
  readonly capReadUnitsPerRecipient: number;
  /** The cap's extra units at DynamoDB's on-demand prices. */
  readonly capUsdPerMillion: number;
  /** The whole estimate's difference (Lambda time included, so noisier). */
  readonly capTotalUsdPerMillionDelta: number;
  readonly suppressionWritesPerRecipient: number;
  readonly suppressionUsdPerMillion: number;
  /** Share of recipients reported `failed:user block` in the run (the simulator's draw). */
  readonly userBlockShare: number;
}

const round = (n: number, digits: number) => Number(n.toFixed(digits));
const unitsUsdPerMillion = (writes: number, reads: number) =>
  (writes * PRICES.dynamodb.writeRequestUnitUsd + reads * PRICES.dynamodb.readRequestUnitUsd) * 1e6;

/** The cap's and suppression's cost, from a capped run and the uncapped run of the same scenario. */
export function guardCost(capped: ScenarioResult, baseline: ScenarioResult, dailyCap: number): GuardCost {
  const writes = capped.dynamoWriteUnitsPerRecipient - baseline.dynamoWriteUnitsPerRecipient;
  const reads = capped.dynamoReadUnitsPerRecipient - baseline.dynamoReadUnitsPerRecipient;
  const suppression = capped.suppressionWritesPerRecipient;
  return {
    audience: capped.audience,
    latencyMs: capped.latencyMs,
    dailyCap,
    capWriteUnitsPerRecipient: round(writes, 3),
    capReadUnitsPerRecipient: round(reads, 3),
    capUsdPerMillion: round(unitsUsdPerMillion(writes, reads), 3),
    capTotalUsdPerMillionDelta: round(capped.costPerMillionUsd - baseline.costPerMillionUsd, 3),
    suppressionWritesPerRecipient: round(suppression, 4),
    suppressionUsdPerMillion: round(unitsUsdPerMillion(suppression, 0), 3),
    userBlockShare: round(capped.deliveryReports.rejected / Math.max(1, capped.recipients), 4),
  };
}

/** The bench summary's table of those figures. */
export function guardTable(costs: readonly GuardCost[]): string {
  const lines = costs.map(
    (c) =>
      `  ${c.audience.toLocaleString("en-US")} recipients, ${c.latencyMs} ms, cap ${c.dailyCap}: ` +
      `cap +${c.capWriteUnitsPerRecipient} WRU/rcpt, +${c.capReadUnitsPerRecipient} RRU/rcpt = ` +
      `$${c.capUsdPerMillion.toFixed(3)}/M (whole estimate ${c.capTotalUsdPerMillionDelta >= 0 ? "+" : ""}$${c.capTotalUsdPerMillionDelta.toFixed(3)}/M); ` +
      `suppression ${c.suppressionWritesPerRecipient} WRU/rcpt at ${(c.userBlockShare * 100).toFixed(1)}% user blocks = ` +
      `$${c.suppressionUsdPerMillion.toFixed(3)}/M`,
  );
  return ["Daily cap and suppression, cost per million recipients (DynamoDB on-demand):", ...lines].join(
    "\n",
  );
}
