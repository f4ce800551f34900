import type { TimelinePointView } from "../../contracts/api.ts";
import { chartBars, timelineSummary, withEmptyBuckets } from "./broadcast-logic.ts";
import { h } from "./dom.ts";
import { formatTime } from "./format.ts";
import type { Catalog } from "./i18n.ts";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 600;
const HEIGHT = 120;

/** An SVG element with attributes (never inline styles: the page's CSP allows none) and children. */
function svg(
  tag: string,
  attrs: Record<string, string | number>,
  ...children: (Node | string)[]
): SVGElement {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

/**
 * Sent and failed per time bucket as stacked bars, inline SVG (no chart library): colours come from
 * the stylesheet's classes, each bar's numbers from its tooltip, the whole from its label.
 */
export function timelineChart(points: readonly TimelinePointView[], t: Catalog, zone: string): HTMLElement {
  const slots = withEmptyBuckets(points);
  const { bars, peak } = chartBars(slots, { width: WIDTH, height: HEIGHT });
  const summary = timelineSummary(points, t, zone);
  if (bars.length === 0)
    return h("p", { className: "empty", text: t.timelineEmpty, attrs: { "data-timeline": "empty" } });
  const chart = svg(
    "svg",
    {
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      preserveAspectRatio: "none",
      class: "chart",
      role: "img",
      "aria-label": summary,
    },
    ...bars.map((bar) =>
      svg(
        "g",
        { "data-at": bar.point.at },
        svg(
          "title",
          {},
          t.timelineBar(formatTime(bar.point.at, zone), bar.point.minutes, bar.point.sent, bar.point.failed),
        ),
        svg("rect", { class: "sent", x: bar.x, y: bar.sent.y, width: bar.width, height: bar.sent.height }),
        svg("rect", {
          class: "failed",
          x: bar.x,
          y: bar.failed.y,
          width: bar.width,
          height: bar.failed.height,
        }),
      ),
    ),
  );
  return h(
    "figure",
    { className: "timeline", attrs: { "data-timeline": "chart" } },
    chart,
    h("figcaption", { text: `${summary} · ${t.timelinePeak(peak)}` }),
  );
}
