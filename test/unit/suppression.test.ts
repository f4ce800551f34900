import { beforeEach, describe, expect, it } from "vitest";
import { planCallback } from "../../functions/core/callback.ts";
import { fanOutPage } from "../../functions/core/fan-out.ts";
import type { WeChatResult } from "../../functions/core/ports.ts";
import { type SendChunkDeps, sendChunk } from "../../functions/core/send-chunk.ts";
import { skipReasonCounts } from "../../functions/core/skip-reasons.ts";
import {
  markSuppressed,
  refusalSuppression,
  reportSuppression,
  suppressedSkip,
  suppressionOfSkip,
} from "../../functions/core/suppression.ts";
import { type MemorySubscribers, OK, ScriptedMessenger } from "./cap-fakes.ts";
import {
  ArrayAudience,
  type FakeClock,
  type MemoryBroadcastStore,
  type MemoryDeliveryStore,
  newBroadcast,
  RecordingQueues,
} from "./fakes.ts";
import { MemoryParkStore } from "./parking-fakes.ts";
import { chunkDeps, chunkWorld } from "./send-chunk-fixture.ts";

const opts = { receiveCount: 1, maxReceiveCount: 5, leaseMs: 70_000 };
const audience = ["oSup001", "oSup002", "oSup003"];
const B = "post-SUP1";

let clock: FakeClock;
let subscribers: MemorySubscribers;
let broadcasts: MemoryBroadcastStore;
let deliveries: MemoryDeliveryStore;

beforeEach(() => {
  ({ clock, subscribers, broadcasts, deliveries } = chunkWorld(audience));
  broadcasts.items.set(B, newBroadcast(B, { total: 3, fanoutDone: true, fanoutPage: 1 }));
});

const deps = (wechat: ScriptedMessenger): SendChunkDeps =>
  chunkDeps({ clock, subscribers, broadcasts, deliveries }, wechat);

describe("what suppresses a subscriber", () => {
  it("a `failed:user block` report only, and a refused send: 43101 on OA messages, 43004 on any", () => {
    expect(reportSuppression("failed:user block")).toBe("user block");
    expect(reportSuppression("failed: system failed")).toBeNull();
    expect(reportSuppression("failed:freq limit")).toBeNull();
    expect(reportSuppression("success")).toBeNull();
    const failed = { broadcastId: B, openid: "o1", outcome: "failed" as const, attempts: 1, at: 1 };
    expect(refusalSuppression({ ...failed, channel: "template", errcode: 43101 })).toBe("43101");
    expect(refusalSuppression({ ...failed, channel: "custom", errcode: 43101 })).toBe("43101");
    // On a mini-program subscribe message 43101 means no credit, which the credits track.
    expect(refusalSuppression({ ...failed, channel: "subscribe", errcode: 43101 })).toBeNull();
    expect(refusalSuppression({ ...failed, channel: "template", errcode: 43004 })).toBe("43004");
    expect(refusalSuppression({ ...failed, channel: "template", errcode: 40003 })).toBeNull();
    expect(suppressionOfSkip(suppressedSkip("43101"))).toBe("43101");
    expect(suppressionOfSkip("daily cap")).toBeNull();
  });

  it("a user-block report plans a suppression as of WeChat's time of the report", () => {
    const now = 1_700_000_100_000;
    const plan = planCallback(
      {
        ToUserName: "gh_x",
        FromUserName: "oSup001",
        CreateTime: "1700000000",
        MsgType: "event",
        Event: "TEMPLATESENDJOBFINISH",
        MsgID: "3001",
        Status: "failed:user block",
      },
      now,
    );
    expect(plan.actions).toEqual([
      { kind: "suppress", openid: "oSup001", reason: "user block", at: 1_700_000_000_000 },
    ]);
    expect(plan.report).toMatchObject({ msgid: 3001, status: "failed:user block" });
  });
});

