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

/** A titled breakdown (`<h3>` then `<ul class>`); nothing when it has no items. */
export function titledList(title: string, className: string, items: readonly Node[]): Node | string {
  if (items.length === 0) return "";
  return h("div", {}, h("h3", { text: title }), h("ul", { className }, ...items));
}

/** A panel's card (id `id`, heading `${id}-title`): its heading with one action beside it, a line of help, then its parts. */
export function panelCard(
  id: string,
  heading: { readonly title: string; readonly action: HTMLElement; readonly help: string },
  ...parts: Child[]
): HTMLElement {
  return h(
    "section",
    { className: "card", attrs: { id, "aria-labelledby": `${id}-title` } },
    h(
      "div",
      { className: "head" },
      h("h2", { text: heading.title, attrs: { id: `${id}-title` } }),
      heading.action,
    ),
    h("p", { className: "help", text: heading.help }),
    ...parts,
  );
}
