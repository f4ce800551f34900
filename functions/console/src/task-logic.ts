import type { PostView, TaskView } from "../../contracts/api.ts";
import { isRetryableFailure } from "../../core/push-task.ts";
import { formatYuan } from "./format.ts";
import type { Catalog } from "./i18n.ts";

export const isDraft = (task: TaskView): boolean => task.status === "draft";

/** Still moving: worth polling. A paused task resumes by itself (the day's quota comes back). */
export const isRunning = (task: TaskView): boolean => task.status === "sending" || task.status === "paused";

export const isRunningPost = (post: PostView): boolean =>
  post.payment === "PAID" && post.status !== "done" && post.status !== "awaiting_payment";

/**
 * Failures the retry route would send again, counted from the task's byErrcode: busy, no answer,
 * rate-limited, token refused. Whether an errcode qualifies is the route's own rule
 * (isRetryableFailure); the console does not keep a copy of the list.
 */
export function retryableFailures(task: TaskView): number {
  let count = 0;
  for (const [code, n] of Object.entries(task.byErrcode)) {
    if (code !== "none" && isRetryableFailure({ outcome: "failed", errcode: Number(code) })) count += n;
  }
  return count;
}

/**
 * Retry is offered only when the route would do something: the task is done (the route refuses
 * anything else with 409), no earlier round is still being queued, and some failure is retryable
 * (a task whose failures are all 43004 would re-queue nobody).
 */
export function canRetry(task: TaskView): boolean {
  return retryBlocked(task) === null;
}

/** Why Retry is not offered, for the label beside it; null when it is. */
export function retryBlocked(
  task: TaskView,
): "notDone" | "queueing" | "noFailures" | "nothingRetryable" | null {
  if (task.status !== "done") return "notDone";
  if (task.retry && task.retry.chunks < 0) return "queueing";
  if (retryableFailures(task) > 0) return null;
  return task.failed + task.unknown === 0 ? "noFailures" : "nothingRetryable";
}

/**
 * The recipients column: an "all subscribers" task is counted by its fan-out, and that count is final
 * only once the task is no longer sending (see progress.ts).
 */
export function recipientsText(task: TaskView, t: Catalog): string {
  if (task.audience === "uploaded") return String(task.recipients);
  return task.status === "draft" || task.status === "sending" ? t.audienceAll : String(task.total);
}

export function goodsLine(goods: TaskView["goods"], t: Catalog): string {
  return [goods.id, formatYuan(goods.price), goods.onShelf ? t.onShelf : t.offShelf].join(" · ");
}

export const typeText = (task: TaskView, t: Catalog): string =>
  `${t.channel[task.channel]} · ${t.audience[task.audience]}`;

/** The errcodes behind a task's failures, unknowns and skips, most frequent first. */
export function errcodeBreakdown(byErrcode: TaskView["byErrcode"]): { code: string; count: number }[] {
  return Object.entries(byErrcode)
    .filter(([, count]) => count > 0)
    .map(([code, count]) => ({ code, count }))
    .sort((a, b) => b.count - a.count || Number(a.code) - Number(b.code));
}
