import type { PreviewAnswer, TaskView } from "../../contracts/api.ts";
import { api } from "./api.ts";
import { createBroadcastBlock } from "./broadcast-block.ts";
import { createBroadcastStats } from "./broadcast-stats.ts";
import type { Ctx } from "./context.ts";
import { detailCard, summaryTerms } from "./detail-card.ts";
import { h, say } from "./dom.ts";
import { formatTime } from "./format.ts";
import { statusText } from "./hold-logic.ts";
import { createPreview } from "./preview-view.ts";
import { taskProgress } from "./progress.ts";
import { progressBar } from "./progress-bar.ts";
import { createRecords, type RecordsView } from "./records-view.ts";
import { createSchedule, type ScheduleActions } from "./schedule-view.ts";
import { goodsLine, isDraft, isUnsent, recipientsText, retryBlocked, typeText } from "./task-logic.ts";
import { createUpload } from "./upload-view.ts";

export interface DetailActions extends ScheduleActions {
  send(id: string, button: HTMLButtonElement): void;
  /** Send was pressed and not refused: the button stays disabled even before the task says so. */
  sendPressed(id: string): boolean;
  retry(id: string, button: HTMLButtonElement): void;
  close(): void;
  /** Recipients were added: the task's counts changed. */
  uploaded(id: string): Promise<void>;
  preview(id: string, openids: string[]): Promise<PreviewAnswer>;
}

export interface TaskDetailView {
  readonly root: HTMLElement;
  readonly records: RecordsView;
  readonly sendButton: HTMLButtonElement;
  /** Empties the view for another task and shows it. */
  open(id: string): void;
  show(task: TaskView): void;
  hide(): void;
  say(text: string, isError?: boolean): void;
  focus(): void;
}

/**
 * One task: what it is, its progress and why deliveries failed, send (now or at a time), retry,
 * preview, upload, records.
 */
export function createTaskDetail(ctx: Ctx, actions: DetailActions): TaskDetailView {
  const { t } = ctx;
  let taskId: string | null = null;
  const title = h("h2", { text: t.detailTitle(""), attrs: { id: "detail-title", tabindex: -1 } });
  const block = createBroadcastBlock(ctx, "detail", {
    prefix: "task",
    resume: () => (taskId ? api.resumeTask(taskId) : Promise.reject(new Error("no task open"))),
  });
  const { summary, progress, message, hold } = block;
  const sendButton = h("button", { text: t.sendButton, attrs: { type: "button", id: "send-button" } });
  const retryWhy = h("span", { className: "sub", attrs: { id: "retry-why" } });
  const retryButton = h("button", {
    text: t.retryButton,
    attrs: { type: "button", id: "retry-button", "aria-describedby": "retry-why" },
  });
  sendButton.addEventListener("click", () => taskId && actions.send(taskId, sendButton));
  retryButton.addEventListener("click", () => taskId && actions.retry(taskId, retryButton));
  const upload = createUpload(ctx, () => taskId, actions.uploaded);
  const schedule = createSchedule(ctx, message, actions);
  const preview = createPreview(ctx, "task-preview", (openids) =>
    taskId ? actions.preview(taskId, openids) : Promise.reject(new Error("no task open")),
  );
  const stats = createBroadcastStats(ctx, () => (taskId ? { kind: "task", id: taskId } : null), "task");
  const records = createRecords(ctx, message);
  const root = detailCard(
    { card: "task-detail", close: "detail-close" },
    title,
    { text: t.close, click: actions.close },
    ...block.parts,
    h("div", { className: "actions" }, sendButton, retryButton, retryWhy, schedule.root),
    preview.root,
    stats.root,
    upload.root,
    records.root,
  );

  function renderSummary(task: TaskView): void {
    const rows: [string, string][] = [
      [t.fieldStatus, statusText(task, t, ctx.zone)],
      [t.fieldCreated, formatTime(task.createdAt, ctx.zone)],
      [t.fieldSendAt, formatTime(task.sendAt, ctx.zone)],
      [t.fieldScheduleError, task.scheduleError ?? ""],
      [t.fieldSent, formatTime(task.sentAt, ctx.zone)],
      [t.fieldTemplate, `${task.templateName} · ${task.templateId}`],
      [t.fieldType, typeText(task, t)],
      [t.fieldTopic, task.topic],
      [t.fieldCaption, task.caption],
      [t.fieldTips, task.tips],
      [t.fieldGoods, `${task.goods.title} · ${goodsLine(task.goods, t)}`],
      [t.fieldRecipients, recipientsText(task, t)],
      [t.fieldRetry, task.retry ? t.retryRound(task.retry.round, task.retry.requeued) : ""],
      [t.fieldQuietHours, task.ignoreQuietHours ? t.ignoresQuietHours : ""],
    ];
    summary.replaceChildren(...summaryTerms(rows));
  }

  return {
    root,
    records,
    sendButton,
    open(id) {
      taskId = id;
      root.dataset.taskId = id;
      root.hidden = false;
      say(message, "");
      upload.reset();
      preview.reset();
    },
    show(task) {
      if (task.taskId !== taskId) return;
      title.textContent = t.detailTitle(task.name);
      renderSummary(task);
      progress.replaceChildren(isUnsent(task) ? "" : progressBar(taskProgress(task), t));
      hold.show(task);
      block.showBreakdown(task);
      stats.root.hidden = isDraft(task);
      stats.show(task, task.failed > 0);
      // A task is sent once; the server answers 409 to a second send.
      sendButton.disabled = !isDraft(task) || actions.sendPressed(task.taskId);
      schedule.show(task, actions.sendPressed(task.taskId));
      const blocked = isUnsent(task) ? null : retryBlocked(task);
      retryButton.disabled = isUnsent(task) || blocked !== null;
      retryButton.title = retryButton.disabled ? t.retryHint : "";
      // An unsent task has nothing to explain yet; a sent task says why Retry is off.
      retryWhy.textContent = blocked ? t.retryWhy[blocked] : "";
      upload.show(task);
    },
    hide() {
      taskId = null;
      root.hidden = true;
    },
    say: (text, isError) => say(message, text, isError),
    focus: () => title.focus(),
  };
}
