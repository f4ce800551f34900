import type { PostView, TaskView } from "../../contracts/api.ts";
import type { Catalog } from "./i18n.ts";

type Counters = Pick<PostView, "sent" | "failed" | "unknown" | "skipped" | "total" | "pending">;

/**
 * A broadcast's numbers as its bar shows them. `total` is null while it is not known for good: the
 * fan-out adds each page of recipients to the total as it reads it, so a bar drawn against it would
 * shrink back every second. The bar then shows what has settled and says the total is still coming.
 */
export interface ProgressNumbers {
  readonly sent: number;
  readonly failed: number;
  /** Sent without an answer (-2): maybe delivered, never re-sent automatically. Not a failure. */
  readonly unknown: number;
  readonly skipped: number;
  readonly settled: number;
  readonly total: number | null;
  readonly pending: number | null;
  /** Why the total is not known yet. */
  readonly counting?: "fanning_out" | "all_subscribers";
}

function numbers(c: Counters, total: number | null, counting?: ProgressNumbers["counting"]): ProgressNumbers {
  const settled = c.sent + c.failed + c.unknown + c.skipped;
  return {
    sent: c.sent,
    failed: c.failed,
    unknown: c.unknown,
    skipped: c.skipped,
    settled,
    total,
    pending: total === null ? null : Math.max(0, total - settled),
    ...(counting ? { counting } : {}),
  };
}

/** A paid post's broadcast: its total is final once the fan-out is done. */
export function postProgress(post: PostView): ProgressNumbers {
  return post.status === "fanning_out" ? numbers(post, null, "fanning_out") : numbers(post, post.total);
}

/**
 * A task's progress. An uploaded list's size is known before the fan-out has read it (`recipients`),
 * so that is its total from the start. A task to every subscriber has no such count, and the task
 * API reports its fan-out as `sending`: its total is known only once nothing is left to send.
 */
export function taskProgress(task: TaskView): ProgressNumbers {
  if (task.audience === "uploaded") return numbers(task, Math.max(task.recipients, task.total));
  if (task.status === "sending") return numbers(task, null, "all_subscribers");
  return numbers(task, task.total);
}

/** The bar's words, for its label and its screen-reader text. */
export function progressText(p: ProgressNumbers, t: Catalog): string {
  if (p.counting === "fanning_out") return t.progressFanningOut(p);
  if (p.counting === "all_subscribers" || p.total === null || p.pending === null)
    return t.progressCounting(p);
  return t.progress({ ...p, total: p.total, pending: p.pending });
}

/** Each segment's share of the bar in percent, in the order sent, failed, unknown, skipped. */
export function segmentShares(p: ProgressNumbers): Record<"sent" | "failed" | "unknown" | "skipped", number> {
  const whole = p.total ?? 0;
  const share = (n: number) => (whole > 0 ? Math.min(100, (100 * n) / whole) : 0);
  return {
    sent: share(p.sent),
    failed: share(p.failed),
    unknown: share(p.unknown),
    skipped: share(p.skipped),
  };
}
