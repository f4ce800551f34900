import type { TaskView } from "../../contracts/api.ts";
import type { Ctx } from "./context.ts";
import { h } from "./dom.ts";
import { formatTime } from "./format.ts";
import { statusText } from "./hold-logic.ts";
import { createListCard } from "./list-card.ts";
import { taskProgress } from "./progress.ts";
import { progressBar } from "./progress-bar.ts";
import { canRetry, goodsLine, isDraft, isUnsent, recipientsText } from "./task-logic.ts";

/** What the task list's buttons do; the app decides how. */
export interface TaskActions {
  open(id: string): void;
  send(id: string, button: HTMLButtonElement): void;
  retry(id: string, button: HTMLButtonElement): void;
  refresh(): void;
  more(): void;
}

export interface TaskListView {
  readonly root: HTMLElement;
  render(tasks: readonly TaskView[], hasMore: boolean, openId: string | null): void;
  /** Replaces one row in place: polling must not rebuild the table under a keyboard user's focus. */
  updateRow(task: TaskView, openId: string | null): void;
}

export function createTaskList(ctx: Ctx, actions: TaskActions): TaskListView {
  const { t } = ctx;
  const list = createListCard(ctx, {
    id: "tasks",
    title: t.tasksTitle,
    emptyText: t.tasksEmpty,
    columns: [
      t.colTask,
      t.colCreated,
      t.colTemplate,
      t.colGoods,
      t.colRecipients,
      t.colType,
      t.colStatus,
      t.colActions,
    ],
    refresh: actions.refresh,
    more: actions.more,
  });
  const { body, empty } = list;

  function row(task: TaskView, openId: string | null): HTMLTableRowElement {
    const id = task.taskId;
    const button = (text: string, label: string, disabled: boolean, title?: string) =>
      h("button", { text, attrs: { type: "button", "aria-label": label, disabled, title } });
    const open = button(t.open, t.openTask(id), false);
    const send = button(t.send, t.sendTask(id), !isDraft(task));
    const retry = button(t.retry, t.retryTask(id), !canRetry(task), canRetry(task) ? undefined : t.retryHint);
    open.addEventListener("click", () => actions.open(id));
    send.addEventListener("click", () => actions.send(id, send));
    retry.addEventListener("click", () => actions.retry(id, retry));
    return h(
      "tr",
      { className: id === openId ? "selected" : "", attrs: { "data-task-id": id } },
      h("td", {}, h("span", { text: task.name }), h("span", { className: "sub mono", text: id })),
      h("td", { text: formatTime(task.createdAt, ctx.zone), attrs: { title: task.createdAt } }),
      h(
        "td",
        {},
        h("span", { text: task.templateName }),
        h("span", { className: "sub mono", text: task.templateId }),
      ),
      h(
        "td",
        {},
        h("span", { text: task.goods.title }),
        h("span", { className: "sub", text: goodsLine(task.goods, t) }),
      ),
      h("td", { className: "num", text: recipientsText(task, t) }),
      h(
        "td",
        {},
        h("span", { text: t.channel[task.channel] }),
        h("span", { className: "sub", text: t.audience[task.audience] }),
      ),
      h(
        "td",
        { className: "status", attrs: { "data-status": task.status } },
        h("span", { text: statusText(task, t, ctx.zone) }),
        isUnsent(task) ? null : progressBar(taskProgress(task), t),
      ),
      h("td", {}, open, send, retry),
    );
  }

  return {
    root: list.root,
    render(tasks, hasMore, openId) {
      list.show(
        tasks.map((task) => row(task, openId)),
        hasMore,
      );
    },
    updateRow(task, openId) {
      const old = Array.from(body.rows).find((r) => r.dataset.taskId === task.taskId);
      const fresh = row(task, openId);
      if (!old) {
        body.prepend(fresh);
        empty.hidden = true;
        return;
      }
      const active = document.activeElement;
      const focused = active && old.contains(active) ? active.getAttribute("aria-label") : null;
      old.replaceWith(fresh);
      if (!focused) return;
      const again = Array.from(fresh.querySelectorAll("button")).find(
        (b) => b.getAttribute("aria-label") === focused,
      );
      if (again && !again.disabled) again.focus();
    },
  };
}
