/**
 * Scheduled sends: a draft scheduled for a time (the same guards as a send), cancelled back to a
 * draft, and started by the scheduler once due, its guards checked again.
 */
import { ConflictError, ValidationError } from "./errors.ts";
import { MAX_SCHEDULE_AHEAD_MS, taskBroadcastId } from "./push-task.ts";
import { dispatchOf, loadTask, notDraft, type PushTaskDeps, refusalError } from "./push-tasks.ts";

/** Due tasks started per scheduler run; the rest are due at the next run a minute later. */
const DUE_PER_RUN = 25;

/**
 * Schedules a draft for `sendAt` (epoch ms, in the future and at most 30 days ahead), refused like a
 * send without recipients or with the goods off the shelf; the scheduler sends it at that time.
 */
export async function scheduleTask(
  taskId: string,
  sendAt: number,
  deps: Pick<PushTaskDeps, "tasks" | "clock">,
): Promise<{ readonly sendAt: number }> {
  const now = deps.clock.now();
  if (sendAt <= now) throw new ValidationError("at: the time has passed; give a time in the future");
  if (sendAt > now + MAX_SCHEDULE_AHEAD_MS) throw new ValidationError("at: at most 30 days ahead");
  const task = await loadTask(taskId, deps);
  if (task.status !== "draft") throw notDraft(task);
  const scheduled = await deps.tasks.schedule(task, sendAt);
  if (scheduled !== true) throw refusalError(scheduled, task);
  return { sendAt };
}

/** Returns a scheduled task to draft; nothing has been sent. */
export async function cancelSchedule(taskId: string, deps: Pick<PushTaskDeps, "tasks">): Promise<void> {
  const task = await loadTask(taskId, deps);
  if (task.status !== "scheduled" || !(await deps.tasks.unschedule(task.taskId)))
    throw new ConflictError(
      task.status === "draft" ? "the task is not scheduled" : "the task was sent; it cannot be cancelled",
    );
}

/** What one scheduler run did. */
export interface DueRun {
  readonly started: readonly string[];
  /** Tasks whose send was refused at its time, back to draft with the reason. */
  readonly refused: readonly { readonly taskId: string; readonly reason: string }[];
}

/**
 * Starts every scheduled task that is due, with the send's guards checked again. A task stays due
 * until its fan-out's first message is queued, so a run that stops halfway is finished by the next.
 */
export async function sendDueTasks(
  deps: Pick<PushTaskDeps, "tasks" | "fanoutQueue" | "clock">,
): Promise<DueRun> {
  const now = deps.clock.now();
  const started: string[] = [];
  const refused: { taskId: string; reason: string }[] = [];
  for (const task of await deps.tasks.due(now, DUE_PER_RUN)) {
    if (task.status === "scheduled") {
      const result = await deps.tasks.startSend(task, dispatchOf(task), now, "scheduled");
      if (result === "not_draft" || result === "missing") continue;
      if (result !== true) {
        const reason = refusalError(result, task).message;
        if (await deps.tasks.unschedule(task.taskId, reason)) refused.push({ taskId: task.taskId, reason });
        continue;
      }
    }
    await deps.fanoutQueue.sendPage({ broadcastId: taskBroadcastId(task.taskId), page: 0, cursor: null });
    await deps.tasks.clearDue(task.taskId);
    started.push(task.taskId);
  }
  return { started, refused };
}
