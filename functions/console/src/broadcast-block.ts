import type { TaskView } from "../../contracts/api.ts";
import type { Ctx } from "./context.ts";
import { titledList } from "./detail-card.ts";
import { h } from "./dom.ts";
import { explainErrcode } from "./format.ts";
import { skipReasonList } from "./guard-view.ts";
import { createHold, type HoldView } from "./hold-view.ts";
import { errcodeBreakdown } from "./task-logic.ts";

/** Why deliveries did not succeed, by errcode, each explained in words; nothing when none failed. */
export function errcodeList(entries: readonly { code: string; count: number }[], t: Ctx["t"]): Node | string {
  return titledList(
    t.byErrcodeTitle,
    "errcodes",
    entries.map(({ code, count }) =>
      h(
        "li",
        { attrs: { "data-errcode": code } },
        h("span", { className: "mono", text: code === "none" ? "—" : code }),
        ` ${explainErrcode(code, t)} × ${count}`,
      ),
    ),
  );
}

/**
 * What a post's and a task's detail both show of their broadcast, with element ids `${prefix}-…`:
 * the summary, progress, hold, why deliveries failed or were skipped, and the message line.
 */
export interface BroadcastBlock {
  readonly summary: HTMLElement;
  readonly progress: HTMLElement;
  readonly message: HTMLElement;
  readonly hold: HoldView;
  /** The block's elements in the card's order. */
  readonly parts: readonly Node[];
  /** Shows why deliveries failed (errcodes in words) and why recipients were skipped (by reason). */
  showBreakdown(view: Pick<TaskView, "byErrcode" | "bySkipReason">): void;
}

/** The block of a detail card; `resume` is what its hold's 继续发送 calls. */
export function createBroadcastBlock(
  ctx: Ctx,
  prefix: string,
  hold: { readonly prefix: string; readonly resume: () => Promise<unknown> },
): BroadcastBlock {
  const summary = h("dl", { className: "summary", attrs: { id: `${prefix}-summary` } });
  const progress = h("div", { attrs: { id: `${prefix}-progress` } });
  const breakdown = h("div", { attrs: { id: `${prefix}-errcodes` } });
  const skips = h("div", { attrs: { id: `${prefix}-skip-reasons` } });
  const message = h("p", {
    className: "msg",
    attrs: { id: `${prefix}-msg`, role: "status", "aria-live": "polite" },
  });
  const holdView = createHold(ctx, hold.prefix, message, hold.resume);
  return {
    summary,
    progress,
    message,
    hold: holdView,
    parts: [summary, progress, holdView.root, breakdown, skips, message],
    showBreakdown(view) {
      breakdown.replaceChildren(errcodeList(errcodeBreakdown(view.byErrcode), ctx.t));
      skips.replaceChildren(skipReasonList(view.bySkipReason, ctx.t));
    },
  };
}
