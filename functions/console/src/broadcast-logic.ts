import type { DeliveryItem, SubscriberView, TimelinePointView } from "../../contracts/api.ts";
import { formatTime } from "./format.ts";
import { suppressionLine } from "./guard-logic.ts";
import type { Catalog } from "./i18n.ts";

type Channel = NonNullable<DeliveryItem["channel"]>;
const CHANNELS = ["custom", "template", "subscribe"] as const satisfies readonly Channel[];

/** Delivered recipients by channel, most first; channels with none left out. */
export function channelBreakdown(
  byChannel: Readonly<Record<string, number>>,
): { channel: Channel; count: number }[] {
  return CHANNELS.map((channel) => ({ channel, count: byChannel[channel] ?? 0 }))
    .filter(({ count }) => count > 0)
    .sort((a, b) => b.count - a.count);
}

/** One bar of the timeline chart, in the SVG's user units (y grows downwards). */
export interface Bar {
  readonly point: TimelinePointView;
  readonly x: number;
  readonly width: number;
  /** The sent part, at the bottom. */
  readonly sent: { readonly y: number; readonly height: number };
  /** The failed part, stacked on top of it. */
  readonly failed: { readonly y: number; readonly height: number };
}

/** Empty buckets the chart fills in between two of the same width, at most. */
const MAX_SLOTS = 240;

/**
 * The timeline with the buckets in which nothing settled put back in (the API keeps only buckets
 * that counted something), so the chart's x axis is time; at most MAX_SLOTS slots in all.
 */
export function withEmptyBuckets(points: readonly TimelinePointView[]): TimelinePointView[] {
  const out: TimelinePointView[] = [];
  for (const point of points) {
    const previous = out.at(-1);
    if (previous && previous.minutes === point.minutes) {
      const step = point.minutes * 60_000;
      const until = new Date(point.at).getTime();
      for (let at = new Date(previous.at).getTime() + step; at < until && out.length < MAX_SLOTS; at += step)
        out.push({ at: new Date(at).toISOString(), minutes: point.minutes, sent: 0, failed: 0 });
    }
    out.push(point);
  }
  return out;
}

/**
 * Stacked bars (sent below, failed above), one slot per point in time order, scaled to the tallest.
 * After its first two hours a broadcast's buckets are an hour wide; each keeps one slot, so a
 * broadcast the quota stretched over a day is not a sliver at each end.
 */
export function chartBars(
  points: readonly TimelinePointView[],
  size: { readonly width: number; readonly height: number },
): { bars: Bar[]; peak: number } {
  const peak = Math.max(0, ...points.map((p) => p.sent + p.failed));
  if (points.length === 0 || peak === 0) return { bars: [], peak };
  const slot = size.width / points.length;
  const gap = Math.min(2, slot / 4);
  const scale = size.height / peak;
  const bars = points.map((point, i) => {
    const sentHeight = point.sent * scale;
    const failedHeight = point.failed * scale;
    return {
      point,
      x: i * slot + gap / 2,
      width: slot - gap,
      sent: { y: size.height - sentHeight, height: sentHeight },
      failed: { y: size.height - sentHeight - failedHeight, height: failedHeight },
    };
  });
  return { bars, peak };
}

/** The summary of a timeline, for its label and screen readers. */
export function timelineSummary(points: readonly TimelinePointView[], t: Catalog, zone: string): string {
  const first = points[0];
  const last = points.at(-1);
  if (!first || !last) return t.timelineEmpty;
  const end = new Date(new Date(last.at).getTime() + last.minutes * 60_000).toISOString();
  const sent = points.reduce((n, p) => n + p.sent, 0);
  const failed = points.reduce((n, p) => n + p.failed, 0);
  return t.timelineSummary(formatTime(first.at, zone), formatTime(end, zone), sent, failed);
}

/** The subscriber's state as label/value lines, in the catalog's language and the display zone. */
export function subscriberLines(s: SubscriberView, t: Catalog, zone: string): [string, string][] {
  const time = (iso: string | null) => formatTime(iso, zone);
  const choice = [
    s.optedIn ? t.optedInYes : t.optedInNo,
    t.optedInBy[s.optedInBy ?? "none"],
    s.optedInSince ? t.since(time(s.optedInSince)) : "",
  ].filter((part) => part !== "");
  const followed = [s.followed ? t.followedYes : t.followedNo];
  if (s.followedChangedAt) followed.push(t.since(time(s.followedChangedAt)));
  const membership = s.membershipExpiresAt
    ? `${time(s.membershipExpiresAt)}${s.membershipActive ? "" : t.membershipExpired}`
    : t.membershipNone;
  const window = !s.window
    ? t.windowNone
    : s.window.open
      ? t.windowOpen(time(s.window.until), s.window.remaining)
      : t.windowClosed(time(s.window.until));
  return [
    ["openid", s.openid],
    [t.subOptIn, choice.join(" · ")],
    [t.subFollowed, followed.join(" · ")],
    [t.subMembership, membership],
    [t.subWindow, window],
    [t.subAudience, s.inAudience ? t.audienceYes : t.audienceNo],
    suppressionLine(s, t, zone),
    [t.subLastInteraction, time(s.lastInteractionAt)],
  ];
}

/** How far the search for recent deliveries went, in words. */
export function searchNote(recent: SubscriberView["recentDeliveries"], t: Catalog): string {
  if (recent.complete) return t.recentSearched(recent.searchedBroadcasts);
  const why = recent.stoppedBy === "time" ? t.cutReason.time : t.cutReason.budget;
  return t.recentCut(recent.searchedBroadcasts, why);
}
