import { describe, expect, it } from "vitest";
import {
  channelBreakdown,
  chartBars,
  searchNote,
  subscriberLines,
  timelineSummary,
  withEmptyBuckets,
} from "../../functions/console/src/broadcast-logic.ts";
import { catalogs } from "../../functions/console/src/i18n.ts";
import type { SubscriberView, TimelinePointView } from "../../functions/contracts/api.ts";

const zh = catalogs["zh-CN"];
const en = catalogs.en;
const ZONE = "Asia/Shanghai";
const point = (at: string, sent: number, failed = 0, minutes: 1 | 60 = 1): TimelinePointView => ({
  at,
  minutes,
  sent,
  failed,
});

describe("a broadcast's channels", () => {
  it("lists the delivered channels, most first, and leaves out the empty ones", () => {
    expect(channelBreakdown({ template: 9, custom: 12, subscribe: 0 })).toEqual([
      { channel: "custom", count: 12 },
      { channel: "template", count: 9 },
    ]);
    expect(channelBreakdown({})).toEqual([]);
  });
});

describe("the timeline chart", () => {
  it("puts back the empty minutes between two buckets, so the x axis is time", () => {
    const filled = withEmptyBuckets([
      point("2026-12-01T02:00:00.000Z", 5),
      point("2026-12-01T02:03:00.000Z", 2, 1),
      point("2026-12-01T04:00:00.000Z", 7, 0, 60),
      point("2026-12-01T06:00:00.000Z", 1, 0, 60),
    ]);
    expect(filled.map((p) => [p.at.slice(11, 16), p.minutes, p.sent])).toEqual([
      ["02:00", 1, 5],
      ["02:01", 1, 0],
      ["02:02", 1, 0],
      ["02:03", 1, 2],
      ["04:00", 60, 7],
      ["05:00", 60, 0],
      ["06:00", 60, 1],
    ]);
  });

  it("fills at most 240 slots however long the gap", () => {
    const filled = withEmptyBuckets([
      point("2026-12-01T00:00:00.000Z", 1),
      point("2026-12-03T00:00:00.000Z", 1),
    ]);
    expect(filled).toHaveLength(241);
  });

  it("stacks failed on sent, scaled to the tallest bucket", () => {
    const { bars, peak } = chartBars([point("a", 30, 10), point("b", 20)], { width: 100, height: 80 });
    expect(peak).toBe(40);
    expect(bars.map((b) => [b.x, b.width])).toEqual([
      [1, 48],
      [51, 48],
    ]);
    expect(bars[0]?.sent).toEqual({ y: 20, height: 60 });
    expect(bars[0]?.failed).toEqual({ y: 0, height: 20 });
    expect(bars[1]?.sent).toEqual({ y: 40, height: 40 });
    expect(bars[1]?.failed.height).toBe(0);
    expect(chartBars([], { width: 100, height: 80 }).bars).toEqual([]);
    expect(chartBars([point("a", 0)], { width: 100, height: 80 }).bars).toEqual([]);
  });

  it("sums up the timeline from its first bucket's start to its last one's end, in the display zone", () => {
    const points = [point("2026-12-01T02:00:00.000Z", 5, 1), point("2026-12-01T02:01:00.000Z", 4)];
    expect(timelineSummary(points, zh, ZONE)).toBe(
      "2026-12-01 10:00:00 至 2026-12-01 10:02:00：已发送 9 · 失败 1",
    );
    expect(timelineSummary([], en, ZONE)).toBe(en.timelineEmpty);
  });
});

const subscriber = (fields: Partial<SubscriberView> = {}): SubscriberView => ({
  openid: "oLook0000000000000000000001",
  optedIn: true,
  optedInBy: null,
  optedInSince: "2026-11-30T16:00:00.000Z",
  followed: true,
  followedChangedAt: null,
  suppressed: null,
  membershipExpiresAt: null,
  membershipActive: true,
  window: null,
  inAudience: true,
  lastInteractionAt: null,
  createdAt: "2026-11-30T16:00:00.000Z",
  credits: [],
  recentDeliveries: { items: [], searchedBroadcasts: 3, readUnits: 2, complete: true, stoppedBy: "end" },
  ...fields,
});

describe("a looked-up subscriber", () => {
  it("says whose choice an opt-out is and since when, in Chinese and in English", () => {
    const out = subscriber({
      optedIn: false,
      optedInBy: "user",
      optedInSince: "2026-12-01T01:02:03.000Z",
      inAudience: false,
    });
    const lines = Object.fromEntries(subscriberLines(out, zh, ZONE));
    expect(lines[zh.subOptIn]).toBe("已退订 · 用户本人（回复 0/1） · 自 2026-12-01 09:02:03");
    expect(lines[zh.subAudience]).toBe("不会收到");
    const english = Object.fromEntries(subscriberLines(out, en, ZONE));
    expect(english[en.subOptIn]).toBe(
      "opted out · the user's own choice (replied 0/1) · since 2026-12-01 09:02:03",
    );
    expect(Object.fromEntries(subscriberLines(subscriber(), zh, ZONE))[zh.subOptIn]).toBe(
      "接收 · 默认（从未更改） · 自 2026-12-01 00:00:00",
    );
  });

  it("reads the window, the membership and following", () => {
    const lines = Object.fromEntries(
      subscriberLines(
        subscriber({
          window: { until: "2026-12-03T01:00:00.000Z", remaining: 4, open: true },
          membershipExpiresAt: "2026-11-01T00:00:00.000Z",
          membershipActive: false,
          followed: false,
          followedChangedAt: "2026-11-30T00:00:00.000Z",
        }),
        zh,
        ZONE,
      ),
    );
    expect(lines[zh.subWindow]).toBe("开启，至 2026-12-03 09:00:00，剩余 4 条");
    expect(lines[zh.subMembership]).toBe("2026-11-01 08:00:00（已过期）");
    expect(lines[zh.subFollowed]).toBe("已取消关注 · 自 2026-11-30 08:00:00");
    const closed = subscriber({ window: { until: "2026-12-03T01:00:00.000Z", remaining: 0, open: false } });
    expect(Object.fromEntries(subscriberLines(closed, zh, ZONE))[zh.subWindow]).toBe(
      "已关闭（2026-12-03 09:00:00 到期或已用完）",
    );
    expect(Object.fromEntries(subscriberLines(subscriber(), en, ZONE))[en.subWindow]).toBe(en.windowNone);
  });

  it("says when the search for deliveries was cut short, and why", () => {
    const recent = subscriber().recentDeliveries;
    expect(searchNote(recent, zh)).toBe("已搜索最近 3 次群发。");
    expect(searchNote({ ...recent, complete: false, stoppedBy: "budget", searchedBroadcasts: 250 }, zh)).toBe(
      "只搜索了最近 250 次群发（读取预算已用完），更早的投递可能未列出。",
    );
    expect(searchNote({ ...recent, complete: false, stoppedBy: "time" }, en)).toMatch(/time used up/);
  });
});
