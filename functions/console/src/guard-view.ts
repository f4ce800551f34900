import type { SubscriberView } from "../../contracts/api.ts";
import { api } from "./api.ts";
import { type Ctx, errorText, isSignedOut } from "./context.ts";
import { titledList } from "./detail-card.ts";
import { h, say } from "./dom.ts";
import { skipReasonEntries } from "./guard-logic.ts";

/** Why recipients were skipped (daily cap, suppression…), each in words; nothing when none were. */
export function skipReasonList(
  bySkipReason: Readonly<Record<string, number>> | undefined,
  t: Ctx["t"],
): Node | string {
  return titledList(
    t.bySkipReasonTitle,
    "skip-reasons",
    skipReasonEntries(bySkipReason, t).map(({ reason, text, count }) =>
      h("li", { attrs: { "data-reason": reason }, text: `${text} × ${count}` }),
    ),
  );
}

/**
 * An operator lifts a looked-up subscriber's suppression (POST /api/subscribers/{openid}/unsuppress),
 * then the lookup is shown again; nothing for one not suppressed.
 */
export function unsuppressButton(
  ctx: Ctx,
  s: SubscriberView,
  message: HTMLElement,
  refresh: () => Promise<void>,
): Node | string {
  const { t } = ctx;
  if (!s.suppressed) return "";
  const lift = (): void => {
    button.disabled = true;
    api.unsuppress(s.openid).then(
      async () => {
        await refresh();
        say(message, t.unsuppressDone);
      },
      (error: unknown) => {
        button.disabled = false;
        if (!isSignedOut(error)) say(message, t.unsuppressFailed + errorText(error, t), true);
      },
    );
  };
  const button = h("button", {
    text: t.unsuppressButton,
    attrs: { id: "lookup-unsuppress", type: "button" },
    on: { click: lift },
  });
  return h("div", { className: "actions" }, button);
}
