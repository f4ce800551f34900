import type { SubscriberView } from "../../contracts/api.ts";
import { formatTime } from "./format.ts";
import type { Catalog } from "./i18n.ts";

/** The lookup's suppression line: why WeChat's word keeps broadcasts from them, since when, or none. */
export function suppressionLine(s: SubscriberView, t: Catalog, zone: string): [string, string] {
  if (!s.suppressed) return [t.subSuppressed, t.suppressedNo];
  const since = s.suppressed.since ? ` · ${t.since(formatTime(s.suppressed.since, zone))}` : "";
  return [t.subSuppressed, `${t.suppressedWhy[s.suppressed.reason]}${since}`];
}

/** A skip reason as the records word it (`daily cap`, `suppressed: user block`…), in the catalog's words. */
export function skipReasonText(reason: string, t: Catalog): string {
  const known = (t.skipReasons as Record<string, string>)[reason];
  return known ?? reason;
}

/** Skipped recipients by reason, most first; empty when none were skipped (or not counted so). */
export function skipReasonEntries(
  bySkipReason: Readonly<Record<string, number>> | undefined,
  t: Catalog,
): { reason: string; text: string; count: number }[] {
  return Object.entries(bySkipReason ?? {})
    .filter(([, count]) => count > 0)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([reason, count]) => ({ reason, text: skipReasonText(reason, t), count }));
}
