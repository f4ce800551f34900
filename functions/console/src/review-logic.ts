import type { PostView } from "../../contracts/api.ts";
import { MANUAL_REVIEW } from "../../core/blocklist.ts";
import type { Catalog } from "./i18n.ts";

/**
 * Why a post was held, in the console's language: the built-in check's reasons (core/blocklist.ts)
 * in words, anything else (a moderation service's) as it came.
 */
export function reviewReasonText(reason: string, t: Catalog): string {
  if (reason === MANUAL_REVIEW) return t.reasonManual;
  const word = /^blocked word "(.*)"$/s.exec(reason);
  if (word) return t.reasonWord(word[1] as string);
  const pattern = /^blocked pattern (\/.*)$/s.exec(reason);
  if (pattern) return t.reasonPattern(pattern[1] as string);
  return reason;
}

/** Paid and not held back by its review: a broadcast with progress to show. */
export const hasBroadcast = (p: PostView): boolean =>
  p.payment === "PAID" && p.status !== "held" && p.status !== "rejected";
