/**
 * Quiet hours and quota pauses end to end over the in-memory stores: a chunk that must wait is
 * parked outside the queue with what it settled counted, the resumer sends it back only once it may
 * go, and after any pause every recipient has been sent to exactly once.
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { BroadcastEvent } from "../../functions/contracts/messages.ts";
import { ConflictError } from "../../functions/core/errors.ts";
import { InFlightLimit } from "../../functions/core/in-flight-limit.ts";
import { type BroadcastMessage, broadcastProgress, type ChunkMessage } from "../../functions/core/model.ts";
import { holdOf } from "../../functions/core/parking.ts";
import type {
  ApiQuota,
  QuotaReader,
  SubscriberStatusStore,
  WeChatMessenger,
  WeChatResult,
} from "../../functions/core/ports.ts";
import { parseQuietHours } from "../../functions/core/quiet-hours.ts";
import { resumeParked, resumePaused } from "../../functions/core/resume-parked.ts";
import { type SendChunkDeps, sendChunk } from "../../functions/core/send-chunk.ts";
import {
  FakeClock,
  MemoryBroadcastStore,
  MemoryDeliveryStore,
  newBroadcast,
  RecordingQueues,
} from "./fakes.ts";
import { MemoryParkStore } from "./parking-fakes.ts";

const B = "post-T1";
const QUOTA_CHECK_MS = 15 * 60_000;

/** WeChat with a template quota: past it every send is 45009 and nothing is delivered. */
class QuotaWeChat implements WeChatMessenger, QuotaReader {
  readonly delivered: string[] = [];
  sendCalls = 0;
  quotaCalls = 0;
  constructor(public remain: number) {}
  async sendCustomText(): Promise<WeChatResult> {
    throw new Error("no windows in these tests");
  }
  async sendTemplate(
    _token: string,
    openid: string,
    _t: BroadcastMessage["template"],
  ): Promise<WeChatResult> {
    this.sendCalls += 1;
    if (this.remain <= 0) return { errcode: 45009, errmsg: "reach max api daily quota limit" };
    this.remain -= 1;
    this.delivered.push(openid);
    return { errcode: 0, errmsg: "ok", msgid: this.delivered.length };
  }
  async apiQuota(_token: string, cgiPath: string): Promise<ApiQuota> {
    this.quotaCalls += 1;
    expect(cgiPath).toBe("/cgi-bin/message/template/send");
    return { dailyLimit: 100, used: 100 - Math.max(0, this.remain), remain: Math.max(0, this.remain) };
  }
}

const noWindows: SubscriberStatusStore = {
  async markUnfollowed() {},
  async consumeWindow() {
    return "none";
  },
  async releaseWindow() {},
};

let broadcasts: MemoryBroadcastStore;
let parking: MemoryParkStore;
let deliveries: MemoryDeliveryStore;
let queue: RecordingQueues;
let clock: FakeClock;
let events: BroadcastEvent[];
let wechat: QuotaWeChat;

const tokens = { get: async () => "T", reject: async () => {} };
const sendDeps = (quietHours?: ReturnType<typeof parseQuietHours>): SendChunkDeps => ({
  broadcasts,
  deliveries,
  subscribers: noWindows,
  wechat,
  tokens,
  clock,
  loadBroadcast: (id) => broadcasts.get(id),
  parking,
  ...(quietHours ? { quietHours } : {}),
});
const resumeDeps = () => ({
  broadcasts,
  parked: parking,
  sendQueue: queue,
  quota: wechat,
  tokens,
  events: { emit: async (e: BroadcastEvent) => void events.push(e) },
  clock,
});
const run = (quietHours?: ReturnType<typeof parseQuietHours>) =>
  resumeParked(resumeDeps(), {
    ...(quietHours ? { quietHours } : {}),
    quotaCheckMs: QUOTA_CHECK_MS,
    stopAt: clock.now() + 60_000,
  });
const opts = { receiveCount: 1, maxReceiveCount: 5, leaseMs: 70_000 };
const chunk = (chunkId: string, openids: string[]): ChunkMessage => ({ broadcastId: B, chunkId, openids });
/** Sends whatever the resumer queued, as the sender would, and forgets it from the queue. */
async function sendQueued(quietHours?: ReturnType<typeof parseQuietHours>) {
  const queued = queue.chunks.splice(0);
  for (const c of queued) await sendChunk(c, sendDeps(quietHours), opts);
  return queued.length;
}

