import type { PostView, TaskView } from "../../contracts/api.ts";
import { isRetryableFailure } from "../../core/push-task.ts";
import { formatYuan } from "./format.ts";
import type { Catalog } from "./i18n.ts";

export const isDraft = (task: TaskView): boolean => task.status === "draft";
/** Nothing sent yet (a draft, or scheduled): no progress to show. */
export const isUnsent = (task: TaskView): boolean => task.status === "draft" || task.status === "scheduled";

/** A scheduled task is watched from this long before its time: the scheduler starts it within a minute. */
const DUE_WATCH_MS = 60_000;

/**
 * Still moving, or about to: worth polling. A paused task resumes by itself (the day's quota comes
 * back), a deferred one when quiet hours end; a scheduled one is starting within a minute of its time.
 */
export function isRunning(task: TaskView, now = Date.now()): boolean {
  if (task.status === "scheduled") return Date.parse(task.sendAt ?? "") - now < DUE_WATCH_MS;
  return task.status === "sending" || task.status === "paused" || task.status === "deferred";
}

/**
 * When the console should next ask for progress: at `pollMs` while anything runs, else shortly
 * before the next scheduled task's time; null when nothing will move by itself.
 */
export function nextPollIn(
  tasks: readonly TaskView[],
  posts: readonly PostView[],
  now: number,
  pollMs: number,
): number | null {
  if (tasks.some((task) => isRunning(task, now)) || posts.some(isRunningPost)) return pollMs;
  const times = tasks
    .filter((task) => task.status === "scheduled")
    .map((task) => Date.parse(task.sendAt ?? ""))
    .filter((at) => !Number.isNaN(at));
  if (times.length === 0) return null;
  return Math.max(pollMs, Math.min(...times) - DUE_WATCH_MS - now);
}

/** A held post waits for an operator and a rejected one never moves: neither is polled. */
export const isRunningPost = (post: PostView): boolean =>
  post.payment === "PAID" &&
  !(["done", "awaiting_payment", "held", "rejected"] as PostView["status"][]).includes(post.status);

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
  return task.status === "draft" || task.status === "scheduled" || task.status === "sending"
    ? t.audienceAll
    : String(task.total);
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
