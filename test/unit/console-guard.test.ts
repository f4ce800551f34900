import { describe, expect, it } from "vitest";
import { subscriberLines } from "../../functions/console/src/broadcast-logic.ts";
import { skipReasonEntries } from "../../functions/console/src/guard-logic.ts";
import { catalogs } from "../../functions/console/src/i18n.ts";
import type { SubscriberView } from "../../functions/contracts/api.ts";

const zh = catalogs["zh-CN"];
const en = catalogs.en;
const ZONE = "Asia/Shanghai";

const subscriber = (suppressed: SubscriberView["suppressed"]): SubscriberView => ({
  openid: "oLook0000000000000000000002",
  optedIn: true,
  optedInBy: null,
  optedInSince: null,
  followed: true,
  followedChangedAt: null,
  suppressed,
  membershipExpiresAt: null,
  membershipActive: true,
  window: null,
  inAudience: true,
  lastInteractionAt: null,
  createdAt: null,
  credits: [],
  recentDeliveries: { items: [], searchedBroadcasts: 0, readUnits: 0, complete: true, stoppedBy: "end" },
});

describe("suppression in the subscriber lookup", () => {
  it("says why and since when (Asia/Shanghai), in Chinese and English, or that they are not", () => {
    const blocked = subscriber({ reason: "user block", since: "2026-12-01T01:02:03.000Z" });
    expect(Object.fromEntries(subscriberLines(blocked, zh, ZONE))[zh.subSuppressed]).toBe(
      "已屏蔽：用户拒收公众号消息（送达报告 failed:user block） · 自 2026-12-01 09:02:03",
    );
    expect(Object.fromEntries(subscriberLines(blocked, en, ZONE))[en.subSuppressed]).toBe(
      "yes: the user refuses the account's messages (report failed:user block) · since 2026-12-01 09:02:03",
    );
    expect(Object.fromEntries(subscriberLines(subscriber(null), zh, ZONE))[zh.subSuppressed]).toBe("未屏蔽");
  });
});

describe("skips by reason in the broadcast detail", () => {
  it("lists each reason in words, most first, and unknown reasons as recorded", () => {
    const counts = { "suppressed: 43101": 1, "daily cap": 6, "some new reason": 2, none: 0 };
    expect(skipReasonEntries(counts, zh)).toEqual([
      { reason: "daily cap", text: "已达每日付费信息上限", count: 6 },
      { reason: "some new reason", text: "some new reason", count: 2 },
      { reason: "suppressed: 43101", text: "已屏蔽：拒收消息（43101）", count: 1 },
    ]);
    expect(skipReasonEntries(counts, en)[0]?.text).toBe("daily cap of paid posts reached");
    expect(skipReasonEntries(undefined, en)).toEqual([]);
  });

  it("words every reason in both catalogs", () => {
    expect(Object.keys(en.skipReasons).sort()).toEqual(Object.keys(zh.skipReasons).sort());
  });
});
