/**
 * Suppression: WeChat's word that a subscriber will not take the account's messages. A
 * `failed:user block` delivery report or a 43101 from a send (the user refuses the account's
 * messages), or a 43004 (they no longer follow), marks them suppressed with that reason; later
 * broadcasts record them skipped (`suppressed: <reason>`) without calling WeChat, which would only
 * refuse again and use up quota. Their own message to the account, a re-follow or an operator lifts
 * it. Suppression is not the user's `0`: optedIn stays their own choice, untouched by either.
 */
import type { SuppressionReason } from "../contracts/messages.ts";
import type { Broadcast, ChunkMessage, DeliveryRecord } from "./model.ts";
import type { AudiencePage, SuppressionReader, SuppressionStore } from "./ports.ts";

export type { SuppressionReason } from "../contracts/messages.ts";

const PREFIX = "suppressed: ";
/** The delivery-report status of a user who refuses the account's messages (WECHAT_FACTS §3.1). */
const USER_BLOCK = "failed:user block";
/** Template or customer-service message refused: the user refuses the account's messages. */
const REFUSED = 43101;
/** WeChat's "require subscribe": the user no longer follows the account. */
export const UNFOLLOWED = 43004;

/** The skip reason a suppressed recipient's record carries, e.g. `suppressed: user block`. */
export function suppressedSkip(reason: SuppressionReason): string {
  return `${PREFIX}${reason}`;
}

/** Every reason, typed by the contract's enum: one added there and not here is a compile error. */
const REASONS: Readonly<Record<SuppressionReason, true>> = {
  "user block": true,
  "43101": true,
  "43004": true,
};

/** `value` if it is a suppression reason, else null. */
export function asSuppressionReason(value: unknown): SuppressionReason | null {
  return typeof value === "string" && Object.hasOwn(REASONS, value) ? (value as SuppressionReason) : null;
}

/** The suppression a skip reason names, or null for another reason. */
export function suppressionOfSkip(reason: string | null | undefined): SuppressionReason | null {
  return reason?.startsWith(PREFIX) ? asSuppressionReason(reason.slice(PREFIX.length)) : null;
}

/**
 * The suppression a delivery report means: `failed:user block` only. A system failure or a frequency
 * limit says nothing about the user.
 */
export function reportSuppression(status: string): SuppressionReason | null {
  return status.trim() === USER_BLOCK ? "user block" : null;
}

/**
 * The suppression a settled record means: 43101 on an Official Account message (template or
 * customer-service; on a mini-program subscribe message it only means no credit, which the credits
 * track), 43004 on any.
 */
export function refusalSuppression(record: DeliveryRecord): SuppressionReason | null {
  if (record.outcome !== "failed") return null;
  if (record.errcode === UNFOLLOWED) return "43004";
  if (record.errcode === REFUSED && record.channel !== "subscribe") return "43101";
  return null;
}

/**
 * Whether a broadcast skips suppressed subscribers: every Official Account message does. A
 * mini-program subscribe task does not: the message's credit is the user's own, newer consent, and
 * neither the account's follow nor its block governs the mini program.
 */
export function suppressionApplies(broadcast: Pick<Broadcast, "task">): boolean {
  return broadcast.task?.message.channel !== "subscribe";
}

/**
 * The suppressed among one audience page: what the audience read projected (the subscribers' Scan),
 * or for an uploaded list, which carries no subscriber data, one read of their items.
 */
export async function suppressedOnPage(
  broadcast: Pick<Broadcast, "task">,
  page: AudiencePage,
  reader: SuppressionReader | undefined,
): Promise<ReadonlyMap<string, SuppressionReason>> {
  if (!suppressionApplies(broadcast)) return new Map();
  if (page.suppressed) return page.suppressed;
  if (!reader || page.openids.length === 0) return new Map();
  return reader.suppressedAmong(page.openids);
}

/** The chunks with each one's suppressed recipients marked, so its sender skips them. */
export function markSuppressed(
  chunks: readonly ChunkMessage[],
  suppressed: ReadonlyMap<string, SuppressionReason>,
): ChunkMessage[] {
  if (suppressed.size === 0) return [...chunks];
  return chunks.map((chunk) => {
    const marked = chunk.openids.flatMap((openid) => {
      const reason = suppressed.get(openid);
      return reason ? [[openid, reason] as const] : [];
    });
    return marked.length > 0 ? { ...chunk, suppressed: Object.fromEntries(marked) } : chunk;
  });
}

/**
 * After a chunk's records are written: marks suppressed the recipients WeChat refused with 43101,
 * unless they wrote to or followed the account since. (43004 is marked by markUnfollowed, in the
 * write that takes them out of the audience.)
 */
export async function recordRefusals(
  records: Iterable<DeliveryRecord>,
  store: SuppressionStore | undefined,
): Promise<void> {
  if (!store) return;
  const refused = [...records].filter((r) => refusalSuppression(r) === "43101");
  if (refused.length > 0)
    await store.suppress(
      refused.map((r) => ({ openid: r.openid, at: r.at })),
      "43101",
    );
}
