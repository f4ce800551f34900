import type { Ctx } from "./context.ts";
import { h } from "./dom.ts";
import { skipReasonEntries } from "./guard-logic.ts";

/** Why recipients were skipped (daily cap, suppression…), each in words; nothing when none were. */
export function skipReasonList(
  bySkipReason: Readonly<Record<string, number>> | undefined,
  t: Ctx["t"],
): Node | string {
  const entries = skipReasonEntries(bySkipReason, t);
  if (entries.length === 0) return "";
  return h(
    "div",
    {},
    h("h3", { text: t.bySkipReasonTitle }),
    h(
      "ul",
      { className: "skip-reasons" },
      entries.map(({ reason, text, count }) =>
        h("li", { attrs: { "data-reason": reason }, text: `${text} × ${count}` }),
      ),
    ),
  );
}
