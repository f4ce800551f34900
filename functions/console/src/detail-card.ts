import { type Child, h } from "./dom.ts";

/** A detail view's card: its heading and a close link, then its parts. */
export function detailCard(
  ids: { readonly card: string; readonly close: string },
  title: HTMLHeadingElement,
  close: { readonly text: string; readonly click: () => void },
  ...parts: Child[]
): HTMLElement {
  return h(
    "section",
    { className: "card", attrs: { id: ids.card, "aria-labelledby": title.id, hidden: true } },
    h(
      "div",
      { className: "head" },
      title,
      h("button", {
        className: "link",
        text: close.text,
        attrs: { type: "button", id: ids.close },
        on: { click: close.click },
      }),
    ),
    ...parts,
  );
}

/** `<dt>`/`<dd>` pairs of a summary, for the lines that have a value. */
export function summaryTerms(rows: readonly (readonly [string, string])[]): HTMLElement[] {
  return rows
    .filter(([, value]) => value !== "")
    .flatMap(([term, value]) => [h("dt", { text: term }), h("dd", { text: value })]);
}
