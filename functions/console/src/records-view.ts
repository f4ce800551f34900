import type { DeliveryItem } from "../../contracts/api.ts";
import { api } from "./api.ts";
import { type Ctx, errorText, isSignedOut } from "./context.ts";
import { h, say } from "./dom.ts";
import { explainErrcode, formatTime, reasonText } from "./format.ts";

const FILTERS = ["failed", "unknown", "skipped", "sent"] as const satisfies readonly DeliveryItem["status"][];

export interface RecordsView {
  readonly root: HTMLElement;
  /** Shows the task's records from the first page, with the filter set back to everyone. */
  start(taskId: string): Promise<void>;
  /** Reloads from the first page, keeping the filter. */
  reload(): Promise<void>;
}

/** A task's per-user delivery records, filterable by outcome and paged. */
export function createRecords(ctx: Ctx, message: HTMLElement): RecordsView {
  const { t } = ctx;
  let taskId: string | null = null;
  let next: string | null = null;
  const body = h("tbody");
  const empty = h("p", {
    className: "empty",
    text: t.recordsEmpty,
    attrs: { id: "records-empty", hidden: true },
  });
  const more = h("button", {
    text: t.more,
    attrs: { type: "button", id: "records-more", hidden: true },
    on: { click: () => void load(false) },
  });
  const filter = h(
    "select",
    { attrs: { id: "records-filter" }, on: { change: () => void load(true) } },
    h("option", { text: t.filterAll, attrs: { value: "" } }),
    ...FILTERS.map((status) => h("option", { text: t.outcome[status], attrs: { value: status } })),
  );
  const columns = ["openid", t.colStatus, t.colErrcode, t.colMeaning, t.colErrmsg, t.colAt];
  const root = h(
    "div",
    {},
    h("h3", { text: t.recordsTitle, attrs: { id: "records-title" } }),
    h("label", { className: "inline", text: t.recordsFilter, attrs: { for: "records-filter" } }),
    filter,
    h(
      "div",
      { className: "scroll" },
      h(
        "table",
        { attrs: { id: "records", "aria-labelledby": "records-title" } },
        h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", { text: c, attrs: { scope: "col" } })))),
        body,
      ),
    ),
    empty,
    more,
  );

  const row = (r: DeliveryItem) =>
    h(
      "tr",
      { attrs: { "data-status": r.status } },
      h("td", { className: "mono", text: r.openid }),
      h("td", { text: t.outcome[r.status] }),
      h("td", { className: "num", text: r.errcode ?? "" }),
      h("td", { text: r.errcode === null ? "" : explainErrcode(r.errcode, t) }),
      h("td", { text: reasonText(r.errmsg, t) }),
      h("td", { text: formatTime(r.at, ctx.zone), attrs: { title: r.at } }),
    );

  const selected = (): DeliveryItem["status"] | null => FILTERS.find((f) => f === filter.value) ?? null;

  async function load(reset: boolean): Promise<void> {
    const id = taskId;
    if (!id) return;
    try {
      const page = await api.listDeliveries(id, selected(), reset ? null : next);
      // The operator opened another task while this page was on its way.
      if (taskId !== id) return;
      const rows = page.items.map(row);
      if (reset) body.replaceChildren(...rows);
      else body.append(...rows);
      next = page.next;
      more.hidden = next === null;
      empty.hidden = body.rows.length > 0;
    } catch (error) {
      if (!isSignedOut(error)) say(message, t.loadRecordsFailed + errorText(error, t), true);
    }
  }

  return {
    root,
    start(id) {
      taskId = id;
      next = null;
      filter.value = "";
      body.replaceChildren();
      return load(true);
    },
    reload: () => load(true),
  };
}
