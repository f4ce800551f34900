import { beforeEach, describe, expect, it } from "vitest";
import { DAILY_CAP, DailyCapGate, freeSlot } from "../../functions/core/daily-cap.ts";
import type { WeChatResult } from "../../functions/core/ports.ts";
import { type SendChunkDeps, sendChunk } from "../../functions/core/send-chunk.ts";
import { type MemorySubscribers, OK, ScriptedMessenger } from "./cap-fakes.ts";
import {
  type FakeClock,
  type MemoryBroadcastStore,
  type MemoryDeliveryStore,
  newBroadcast,
} from "./fakes.ts";
import { chunkDeps, chunkWorld } from "./send-chunk-fixture.ts";

const DAY = 24 * 3600_000;
const opts = { receiveCount: 1, maxReceiveCount: 5, leaseMs: 70_000 };
const audience = ["oCap001", "oCap002", "oCap003"];

let clock: FakeClock;
let subscribers: MemorySubscribers;
let broadcasts: MemoryBroadcastStore;
let deliveries: MemoryDeliveryStore;

beforeEach(() => {
  ({ clock, subscribers, broadcasts, deliveries } = chunkWorld(audience));
});

function post(n: number): string {
  const id = `post-CAP${n}`;
  if (!broadcasts.items.has(id))
    broadcasts.items.set(id, newBroadcast(id, { total: audience.length, fanoutDone: true, fanoutPage: 1 }));
  return id;
}

function deps(wechat: ScriptedMessenger, limit = 2): SendChunkDeps {
  const world = { clock, subscribers, broadcasts, deliveries };
  return { ...chunkDeps(world, wechat), dailyCap: { store: subscribers, limit } };
}

const chunk = (broadcastId: string, openids = audience, windowed?: string[]) => ({
  broadcastId,
  chunkId: "0-0",
  openids,
  ...(windowed ? { windowed } : {}),
});

describe("freeSlot", () => {
  it("takes an empty slot first, else the oldest one older than 24 h, else none", () => {
    const now = 10 * DAY;
    const slot = (at: number) => ({ broadcastId: "b", at });
    expect(freeSlot({ slots: [slot(now - 1)], windowCalls: [] }, 2, now)).toBe(1);
    expect(freeSlot({ slots: [slot(now - DAY - 5), slot(now - DAY - 9)], windowCalls: [] }, 2, now)).toBe(1);
    // Exactly 24 h ago is no longer "in the last 24 h".
    expect(freeSlot({ slots: [slot(now - 1), slot(now - DAY)], windowCalls: [] }, 2, now)).toBe(1);
    expect(
      freeSlot({ slots: [slot(now - 1), slot(now - DAY + 1)], windowCalls: [] }, 2, now),
    ).toBeUndefined();
    // Slots past the limit (a cap lowered since) are not the limit's.
    expect(freeSlot({ slots: [slot(now - 1), undefined], windowCalls: [] }, 1, now)).toBeUndefined();
  });
});