describe("a broadcast to suppressed subscribers", () => {
  it("records them skipped with the reason, counted by reason, and never calls WeChat for them", async () => {
    const wechat = new ScriptedMessenger(() => OK);
    const chunk = {
      broadcastId: B,
      chunkId: "0-0",
      openids: audience,
      suppressed: { oSup002: "user block" as const },
    };
    const result = await sendChunk(chunk, deps(wechat), opts);
    expect(result).toMatchObject({ kind: "settled", tally: { sent: 2, skipped: 1 } });
    expect(wechat.to("oSup002")).toBe(0);
    expect(deliveries.records.get(`${B}/oSup002`)).toMatchObject({
      outcome: "skipped",
      errmsg: "suppressed: user block",
      attempts: 0,
    });
    expect(broadcasts.items.get(B)?.bySkipReason).toEqual({ "suppressed: user block": 1 });
  });

  it("marks a 43101 refusal suppressed for the next broadcast: the refusing user only, asked once", async () => {
    const wechat = new ScriptedMessenger(
      (_c, openid): WeChatResult =>
        openid === "oSup003" ? { errcode: 43101, errmsg: "user refuse to accept the msg" } : OK,
    );
    const result = await sendChunk({ broadcastId: B, chunkId: "0-0", openids: audience }, deps(wechat), opts);
    expect(result).toMatchObject({ kind: "settled", tally: { sent: 2, failed: 1 } });
    expect(subscribers.items.get("oSup003")).toMatchObject({ suppressed: "43101", suppressedAt: clock.t });
    expect(subscribers.items.get("oSup001")?.suppressed).toBeUndefined();
    // WeChat was asked once: 43101 is permanent, not retried.
    expect(wechat.to("oSup003")).toBe(1);
  });

  it("the fan-out marks each chunk's suppressed recipients, from the audience read itself", async () => {
    const queues = new RecordingQueues();
    const reads: string[][] = [];
    const page = new ArrayAudience(audience);
    const withSuppressed = {
      readPage: async (cursor: string | null, limit: number) => ({
        ...(await page.readPage(cursor, limit)),
        suppressed: new Map([["oSup003", "43004" as const]]),
      }),
    };
    const B2 = "post-SUP2";
    broadcasts.items.set(B2, newBroadcast(B2));
    await fanOutPage(
      { broadcastId: B2, page: 0, cursor: null },
      {
        broadcasts,
        audience: withSuppressed,
        sendQueue: queues,
        fanoutQueue: queues,
        clock,
        parking: new MemoryParkStore(broadcasts),
        suppression: {
          suppressedAmong: async (ids) => {
            reads.push([...ids]);
            return new Map();
          },
        },
      },
      { pageSize: 10, chunkSize: 2 },
    );
    expect(queues.chunks.map((c) => c.suppressed)).toEqual([undefined, { oSup003: "43004" }]);
    // The Scan projected the attribute: no second read.
    expect(reads).toEqual([]);
  });

  it("marks only the chunks that hold a suppressed recipient", () => {
    const chunks = [
      { broadcastId: B, chunkId: "0-0", openids: ["a1", "a2"] },
      { broadcastId: B, chunkId: "0-1", openids: ["a3"] },
    ];
    expect(markSuppressed(chunks, new Map())).toEqual(chunks);
    expect(markSuppressed(chunks, new Map([["a3", "43101" as const]]))[1]).toMatchObject({
      suppressed: { a3: "43101" },
    });
  });

  it("counts skips once each by the reason their record gives", () => {
    const skip = (openid: string, errmsg?: string) => ({
      broadcastId: B,
      openid,
      outcome: "skipped" as const,
      attempts: 0,
      at: 1,
      ...(errmsg ? { errmsg } : {}),
    });
    expect(
      skipReasonCounts([
        skip("a", "daily cap"),
        skip("b", "daily cap"),
        skip("c", "suppressed: 43101"),
        skip("d"),
      ]),
    ).toEqual({ "daily cap": 2, "suppressed: 43101": 1, none: 1 });
  });
});
