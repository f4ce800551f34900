import type { PostView } from "../../contracts/api.ts";
import { api } from "./api.ts";
import { createBroadcastBlock } from "./broadcast-block.ts";
import { createBroadcastStats } from "./broadcast-stats.ts";
import type { Ctx } from "./context.ts";
import { detailCard, summaryTerms } from "./detail-card.ts";
import { h, say } from "./dom.ts";
import { formatFen, formatTime } from "./format.ts";
import { statusText } from "./hold-logic.ts";
import { postProgress } from "./progress.ts";
import { progressBar } from "./progress-bar.ts";
import { createRecords, type RecordsView } from "./records-view.ts";
import { hasBroadcast, reviewReasonText } from "./review-logic.ts";

export interface PostDetailView {
  readonly root: HTMLElement;
  readonly records: RecordsView;
  /** Empties the view for another post and shows it. */
  open(outTradeNo: string): void;
  show(post: PostView): void;
  hide(): void;
  say(text: string, isError?: boolean): void;
  focus(): void;
}

/**
 * One paid post's broadcast: the post, its progress, why deliveries failed (errcodes in words), by
 * channel, WeChat's delivery reports, deliveries over time, the export of its failures, and its
 * per-user records with the status filter.
 */
export function createPostDetail(ctx: Ctx, actions: { close(): void }): PostDetailView {
  const { t } = ctx;
  let outTradeNo: string | null = null;
  const title = h("h2", { text: t.postDetailTitle(""), attrs: { id: "post-detail-title", tabindex: -1 } });
  const block = createBroadcastBlock(ctx, "post", {
    prefix: "post",
    resume: () => (outTradeNo ? api.resumePost(outTradeNo) : Promise.reject(new Error("no post open"))),
  });
  const { summary, progress, message, hold } = block;
  const stats = createBroadcastStats(
    ctx,
    () => (outTradeNo ? { kind: "post", id: outTradeNo } : null),
    "post",
  );
  const records = createRecords(ctx, message, { list: api.listPostDeliveries, prefix: "post-records" });
  const root = detailCard(
    { card: "post-detail", close: "post-detail-close" },
    title,
    { text: t.close, click: actions.close },
    ...block.parts,
    stats.root,
    records.root,
  );

  function renderSummary(post: PostView): void {
    const rows: [string, string][] = [
      [t.fieldOrder, post.outTradeNo],
      [t.fieldStatus, statusText(post, t, ctx.zone)],
      [t.fieldPayment, t.payment[post.payment]],
      [t.fieldAmount, formatFen(post.amount)],
      [t.fieldContent, post.content],
      [t.fieldCreated, formatTime(post.createdAt, ctx.zone)],
      [t.fieldPaidAt, formatTime(post.paidAt, ctx.zone)],
    ];
    if (post.reviewReason) rows.push([t.fieldReviewReason, reviewReasonText(post.reviewReason, t)]);
    if (post.rejectionReason) rows.push([t.fieldRejectionReason, post.rejectionReason]);
    if (post.reviewedAt) rows.push([t.fieldReviewedAt, formatTime(post.reviewedAt, ctx.zone)]);
    summary.replaceChildren(...summaryTerms(rows));
  }

  return {
    root,
    records,
    open(id) {
      outTradeNo = id;
      root.dataset.outTradeNo = id;
      root.hidden = false;
      say(message, "");
    },
    show(post) {
      if (post.outTradeNo !== outTradeNo) return;
      title.textContent = t.postDetailTitle(post.outTradeNo);
      renderSummary(post);
      progress.replaceChildren(hasBroadcast(post) ? progressBar(postProgress(post), t) : "");
      hold.show(post);
      block.showBreakdown(post);
      stats.show(post, post.payment === "PAID" && post.failed > 0);
    },
    hide() {
      outTradeNo = null;
      root.hidden = true;
    },
    say: (text, isError) => say(message, text, isError),
    focus: () => title.focus(),
  };
}
