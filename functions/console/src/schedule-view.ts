import type { TaskView } from "../../contracts/api.ts";
import type { Ctx } from "./context.ts";
import { h, say } from "./dom.ts";
import { type ScheduleProblem, scheduleProblem, zonedIso } from "./schedule-logic.ts";

export interface ScheduleActions {
  schedule(id: string, at: string, button: HTMLButtonElement): void;
  cancel(id: string, button: HTMLButtonElement): void;
}

export interface ScheduleView {
  readonly root: HTMLElement;
  show(task: TaskView, sendPressed: boolean): void;
}

/** 定时发送: a time in the operator's zone for a draft; 取消定时 for a scheduled task. */
export function createSchedule(ctx: Ctx, message: HTMLElement, actions: ScheduleActions): ScheduleView {
  const { t } = ctx;
  let taskId: string | null = null;
  const field = h("input", { attrs: { type: "datetime-local", id: "schedule-at", step: 60 } });
  const label = h("label", { text: t.scheduleLabel(ctx.zone), attrs: { for: field.id } });
  const scheduleButton = h("button", {
    text: t.scheduleButton,
    attrs: { type: "button", id: "schedule-button" },
  });
  const cancelButton = h("button", {
    text: t.cancelScheduleButton,
    attrs: { type: "button", id: "cancel-schedule-button" },
  });
  const problems: Record<ScheduleProblem, string> = {
    empty: t.scheduleEmpty,
    past: t.schedulePast,
    tooFar: t.scheduleTooFar,
  };
  scheduleButton.addEventListener("click", () => {
    if (!taskId) return;
    const at = zonedIso(field.value, ctx.zone);
    const problem = scheduleProblem(at, Date.now());
    if (problem || !at) {
      say(message, problems[problem ?? "empty"], true);
      return;
    }
    actions.schedule(taskId, at, scheduleButton);
  });
  cancelButton.addEventListener("click", () => taskId && actions.cancel(taskId, cancelButton));
  const picker = h("span", { className: "schedule-picker" }, label, field, scheduleButton);
  const root = h("div", { className: "schedule" }, picker, cancelButton);

  return {
    root,
    show(task, sendPressed) {
      taskId = task.taskId;
      picker.hidden = task.status !== "draft";
      scheduleButton.disabled = sendPressed;
      cancelButton.hidden = task.status !== "scheduled";
      cancelButton.disabled = false;
    },
  };
}