describe("the daily cap of paid posts", () => {
  it("skips everyone with `daily cap` once they had the day's posts, without calling WeChat", async () => {
    const wechat = new ScriptedMessenger(() => OK);
    for (const n of [1, 2]) {
      const result = await sendChunk(chunk(post(n)), deps(wechat), opts);
      expect(result).toMatchObject({ kind: "settled", tally: { sent: 3, skipped: 0 } });
      clock.t += 3600_000;
    }
    const third = await sendChunk(chunk(post(3)), deps(wechat), opts);
    expect(third).toMatchObject({ kind: "settled", tally: { sent: 0, skipped: 3, byErrcode: { none: 3 } } });
    expect(wechat.calls).toHaveLength(6);
    for (const openid of audience) {
      expect(deliveries.records.get(`post-CAP3/${openid}`)).toMatchObject({
        outcome: "skipped",
        errmsg: DAILY_CAP,
        attempts: 0,
      });
      expect(subscribers.live(openid, clock.t)).toEqual(["post-CAP1", "post-CAP2"]);
    }
    expect(broadcasts.items.get("post-CAP3")?.bySkipReason).toEqual({ [DAILY_CAP]: 3 });
    // One write per delivered recipient, one read per chunk: the cap's whole cost.
    expect(subscribers.writes).toMatchObject({ taken: 6, refused: 0 });
    expect(subscribers.reads).toBe(3);
  });

  it("frees a slot 24 hours after it was taken", async () => {
    const wechat = new ScriptedMessenger(() => OK);
    await sendChunk(chunk(post(1)), deps(wechat, 1), opts);
    clock.t += DAY - 1;
    expect(await sendChunk(chunk(post(2)), deps(wechat, 1), opts)).toMatchObject({ tally: { skipped: 3 } });
    clock.t += 1;
    expect(await sendChunk(chunk(post(3)), deps(wechat, 1), opts)).toMatchObject({ tally: { sent: 3 } });
    for (const openid of audience) expect(subscribers.live(openid, clock.t)).toEqual(["post-CAP3"]);
  });

  it("does not cap push tasks", async () => {
    const wechat = new ScriptedMessenger(() => OK);
    await sendChunk(chunk(post(1)), deps(wechat, 1), opts);
    const taskId = "task-T1";
    broadcasts.items.set(
      taskId,
      newBroadcast(taskId, {
        outTradeNo: undefined,
        message: undefined,
        task: {
          taskId: "T1",
          audience: "uploaded",
          message: { channel: "template", templateId: "TPL", data: {} },
        },
        total: 3,
        fanoutDone: true,
        fanoutPage: 1,
      }),
    );
    const taskWechat = { sendTaskMessage: async () => OK };
    const result = await sendChunk(
      chunk(taskId),
      {
        ...deps(wechat, 1),
        tasks: { credits: undefined as never, wechat: taskWechat, settings: { miniProgramState: "formal" } },
      },
      opts,
    );
    expect(result).toMatchObject({ kind: "settled", tally: { sent: 3, skipped: 0 } });
    expect(subscribers.writes.taken).toBe(3);
  });

  it("counts a recipient once however often the chunk comes back, and takes no second slot", async () => {
    // The first delivery leaves oCap002 pending (WeChat busy every time), after taking its slot.
    let busy = true;
    const wechat = new ScriptedMessenger(
      (_c, openid): WeChatResult =>
        busy && openid === "oCap002" ? { errcode: -1, errmsg: "system busy" } : OK,
    );
    const d = { ...deps(wechat), clock };
    const first = await sendChunk(chunk(post(1)), d, { ...opts, backoffBaseMs: 1 });
    expect(first).toMatchObject({ kind: "retry", reason: "transient", pending: 1 });
    expect(subscribers.live("oCap002", clock.t)).toEqual(["post-CAP1"]);
    busy = false;
    const again = await sendChunk(chunk(post(1)), d, { ...opts, receiveCount: 2 });
    expect(again).toMatchObject({ kind: "settled", tally: { sent: 3 } });
    for (const openid of audience) expect(subscribers.live(openid, clock.t)).toEqual(["post-CAP1"]);
    expect(subscribers.writes.taken).toBe(3);
    // A redelivery after it settled (a duplicate message) changes nothing.
    await sendChunk(chunk(post(1)), d, { ...opts, receiveCount: 3 });
    expect(subscribers.writes.taken).toBe(3);
  });

  it("a crash between the slot and the send: the redelivery finds the slot and sends once", async () => {
    const wechat = new ScriptedMessenger(() => OK);
    // The crashed invocation took oCap001's slot and stopped before its call.
    subscribers.items.get("oCap001")?.slots.push({ broadcastId: "post-CAP1", at: clock.t });
    subscribers.items.get("oCap001")?.slots.push({ broadcastId: "post-OTHER", at: clock.t });
    const result = await sendChunk(chunk(post(1)), deps(wechat), opts);
    expect(result).toMatchObject({ kind: "settled", tally: { sent: 3, skipped: 0 } });
    expect(wechat.to("oCap001")).toBe(1);
    expect(subscribers.live("oCap001", clock.t)).toEqual(["post-CAP1", "post-OTHER"]);
  });

  it("lets exactly one of two concurrent broadcasts take the last slot", async () => {
    const wechat = new ScriptedMessenger(() => OK);
    await sendChunk(chunk(post(1)), deps(wechat), opts);
    clock.t += 60_000;
    const [a, b] = await Promise.all([
      sendChunk(chunk(post(2)), deps(wechat), opts),
      sendChunk(chunk(post(3)), deps(wechat), opts),
    ]);
    expect(
      (a.kind === "settled" ? (a.tally?.sent ?? 0) : 0) + (b.kind === "settled" ? (b.tally?.sent ?? 0) : 0),
    ).toBe(3);
    for (const openid of audience) {
      expect(wechat.to(openid)).toBe(2);
      expect(subscribers.live(openid, clock.t)).toHaveLength(2);
    }
    // Both read the same free slot; the loser's write was refused and told it the slot was gone.
    expect(subscribers.writes.refused).toBe(3);
  });

  it("concurrent gates of two broadcasts at one recipient: one admitted, one capped", async () => {
    const settings = { store: subscribers, limit: 1 };
    const gates = ["post-A", "post-B", "post-C"].map(
      (b) => new DailyCapGate(settings, subscribers, b, ["oCap001"]),
    );
    const answers = await Promise.all(gates.map((g) => g.admit("oCap001", false, clock.t)));
    expect(answers.sort()).toEqual(["capped", "capped", "template"]);
    expect(subscribers.items.get("oCap001")?.slots).toHaveLength(1);
  });

  it("gives the slot back when WeChat refuses for good, and keeps it when it may have delivered", async () => {
    const wechat = new ScriptedMessenger((_c, openid): WeChatResult => {
      if (openid === "oCap001") return { errcode: 40003, errmsg: "invalid openid" };
      if (openid === "oCap002") return { errcode: -1, errmsg: "system busy" };
      return OK;
    });
    // The last receive records the busy recipient as failed; WeChat delivered nothing, but the
    // slot stays (only a permanent refusal gives it back).
    const result = await sendChunk(chunk(post(1)), deps(wechat), {
      ...opts,
      receiveCount: 5,
      backoffBaseMs: 1,
    });
    expect(result).toMatchObject({ kind: "settled", tally: { sent: 1, failed: 2 } });
    expect(subscribers.live("oCap001", clock.t)).toEqual([]);
    expect(subscribers.live("oCap002", clock.t)).toEqual(["post-CAP1"]);
    expect(subscribers.live("oCap003", clock.t)).toEqual(["post-CAP1"]);
    expect(subscribers.writes.givenBack).toBe(1);
  });

  it("uses a customer-service window in the same write as the slot", async () => {
    subscribers.add("oWin001", { windowUntil: clock.t + DAY, windowRemaining: 5 });
    const wechat = new ScriptedMessenger(() => OK);
    const result = await sendChunk(chunk(post(1), ["oWin001", "oCap001"], ["oWin001"]), deps(wechat), opts);
    expect(result).toMatchObject({
      kind: "settled",
      tally: { sent: 2, byChannel: { custom: 1, template: 1 } },
    });
    expect(wechat.calls).toEqual([
      { channel: "custom", openid: "oWin001" },
      { channel: "template", openid: "oCap001" },
    ]);
    const item = subscribers.items.get("oWin001");
    expect(item?.windowRemaining).toBe(4);
    expect([...(item?.windowCalls ?? [])]).toEqual(["post-CAP1"]);
    // One write each: the window message rode on the slot's write.
    expect(subscribers.writes).toMatchObject({ taken: 2, windows: 0 });
  });

  it("a capped windowed recipient keeps the window's message", async () => {
    subscribers.add("oWin002", {
      windowUntil: clock.t + DAY,
      windowRemaining: 5,
      slots: [{ broadcastId: "post-EARLIER", at: clock.t - 1 }],
    });
    const wechat = new ScriptedMessenger(() => OK);
    const result = await sendChunk(chunk(post(1), ["oWin002"], ["oWin002"]), deps(wechat, 1), opts);
    expect(result).toMatchObject({ tally: { skipped: 1 } });
    expect(subscribers.items.get("oWin002")?.windowRemaining).toBe(5);
    expect(wechat.calls).toEqual([]);
  });

  it("a window used by a delivery that stopped before its answer stays in doubt, not re-sent", async () => {
    // The crashed delivery took the slot and the window message together, then stopped.
    subscribers.add("oWin003", {
      windowUntil: clock.t + DAY,
      windowRemaining: 4,
      windowCalls: new Set(["post-CAP1"]),
      slots: [{ broadcastId: "post-CAP1", at: clock.t }],
    });
    const wechat = new ScriptedMessenger(() => OK);
    const result = await sendChunk(chunk(post(1), ["oWin003"], ["oWin003"]), deps(wechat), opts);
    expect(result).toMatchObject({ tally: { unknown: 1, sent: 0 } });
    expect(wechat.calls).toEqual([]);
  });

  it("sends uncapped to a recipient with no item to count on", async () => {
    const wechat = new ScriptedMessenger(() => OK);
    const result = await sendChunk(chunk(post(1), ["oNoItem01"]), deps(wechat, 1), opts);
    expect(result).toMatchObject({ tally: { sent: 1 } });
  });
});
