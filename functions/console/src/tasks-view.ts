import type { TaskView } from "../../contracts/api.ts";
import type { Ctx } from "./context.ts";
import { h } from "./dom.ts";
import { formatTime } from "./format.ts";
import { statusText } from "./hold-logic.ts";
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
  const body = h("tbody");
  const empty = h("p", {
    className: "empty",
    text: t.tasksEmpty,
    attrs: { id: "tasks-empty", hidden: true },
  });
  const more = h("button", {
    text: t.more,
    attrs: { type: "button", id: "tasks-more", hidden: true },
    on: { click: actions.more },
  });
  const columns = [
    t.colTask,
    t.colCreated,
    t.colTemplate,
    t.colGoods,
    t.colRecipients,
    t.colType,
    t.colStatus,
    t.colActions,
  ];
  const root = h(
    "section",
    { className: "card", attrs: { "aria-labelledby": "tasks-title" } },
    h(
      "div",
      { className: "head" },
      h("h2", { text: t.tasksTitle, attrs: { id: "tasks-title" } }),
      h("button", {
        text: t.refresh,
        attrs: { type: "button", id: "tasks-refresh" },
        on: { click: actions.refresh },
      }),
    ),
    h(
      "div",
      { className: "scroll" },
      h(
        "table",
        { attrs: { id: "tasks" } },
        h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", { text: c, attrs: { scope: "col" } })))),
        body,
      ),
    ),
    empty,
    more,
  );

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
    root,
    render(tasks, hasMore, openId) {
      body.replaceChildren(...tasks.map((task) => row(task, openId)));
      empty.hidden = tasks.length > 0;
      more.hidden = !hasMore;
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
