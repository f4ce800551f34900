import { h } from "./dom.ts";
import type { Catalog } from "./i18n.ts";
import { type ProgressNumbers, progressText, segmentShares } from "./progress.ts";

/**
 * A stacked bar (sent, failed, delivery unknown, skipped) with its numbers, announced as one
 * progressbar. While the total is still being counted the bar has no value (indeterminate).
 */
export function progressBar(p: ProgressNumbers, t: Catalog): HTMLElement {
  const label = progressText(p, t);
  const track = h("div", { className: p.total === null ? "track counting" : "track" });
  for (const [name, share] of Object.entries(segmentShares(p))) {
    const part = h("span", { className: name });
    // CSSOM, not a style attribute: the page's CSP allows no inline styles.
    part.style.width = `${share}%`;
    track.append(part);
  }
  const known = p.total !== null;
  return h(
    "div",
    {
      className: "progress",
      attrs: {
        role: "progressbar",
        "aria-valuemin": known ? 0 : null,
        "aria-valuemax": known ? p.total : null,
        "aria-valuenow": known ? Math.min(p.settled, p.total ?? 0) : null,
        "aria-valuetext": label,
      },
    },
    track,
    h("span", { className: "label", text: label }),
  );
}
