import { describe, expect, it } from "vitest";
import {
  type CallbackAction,
  type CallbackStore,
  dedupKeyOf,
  handleCallback,
  type InboundMessage,
  OPT_IN_REPLY,
  OPT_OUT_REPLY,
  optCommand,
  planCallback,
  reportOutcome,
} from "../../functions/core/callback.ts";

const now = 1_700_000_000_000;
const base = { ToUserName: "gh_x", FromUserName: "oUser000001", CreateTime: "1700000000" };
const text = (Content: string, MsgId = "1001"): InboundMessage => ({
  ...base,
  MsgType: "text",
  Content,
  MsgId,
});
const event = (Event: string, extra: Partial<InboundMessage> = {}): InboundMessage => ({
  ...base,
  MsgType: "event",
  Event,
  ...extra,
});

describe("planCallback", () => {
  it("0 / 1 (trimmed, full-width too) set optedIn and reply; any message opens the 5/48 h window", () => {
    expect(optCommand(" 0\n")).toBe(false);
    expect(optCommand("０")).toBe(false);
    expect(optCommand("１")).toBe(true);
    expect(optCommand("10")).toBeNull();
    const out = planCallback(text("0"), now);
    expect(out.reply).toBe(OPT_OUT_REPLY);
    expect(out.actions).toEqual([
      {
        kind: "interaction",
        openid: base.FromUserName,
        at: now,
        window: { until: now + 48 * 3600_000, remaining: 5 },
        optedIn: false,
      },
    ]);
    expect(planCallback(text("1"), now).reply).toBe(OPT_IN_REPLY);
    const chat = planCallback(text("hello"), now);
    expect(chat.reply).toBeUndefined();
    expect(chat.actions[0]).not.toHaveProperty("optedIn");
    const image = planCallback({ ...base, MsgType: "image", MsgId: "7" }, now);
    expect(image.actions[0]?.kind).toBe("interaction");
  });

  it("maps follow, unfollow, SCAN/CLICK and delivery reports", () => {
    expect(planCallback(event("subscribe"), now).actions).toEqual([
      { kind: "follow", openid: base.FromUserName, at: now, window: { until: now + 60_000, remaining: 3 } },
    ]);
    expect(planCallback(event("unsubscribe"), now).actions[0]?.kind).toBe("unfollow");
    expect(planCallback(event("SCAN"), now).actions[0]?.kind).toBe("eventWindow");
    expect(planCallback(event("CLICK"), now).actions[0]?.kind).toBe("eventWindow");
    expect(planCallback(event("VIEW"), now).actions).toEqual([]);
    const report = planCallback(
      event("TEMPLATESENDJOBFINISH", { MsgID: "2001", Status: "failed: system failed" }),
      now,
    );
    expect(report.actions).toEqual([]);
    expect(report.report).toEqual({
      msgid: 2001,
      status: "failed: system failed",
      openid: base.FromUserName,
      at: now,
    });
    expect(report.dedupKey).toBe("report#2001");
    const malformed = planCallback(event("TEMPLATESENDJOBFINISH", { MsgID: "x", Status: "success" }), now);
    expect(malformed.actions).toEqual([]);
    expect(malformed).not.toHaveProperty("report");
    expect(reportOutcome("success")).toBe("confirmed");
    expect(reportOutcome("failed:user block")).toBe("rejected");
    expect(reportOutcome("failed:freq limit")).toBe("rejected");
    expect(reportOutcome("queued")).toBeNull();
  });

  it("dedups messages by MsgId, events by sender, time and event, reports by the msgid they report on", () => {
    expect(dedupKeyOf(text("0", "42"))).toBe(dedupKeyOf({ ...text("1", "42"), CreateTime: "1" }));
    const r1 = event("TEMPLATESENDJOBFINISH", { MsgID: "1", Status: "success" });
    const r2 = event("TEMPLATESENDJOBFINISH", { MsgID: "2", Status: "success" });
    expect(dedupKeyOf(r1)).not.toBe(dedupKeyOf(r2));
    // A later push about the same message is the same report, whatever its time or status.
    expect(dedupKeyOf({ ...r1, CreateTime: "99", Status: "failed:user block" })).toBe(dedupKeyOf(r1));
    expect(dedupKeyOf(event("subscribe"))).toBe(dedupKeyOf(event("subscribe")));
    expect(dedupKeyOf(event("subscribe"))).not.toBe(dedupKeyOf(event("unsubscribe")));
  });
});

class FakeStore implements CallbackStore {
  readonly claimed = new Set<string>();
  readonly applied: CallbackAction[] = [];
  failNext = false;
  async claim(key: string) {
    if (this.claimed.has(key)) return false;
    this.claimed.add(key);
    return true;
  }
  async release(key: string) {
    this.claimed.delete(key);
  }
  async apply(action: CallbackAction) {
    if (this.failNext) {
      this.failNext = false;
      throw new Error("DynamoDB unavailable");
    }
    this.applied.push(action);
  }
}

describe("handleCallback", () => {
  it("applies a push once; a retry is a no-op", async () => {
    const store = new FakeStore();
    expect((await handleCallback(text("0"), { store, now })).duplicate).toBe(false);
    expect((await handleCallback(text("0"), { store, now })).duplicate).toBe(true);
    expect(store.applied).toHaveLength(1);
  });

  it("releases the claim when applying fails, so WeChat's retry does the work", async () => {
    const store = new FakeStore();
    store.failNext = true;
    await expect(handleCallback(text("0"), { store, now })).rejects.toThrow("unavailable");
    expect(store.claimed.size).toBe(0);
    expect((await handleCallback(text("0"), { store, now })).duplicate).toBe(false);
    expect(store.applied).toHaveLength(1);
  });
});