beforeEach(() => {
  broadcasts = new MemoryBroadcastStore();
  parking = new MemoryParkStore(broadcasts);
  deliveries = new MemoryDeliveryStore();
  queue = new RecordingQueues();
  clock = new FakeClock(Date.parse("2026-12-01T02:00:00Z"));
  events = [];
  broadcasts.items.set(B, newBroadcast(B, { total: 6, fanoutDone: true, fanoutPage: 1 }));
});

describe("a quota pause", () => {
  it("counts what was delivered, makes no call while paused, and after the quota is back reaches the rest once", async () => {
    wechat = new QuotaWeChat(2);
    const first = await sendChunk(chunk("0-0", ["o1", "o2", "o3"]), sendDeps(), opts);
    expect(first).toMatchObject({ kind: "parked", hold: { kind: "quota", hit: true }, parked: 1 });
    const second = await sendChunk(chunk("0-1", ["o4", "o5", "o6"]), sendDeps(), opts);
    expect(second).toMatchObject({ kind: "parked", hold: { kind: "quota", hit: false }, parked: 3 });

    const paused = broadcastProgress((await broadcasts.get(B)) ?? newBroadcast(B));
    // Exact totals while paused: the two delivered are counted, the four others pending.
    expect(paused).toMatchObject({ status: "paused", total: 6, sent: 2, pending: 4 });
    const callsAtPause = wechat.sendCalls;

    // Still no quota: the resumer asks once, sends nothing back, and waits for the check interval.
    expect(await run()).toMatchObject({ parked: 1, held: 1, resumed: 0, quotaCalls: 1 });
    clock.t += 60_000;
    expect(await run()).toMatchObject({ held: 1, quotaCalls: 0 });
    expect(queue.chunks).toHaveLength(0);
    expect(wechat.sendCalls).toBe(callsAtPause);

    // A paid post's pause is announced once, with a stable id.
    expect(events.map((e) => [e.event, e.sent, e.total, e.status])).toEqual([["paused", 2, 6, "paused"]]);
    const eventId = events[0]?.eventId;

    // The quota is back; the next check (the interval has passed) resumes and queues both parked chunks.
    wechat.remain = 100;
    clock.t += QUOTA_CHECK_MS;
    expect(await run()).toMatchObject({ resumed: 2, held: 0, quotaCalls: 1 });
    expect(await sendQueued()).toBe(2);
    const done = broadcastProgress((await broadcasts.get(B)) ?? newBroadcast(B));
    expect(done).toMatchObject({ status: "done", sent: 6, pending: 0 });
    expect([...wechat.delivered].sort()).toEqual(["o1", "o2", "o3", "o4", "o5", "o6"]);
    expect(parking.entries.size).toBe(0);
    expect(events.map((e) => e.eventId)).toEqual([eventId]);
  });

  it("a chunk whose calls wait for a slot makes none after the first 45009", async () => {
    wechat = new QuotaWeChat(0);
    const deps = { ...sendDeps(), inFlight: new InFlightLimit(1) };
    const result = await sendChunk(chunk("0-0", ["o1", "o2", "o3", "o4", "o5"]), deps, opts);
    expect(result).toMatchObject({ kind: "parked", parked: 5 });
    expect(wechat.sendCalls).toBe(1);
  });

  it("asks again right after 00:00 Beijing time, whatever the interval", async () => {
    wechat = new QuotaWeChat(0);
    clock.t = Date.parse("2026-12-01T15:50:00Z"); // 23:50 in Beijing
    await sendChunk(chunk("0-0", ["o1"]), sendDeps(), opts);
    expect(await run()).toMatchObject({ quotaCalls: 1, held: 1 });
    clock.t = Date.parse("2026-12-01T16:01:00Z"); // 00:01: a new quota day
    wechat.remain = 100;
    expect(await run()).toMatchObject({ quotaCalls: 1, resumed: 1 });
  });

  it("an operator's resume ends it at once; resuming what is not paused is a conflict", async () => {
    wechat = new QuotaWeChat(0);
    await expect(resumePaused(await broadcasts.get(B), "post's broadcast", parking)).rejects.toThrow(
      ConflictError,
    );
    await sendChunk(chunk("0-0", ["o1", "o2"]), sendDeps(), opts);
    await resumePaused(await broadcasts.get(B), "post's broadcast", parking);
    expect((await broadcasts.get(B))?.paused).toBe(false);
    wechat.remain = 100;
    // No quota check needed: the pause is over, the chunks go on.
    expect(await run()).toMatchObject({ resumed: 1, quotaCalls: 0 });
    await sendQueued();
    expect(wechat.delivered.sort()).toEqual(["o1", "o2"]);
    await expect(resumePaused(await broadcasts.get(B), "post's broadcast", parking)).rejects.toThrow(
      /not paused|done/,
    );
  });

  it("a park that fails before its write leaves the chunk to come back from the queue, nothing lost or doubled", async () => {
    wechat = new QuotaWeChat(1);
    parking.failNext = true;
    await expect(sendChunk(chunk("0-0", ["o1", "o2"]), sendDeps(), opts)).rejects.toThrow(/failed/);
    await broadcasts.releaseChunk(B, "0-0");
    // The redelivery finds o1's record and parks o2 only.
    const again = await sendChunk(chunk("0-0", ["o1", "o2"]), sendDeps(), { ...opts, receiveCount: 2 });
    expect(again).toMatchObject({ kind: "parked", parked: 1 });
    expect(parking.chunksOf(B).map((c) => c.openids)).toEqual([["o2"]]);
    expect((await broadcasts.get(B))?.sent).toBe(1);
    expect(wechat.delivered).toEqual(["o1"]);
  });
});

