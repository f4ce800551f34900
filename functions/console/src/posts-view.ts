import type { PostView, PreviewAnswer } from "../../contracts/api.ts";
import type { Ctx } from "./context.ts";
import { h } from "./dom.ts";
import { formatFen, formatTime, truncate } from "./format.ts";
import { statusText } from "./hold-logic.ts";
import { createListCard } from "./list-card.ts";
import { createPreview } from "./preview-view.ts";
import { postProgress } from "./progress.ts";
import { progressBar } from "./progress-bar.ts";
import { hasBroadcast } from "./review-logic.ts";

const CONTENT_SHOWN = 40;

export interface PostListView {
  readonly root: HTMLElement;
  /** `demoPay`: the local stack's demo merchant is in use, so unpaid posts offer 「模拟支付」. */
  render(posts: readonly PostView[], hasMore: boolean, demoPay?: boolean): void;
}

export interface PostActions {
  refresh(): void;
  more(): void;
  /** Pays the post with the local stack's demo merchant (demo-pay.ts). */
  pay(outTradeNo: string, button: HTMLButtonElement): void;
  preview(outTradeNo: string, openids: string[]): Promise<PreviewAnswer>;
  /** Opens the post's broadcast detail. */
  open(outTradeNo: string): void;
}

/** Paid-post broadcasts, newest first, with payment state and broadcast progress; a preview of any post. */
export function createPostList(ctx: Ctx, actions: PostActions): PostListView {
  const { t } = ctx;
  let previewing: string | null = null;
  const preview = createPreview(ctx, "post-preview", (openids) =>
    previewing ? actions.preview(previewing, openids) : Promise.reject(new Error("no post chosen")),
  );
  preview.root.hidden = true;
  const openPreview = (outTradeNo: string) => {
    previewing = outTradeNo;
    preview.reset(t.previewPostTitle(outTradeNo));
    preview.root.hidden = false;
    preview.root.querySelector("textarea")?.focus();
  };
  const list = createListCard(
    ctx,
    {
      id: "posts",
      title: t.postsTitle,
      emptyText: t.postsEmpty,
      columns: [
        t.colOrder,
        t.colCreated,
        t.colAmount,
        t.colContent,
        t.colPayment,
        t.colStatus,
        t.colProgress,
        t.colActions,
      ],
      refresh: actions.refresh,
      more: actions.more,
    },
    preview.root,
  );

  const payButton = (p: PostView) => {
    const button = h("button", {
      text: t.demoPay,
      attrs: { type: "button", "aria-label": t.demoPayPost(p.outTradeNo), title: t.demoPayHint },
    });
    button.addEventListener("click", () => actions.pay(p.outTradeNo, button));
    return button;
  };

  const row = (p: PostView, demoPay: boolean) =>
    h(
      "tr",
      { attrs: { "data-out-trade-no": p.outTradeNo } },
      h("td", { className: "mono", text: p.outTradeNo }),
      h("td", { text: formatTime(p.createdAt, ctx.zone), attrs: { title: p.createdAt } }),
      h("td", { className: "num", text: formatFen(p.amount) }),
      h("td", { text: truncate(p.content, CONTENT_SHOWN), attrs: { title: p.content } }),
      h(
        "td",
        {},
        h("span", { text: t.payment[p.payment], attrs: { "data-payment": p.payment } }),
        demoPay && p.payment === "PENDING" ? [" ", payButton(p)] : null,
      ),
      h("td", { className: "status", text: statusText(p, t, ctx.zone), attrs: { "data-status": p.status } }),
      h("td", {}, hasBroadcast(p) ? progressBar(postProgress(p), t) : ""),
      h(
        "td",
        { className: "row-actions" },
        h("button", {
          text: t.open,
          attrs: { type: "button", "aria-label": t.openPost(p.outTradeNo) },
          on: { click: () => actions.open(p.outTradeNo) },
        }),
        " ",
        h("button", {
          className: "link",
          text: t.previewPost,
          attrs: { type: "button", "aria-label": t.previewPostAria(p.outTradeNo), "data-action": "preview" },
          on: { click: () => openPreview(p.outTradeNo) },
        }),
      ),
    );

  return {
    root: list.root,
    render(posts, hasMore, demoPay = false) {
      list.show(
        posts.map((p) => row(p, demoPay)),
        hasMore,
      );
    },
  };
}
