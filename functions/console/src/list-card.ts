import type { Ctx } from "./context.ts";
import { type Child, h } from "./dom.ts";

/** What a list card shows; its element ids all start with `id` (`${id}-title`, `${id}-more`…). */
export interface ListCardParts {
  readonly id: string;
  readonly title: string;
  readonly emptyText: string;
  readonly columns: readonly string[];
  refresh(): void;
  more(): void;
}

export interface ListCard {
  readonly root: HTMLElement;
  readonly body: HTMLTableSectionElement;
  readonly empty: HTMLElement;
  /** Shows these rows, the empty note when there are none, and 加载更多 when there are more. */
  show(rows: readonly HTMLTableRowElement[], hasMore: boolean): void;
}

/** A list's card: its title with 刷新, a table of the columns, the empty note and 加载更多, then `after`. */
export function createListCard(ctx: Ctx, parts: ListCardParts, ...after: Child[]): ListCard {
  const { t } = ctx;
  const { id } = parts;
  const body = h("tbody");
  const empty = h("p", {
    className: "empty",
    text: parts.emptyText,
    attrs: { id: `${id}-empty`, hidden: true },
  });
  const more = h("button", {
    text: t.more,
    attrs: { type: "button", id: `${id}-more`, hidden: true },
    on: { click: parts.more },
  });
  const root = h(
    "section",
    { className: "card", attrs: { "aria-labelledby": `${id}-title` } },
    h(
      "div",
      { className: "head" },
      h("h2", { text: parts.title, attrs: { id: `${id}-title` } }),
      h("button", {
        text: t.refresh,
        attrs: { type: "button", id: `${id}-refresh` },
        on: { click: parts.refresh },
      }),
    ),
    h(
      "div",
      { className: "scroll" },
      h(
        "table",
        { attrs: { id } },
        h(
          "thead",
          {},
          h("tr", {}, ...parts.columns.map((c) => h("th", { text: c, attrs: { scope: "col" } }))),
        ),
        body,
      ),
    ),
    empty,
    more,
    ...after,
  );
  return {
    root,
    body,
    empty,
    show(rows, hasMore) {
      body.replaceChildren(...rows);
      empty.hidden = rows.length > 0;
      more.hidden = !hasMore;
    },
  };
}