describe("quiet hours", () => {
  const quiet = parseQuietHours("09:00-10:30", "Asia/Shanghai");
  const inside = Date.parse("2026-12-01T01:30:00Z"); // 09:30 Beijing
  const end = Date.parse("2026-12-01T02:30:00Z"); // 10:30 Beijing

  it("sends nothing inside the window, shows deferred with resumesAt, and everyone once after it", async () => {
    wechat = new QuotaWeChat(100);
    clock.t = inside;
    const result = await sendChunk(chunk("0-0", ["o1", "o2", "o3"]), sendDeps(quiet), opts);
    expect(result).toMatchObject({ kind: "parked", hold: { kind: "quiet", until: end }, parked: 3 });
    expect(wechat.sendCalls).toBe(0);
    const deferred = broadcastProgress((await broadcasts.get(B)) ?? newBroadcast(B));
    expect(deferred).toMatchObject({ status: "deferred", resumesAt: "2026-12-01T02:30:00.000Z", pending: 6 });

    clock.t = end - 60_000;
    expect(await run(quiet)).toMatchObject({ held: 1, resumed: 0, quotaCalls: 0 });
    expect(events.map((e) => [e.event, e.eventId])).toEqual([["deferred", `${B}.deferred.${end}`]]);

    clock.t = end;
    expect(await run(quiet)).toMatchObject({ resumed: 1 });
    await sendQueued(quiet);
    expect(wechat.delivered.sort()).toEqual(["o1", "o2", "o3"]);
    expect(broadcastProgress((await broadcasts.get(B)) ?? newBroadcast(B))).toMatchObject({
      status: "sending",
      sent: 3,
    });
    // Announced once per deferral.
    expect(events).toHaveLength(1);
  });

  it("an urgent push task ignores them, and a task's deferral is no broadcast event", async () => {
    wechat = new QuotaWeChat(100);
    clock.t = inside;
    const task = { taskId: "t1", audience: "uploaded" as const, message: { channel: "template" as const } };
    broadcasts.items.set(
      "task-t1",
      newBroadcast("task-t1", { outTradeNo: undefined, total: 1, fanoutDone: true, task: task as never }),
    );
    broadcasts.items.set(
      "task-t2",
      newBroadcast("task-t2", {
        outTradeNo: undefined,
        total: 1,
        fanoutDone: true,
        task: { ...task, taskId: "t2", ignoreQuietHours: true } as never,
      }),
    );
    const held = await sendChunk(
      { broadcastId: "task-t1", chunkId: "0-0", openids: ["o1"] },
      sendDeps(quiet),
      opts,
    );
    expect(held).toMatchObject({ kind: "parked", hold: { kind: "quiet" } });
    const urgent = await broadcasts.get("task-t2");
    expect(urgent && holdOf(urgent, clock.now(), quiet)).toBeUndefined();
    await run(quiet);
    expect(events).toEqual([]);
    expect(
      await resumePaused(await broadcasts.get("task-t1"), "task", parking).catch((e) => e),
    ).toBeInstanceOf(ConflictError);
  });
});
