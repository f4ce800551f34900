import type { PostView } from "../../contracts/api.ts";
import type { Ctx } from "./context.ts";
import { h } from "./dom.ts";
import { formatFen, formatTime, truncate } from "./format.ts";
import { postProgress } from "./progress.ts";
import { progressBar } from "./progress-bar.ts";

const CONTENT_SHOWN = 40;

export interface PostListView {
  readonly root: HTMLElement;
  render(posts: readonly PostView[], hasMore: boolean): void;
}

/** Paid-post broadcasts, newest first, with payment state and broadcast progress. */
export function createPostList(
  ctx: Ctx,
  actions: { refresh(): void; more(): void; open?(outTradeNo: string): void },
): PostListView {
  const { t } = ctx;
  const body = h("tbody");
  const empty = h("p", {
    className: "empty",
    text: t.postsEmpty,
    attrs: { id: "posts-empty", hidden: true },
  });
  const more = h("button", {
    text: t.more,
    attrs: { type: "button", id: "posts-more", hidden: true },
    on: { click: actions.more },
  });
  const columns = [
    t.colOrder,
    t.colCreated,
    t.colAmount,
    t.colContent,
    t.colPayment,
    t.colStatus,
    t.colProgress,
    ...(actions.open ? [t.colActions] : []),
  ];
  const root = h(
    "section",
    { className: "card", attrs: { "aria-labelledby": "posts-title" } },
    h(
      "div",
      { className: "head" },
      h("h2", { text: t.postsTitle, attrs: { id: "posts-title" } }),
      h("button", {
        text: t.refresh,
        attrs: { type: "button", id: "posts-refresh" },
        on: { click: actions.refresh },
      }),
    ),
    h(
      "div",
      { className: "scroll" },
      h(
        "table",
        { attrs: { id: "posts" } },
        h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", { text: c, attrs: { scope: "col" } })))),
        body,
      ),
    ),
    empty,
    more,
  );

  const row = (p: PostView) =>
    h(
      "tr",
      { attrs: { "data-out-trade-no": p.outTradeNo } },
      h("td", { className: "mono", text: p.outTradeNo }),
      h("td", { text: formatTime(p.createdAt, ctx.zone), attrs: { title: p.createdAt } }),
      h("td", { className: "num", text: formatFen(p.amount) }),
      h("td", { text: truncate(p.content, CONTENT_SHOWN), attrs: { title: p.content } }),
      h("td", { text: t.payment[p.payment], attrs: { "data-payment": p.payment } }),
      h("td", { className: "status", text: t.status[p.status], attrs: { "data-status": p.status } }),
      h("td", {}, p.payment === "PAID" ? progressBar(postProgress(p), t) : ""),
      actions.open
        ? h(
            "td",
            {},
            h("button", {
              text: t.open,
              attrs: { type: "button", "aria-label": t.openPost(p.outTradeNo) },
              on: { click: () => actions.open?.(p.outTradeNo) },
            }),
          )
        : null,
    );

  return {
    root,
    render(posts, hasMore) {
      body.replaceChildren(...posts.map(row));
      empty.hidden = posts.length > 0;
      more.hidden = !hasMore;
    },
  };
}
