import type { DeliveriesPage, DeliveryItem } from "../../contracts/api.ts";
import { api } from "./api.ts";
import { type Ctx, errorText, isSignedOut } from "./context.ts";
import { h, say } from "./dom.ts";
import { explainErrcode, formatTime, reasonText } from "./format.ts";

const FILTERS = ["failed", "unknown", "skipped", "sent"] as const satisfies readonly DeliveryItem["status"][];

export interface RecordsView {
  readonly root: HTMLElement;
  /** Shows the task's (or post's) records from the first page, with the filter set back to everyone. */
  start(taskId: string): Promise<void>;
  /** Reloads from the first page, keeping the filter. */
  reload(): Promise<void>;
}

type ListPage = (
  id: string,
  status: DeliveryItem["status"] | null,
  cursor: string | null,
) => Promise<DeliveriesPage>;

/**
 * A task's per-user delivery records, filterable by outcome and paged; a paid post's too, given its
 * listing (`list`) and an id prefix of its own (`prefix`) for the elements.
 */
export function createRecords(
  ctx: Ctx,
  message: HTMLElement,
  opts: { readonly list?: ListPage; readonly prefix?: string } = {},
): RecordsView {
  const { t } = ctx;
  const list = opts.list ?? api.listDeliveries;
  const id = (name: string) => `${opts.prefix ?? "records"}${name}`;
  let taskId: string | null = null;
  let next: string | null = null;
  const body = h("tbody");
  const empty = h("p", {
    className: "empty",
    text: t.recordsEmpty,
    attrs: { id: id("-empty"), hidden: true },
  });
  const more = h("button", {
    text: t.more,
    attrs: { type: "button", id: id("-more"), hidden: true },
    on: { click: () => void load(false) },
  });
  const filter = h(
    "select",
    { className: "records-filter", attrs: { id: id("-filter") }, on: { change: () => void load(true) } },
    h("option", { text: t.filterAll, attrs: { value: "" } }),
    ...FILTERS.map((status) => h("option", { text: t.outcome[status], attrs: { value: status } })),
  );
  const columns = ["openid", t.colStatus, t.colErrcode, t.colMeaning, t.colErrmsg, t.colAt];
  const root = h(
    "div",
    {},
    h("h3", { text: t.recordsTitle, attrs: { id: id("-title") } }),
    h("label", { className: "inline", text: t.recordsFilter, attrs: { for: id("-filter") } }),
    filter,
    h(
      "div",
      { className: "scroll" },
      h(
        "table",
        { attrs: { id: id(""), "aria-labelledby": id("-title") } },
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
    const shown = taskId;
    if (!shown) return;
    try {
      const page = await list(shown, selected(), reset ? null : next);
      // The operator opened another task while this page was on its way.
      if (taskId !== shown) return;
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
    start(openedId) {
      taskId = openedId;
      next = null;
      filter.value = "";
      body.replaceChildren();
      return load(true);
    },
    reload: () => load(true),
  };
}
