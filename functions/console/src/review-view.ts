import type { PostView } from "../../contracts/api.ts";
import { ApiError, api } from "./api.ts";
import { type Ctx, errorText, isSignedOut } from "./context.ts";
import { panelCard } from "./detail-card.ts";
import { h, say } from "./dom.ts";
import { formatFen, formatTime } from "./format.ts";
import { reviewReasonText } from "./review-logic.ts";

export interface ReviewQueueView {
  readonly root: HTMLElement;
  /** Reads the queue again from its start. */
  load(): Promise<void>;
}

/**
 * 「待审核」: the paid posts the content check held, the longest waiting first, each with its whole
 * content and why it was held; 通过 starts its broadcast, 驳回 (with a reason) ends it unsent.
 * `decided` runs after either, so the broadcast list shows the post's new status.
 */
export function createReviewQueue(ctx: Ctx, on: { decided(outTradeNo: string): void }): ReviewQueueView {
  const { t } = ctx;
  let held: PostView[] = [];
  let next: string | null = null;
  const list = h("ul", { className: "review-list", attrs: { id: "review-list" } });
  const empty = h("p", {
    className: "empty",
    text: t.reviewEmpty,
    attrs: { id: "review-empty", hidden: true },
  });
  const note = h("p", {
    className: "msg",
    attrs: { id: "review-msg", role: "status", "aria-live": "polite" },
  });
  const more = h("button", { text: t.more, attrs: { type: "button", id: "review-more", hidden: true } });
  const refresh = h("button", { text: t.refresh, attrs: { type: "button", id: "review-refresh" } });
  const root = panelCard(
    "review",
    { title: t.reviewTitle, action: refresh, help: t.reviewHelp },
    note,
    list,
    empty,
    more,
  );

  function render(): void {
    list.replaceChildren(...held.map(item));
    empty.hidden = held.length > 0;
    more.hidden = next === null;
  }

  async function read(reset: boolean): Promise<void> {
    try {
      const page = await api.listReview(reset ? null : next);
      held = reset ? page.items : [...held, ...page.items];
      next = page.next;
      render();
    } catch (error) {
      if (!isSignedOut(error)) say(note, t.loadReviewFailed + errorText(error, t), true);
    }
  }

  /** Runs an approve or a reject; a 409 means someone decided first: the queue is read again. */
  async function decide(
    post: PostView,
    buttons: readonly HTMLButtonElement[],
    request: () => Promise<unknown>,
    done: string,
  ): Promise<void> {
    for (const button of buttons) button.disabled = true;
    try {
      await request();
      held = held.filter((p) => p.outTradeNo !== post.outTradeNo);
      render();
      say(note, done);
      ctx.notice(done);
      on.decided(post.outTradeNo);
    } catch (error) {
      if (isSignedOut(error)) return;
      const conflict = error instanceof ApiError && error.status === 409;
      say(note, (conflict ? t.reviewConflict : t.reviewRefused) + errorText(error, t), true);
      if (conflict) {
        await read(true);
        on.decided(post.outTradeNo);
      } else for (const button of buttons) button.disabled = false;
    }
  }

  function item(post: PostView): HTMLElement {
    const approve = h("button", {
      text: t.approve,
      attrs: { type: "button", "data-action": "approve", "aria-label": t.approvePost(post.outTradeNo) },
    });
    const reject = h("button", {
      className: "link",
      text: t.reject,
      attrs: { type: "button", "data-action": "reject", "aria-label": t.rejectPost(post.outTradeNo) },
    });
    const reasonId = `reject-reason-${post.outTradeNo}`;
    const reasonInput = h("input", { attrs: { type: "text", id: reasonId, maxlength: 200 } });
    const confirm = h("button", {
      text: t.rejectConfirm,
      attrs: { type: "button", "data-action": "confirm" },
    });
    const cancel = h("button", { className: "link", text: t.cancel, attrs: { type: "button" } });
    const form = h(
      "div",
      { className: "reject-form", attrs: { hidden: true } },
      h("label", { text: t.rejectReasonLabel(post.outTradeNo), attrs: { for: reasonId } }),
      reasonInput,
      " ",
      confirm,
      " ",
      cancel,
    );
    approve.addEventListener(
      "click",
      () =>
        void decide(
          post,
          [approve, reject],
          () => api.approvePost(post.outTradeNo),
          t.approved(post.outTradeNo),
        ),
    );
    reject.addEventListener("click", () => {
      form.hidden = false;
      reasonInput.focus();
    });
    cancel.addEventListener("click", () => {
      form.hidden = true;
    });
    confirm.addEventListener("click", () => {
      const reason = reasonInput.value.trim();
      if (reason === "") {
        say(note, t.rejectReasonEmpty, true);
        reasonInput.focus();
        return;
      }
      void decide(
        post,
        [approve, reject, confirm],
        () => api.rejectPost(post.outTradeNo, reason),
        t.rejectedNotice(post.outTradeNo),
      );
    });
    return h(
      "li",
      { attrs: { "data-out-trade-no": post.outTradeNo } },
      h(
        "p",
        { className: "review-head" },
        h("span", { className: "mono", text: post.outTradeNo }),
        ` · ${formatFen(post.amount)} · ${t.colPaidAt} ${formatTime(post.paidAt, ctx.zone)}`,
      ),
      h("p", { className: "review-content", text: post.content }),
      h(
        "p",
        { className: "review-reason" },
        h("strong", { text: t.colReason }),
        " ",
        reviewReasonText(post.reviewReason ?? "", t),
      ),
      h("div", { className: "row-actions" }, approve, " ", reject),
      form,
    );
  }

  refresh.addEventListener("click", () => void read(true));
  more.addEventListener("click", () => void read(false));
  return { root, load: () => read(true) };
}
