import type { PostView, TaskView } from "../../contracts/api.ts";
import { api } from "./api.ts";
import { channelBreakdown } from "./broadcast-logic.ts";
import { whileDisabled } from "./busy-button.ts";
import { timelineChart } from "./chart.ts";
import type { Ctx } from "./context.ts";
import { h, say } from "./dom.ts";
import { formatTime } from "./format.ts";

type Stats = Pick<
  PostView | TaskView,
  "byChannel" | "confirmed" | "rejected" | "reportsCountedAt" | "timeline"
>;

export interface BroadcastStatsView {
  readonly root: HTMLElement;
  /** Shows the broadcast's numbers; `exportable` enables the CSV export of its failures. */
  show(stats: Stats, exportable: boolean): void;
}

/** Saves a downloaded file: an object URL clicked through a link, then let go. */
function save(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = h("a", { attrs: { href: url, download: name, hidden: true } });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/**
 * What a broadcast (a post's or a task's) did, beyond its progress bar: delivered by channel,
 * WeChat's delivery reports, deliveries over time, and the export of its failures as CSV.
 */
export function createBroadcastStats(
  ctx: Ctx,
  source: () => { kind: "task" | "post"; id: string } | null,
  prefix: string,
): BroadcastStatsView {
  const { t } = ctx;
  const channels = h("p", { attrs: { id: `${prefix}-channels` } });
  const reports = h("p", { attrs: { id: `${prefix}-reports` } });
  const timeline = h("div", { attrs: { id: `${prefix}-timeline` } });
  const message = h("p", { className: "msg", attrs: { id: `${prefix}-export-msg`, role: "status" } });
  const exportButton = h("button", {
    text: t.exportCsv,
    attrs: { type: "button", id: `${prefix}-export` },
    on: { click: () => void exportFailures() },
  });
  const root = h(
    "div",
    { className: "stats" },
    h("h3", { text: t.byChannelTitle }),
    channels,
    h("h3", { text: t.reportsTitle }),
    reports,
    h("h3", { text: t.timelineTitle }),
    timeline,
    h("div", { className: "actions" }, exportButton),
    message,
  );

  async function exportFailures(): Promise<void> {
    const from = source();
    if (!from) return;
    say(message, t.exporting);
    await whileDisabled(ctx, exportButton, message, t.exportFailed, async () => {
      const file = await api.exportDeliveries(from.kind, from.id, "failed");
      save(file.blob, file.name);
      say(message, t.exported(file.name));
    });
  }

  return {
    root,
    show(stats, exportable) {
      const delivered = channelBreakdown(stats.byChannel);
      channels.textContent =
        delivered.length === 0
          ? t.byChannelNone
          : delivered.map(({ channel, count }) => `${t.deliveryChannel[channel]} ${count}`).join(" · ");
      reports.textContent =
        stats.reportsCountedAt === undefined
          ? t.reportsNone
          : t.reportsLine(
              stats.confirmed,
              stats.rejected,
              formatTime(new Date(stats.reportsCountedAt).toISOString(), ctx.zone),
            );
      timeline.replaceChildren(timelineChart(stats.timeline, t, ctx.zone));
      exportButton.disabled = !exportable;
    },
  };
}
