/**
 * Counts a broadcast's delivery reports (`confirmed`, `rejected`) by reading, not by writing per
 * report: the callback keeps each report as one small item keyed by msgid and touches nothing else,
 * and a few tally passes after the broadcast settles join the broadcast's records to those reports
 * page by page. A write per report on the broadcast would cost more than all of a recipient's reads
 * and turn the broadcast's item into a hot spot at thousands of reports a second.
 */

import type { TallyMessage } from "../contracts/messages.ts";
import { reportOutcome } from "./callback.ts";
import { broadcastProgress } from "./model.ts";
import type { BroadcastStore, Clock, ReportedMsgids, ReportReader, TallyQueue } from "./ports.ts";

export type { TallyMessage } from "../contracts/messages.ts";

/**
 * When the passes run after the broadcast has settled, in multiples of the configured delay: most
 * reports arrive within seconds of the send, stragglers within the hour. A pass that finds every
 * delivered template message reported is the last.
 */
export const TALLY_PASSES = [1, 10, 60] as const;
export const DEFAULT_TALLY_DELAY_SECONDS = 60;
/** SQS's longest message delay. */
export const MAX_DELAY_SECONDS = 900;

export interface TallyDeps {
  readonly broadcasts: Pick<BroadcastStore, "get" | "setReportCounts">;
  readonly records: ReportedMsgids;
  readonly reports: ReportReader;
  readonly queue: TallyQueue;
  readonly clock: Clock;
}

export type TallyResult =
  | { readonly kind: "waiting" | "gone" | "page" }
  | {
      readonly kind: "counted";
      readonly confirmed: number;
      readonly rejected: number;
      readonly final: boolean;
    };

/** The first pass of a broadcast's tally, to be sent once its fan-out has finished. */
export function firstTally(broadcastId: string, now: number, delaySeconds: number): TallyMessage {
  return {
    kind: "tallyReports",
    broadcastId,
    pass: 0,
    notBefore: now + TALLY_PASSES[0] * delaySeconds * 1000,
    cursor: null,
    confirmed: 0,
    rejected: 0,
  };
}

/** A single tally pass started at once (an operator's "count the reports now"); no pass follows it. */
export function tallyNow(broadcastId: string, now: number): TallyMessage {
  return { ...firstTally(broadcastId, now, 0), pass: TALLY_PASSES.length - 1 };
}

/** Runs one step of a tally pass: waits, counts one page, or stores the pass's counts. */
export async function tallyReports(
  message: TallyMessage,
  deps: TallyDeps,
  opts: { readonly delaySeconds: number },
): Promise<TallyResult> {
  const now = deps.clock.now();
  if (now < message.notBefore) {
    await deps.queue.sendTally(message, delayUntil(message.notBefore, now));
    return { kind: "waiting" };
  }
  const broadcast = await deps.broadcasts.get(message.broadcastId);
  if (!broadcast) return { kind: "gone" };
  if (message.cursor === null && broadcastProgress(broadcast).status !== "done") {
    // Still sending (or paused for quota): the pass starts over once it has settled.
    const notBefore = now + TALLY_PASSES[0] * opts.delaySeconds * 1000;
    await deps.queue.sendTally({ ...message, notBefore }, delayUntil(notBefore, now));
    return { kind: "waiting" };
  }

  const page = await deps.records.readMsgids(message.broadcastId, message.cursor);
  let { confirmed, rejected } = message;
  for (const status of (await deps.reports.statuses(page.msgids)).values()) {
    const outcome = reportOutcome(status);
    if (outcome === "confirmed") confirmed += 1;
    else if (outcome === "rejected") rejected += 1;
  }
  if (page.next !== null) {
    await deps.queue.sendTally({ ...message, cursor: page.next, confirmed, rejected }, 0);
    return { kind: "page" };
  }

  await deps.broadcasts.setReportCounts(message.broadcastId, { confirmed, rejected }, now);
  // Every delivered template message reported: later passes would find nothing new.
  const expected = (await deps.broadcasts.get(message.broadcastId))?.byChannel.template ?? 0;
  const pass = message.pass + 1;
  const multiple = confirmed + rejected >= expected ? undefined : TALLY_PASSES[pass];
  if (multiple !== undefined) {
    const notBefore = now + multiple * opts.delaySeconds * 1000;
    await deps.queue.sendTally(
      { ...message, pass, notBefore, cursor: null, confirmed: 0, rejected: 0 },
      delayUntil(notBefore, now),
    );
  }
  return { kind: "counted", confirmed, rejected, final: multiple === undefined };
}

/** SQS's DelaySeconds for a message not to be handled before `notBefore`, capped at SQS's maximum. */
export function delayUntil(notBefore: number, now: number): number {
  return Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil((notBefore - now) / 1000)));
}
