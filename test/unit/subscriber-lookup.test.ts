import { describe, expect, it } from "vitest";
import { mayContain } from "../../functions/core/member-filter.ts";
import type { DeliveryRecord, Post } from "../../functions/core/model.ts";
import type { PushTask } from "../../functions/core/push-task.ts";
import { sendChunk } from "../../functions/core/send-chunk.ts";
import {
  type RecentDeliveriesOptions,
  recentDeliveries,
  subscriberState,
} from "../../functions/core/subscriber-lookup.ts";
import { FakeClock, MemoryBroadcastStore, MemoryDeliveryStore, newBroadcast } from "./fakes.ts";
import { plainChunkDeps } from "./send-chunk-fixture.ts";

const NOW = Date.UTC(2026, 11, 1);
const DAY = 86_400_000;

describe("a subscriber's state", () => {
  it("tells whose choice an opt-out is, and since when", () => {
    const user = subscriberState(
      {
        openid: "oU",
        optedIn: false,
        optedInBy: "user",
        optedInChangedAt: NOW - DAY,
        createdAt: NOW - 9 * DAY,
      },
      NOW,
    );
    expect(user).toMatchObject({
      optedIn: false,
      optedInBy: "user",
      optedInSince: NOW - DAY,
      inAudience: false,
    });
    // A 0 stored before whose choice it was kept came from the user's own reply.
    expect(subscriberState({ openid: "oL", optedIn: false }, NOW)).toMatchObject({ optedInBy: "user" });
    // Never changed: opted in by default, since it was first stored.
    expect(subscriberState({ openid: "oN", optedIn: true, createdAt: NOW - 3 * DAY }, NOW)).toMatchObject({
      optedIn: true,
      optedInBy: null,
      optedInSince: NOW - 3 * DAY,
      followed: true,
      inAudience: true,
    });
  });

  it("leaves out of the audience who unfollowed or whose membership expired, and reads the window", () => {
    expect(
      subscriberState({ openid: "oG", followed: false, unfollowedAt: NOW - 5, followedAt: NOW - DAY }, NOW),
    ).toMatchObject({ followed: false, followedChangedAt: NOW - 5, inAudience: false });
    expect(subscriberState({ openid: "oM", membershipExpiresAt: NOW - 1 }, NOW)).toMatchObject({
      membershipActive: false,
      inAudience: false,
    });
    expect(
      subscriberState({ openid: "oW", windowUntil: NOW + 1000, windowRemaining: 4 }, NOW).window,
    ).toEqual({
      until: NOW + 1000,
      remaining: 4,
      open: true,
    });
    expect(
      subscriberState({ openid: "oW", windowUntil: NOW + 1000, windowRemaining: 0 }, NOW).window?.open,
    ).toBe(false);
    expect(
      subscriberState({ openid: "oW", windowUntil: NOW - 1, windowRemaining: 3 }, NOW).window?.open,
    ).toBe(false);
    expect(subscriberState({ openid: "oX" }, NOW).window).toBeNull();
  });
});

const post = (n: number, daysAgo: number, status: Post["status"] = "PAID"): Post => ({
  postId: `p${n}`,
  outTradeNo: `POST${String(n).padStart(6, "0")}`,
  amount: 100,
  content: `供应：第 ${n} 条信息，内容很长很长很长很长很长很长很长很长很长很长`,
  status,
  createdAt: NOW - daysAgo * DAY,
});
const task = (n: number, daysAgo: number, status: PushTask["status"] = "sending") =>
  ({ taskId: `t${n}`, name: `任务${n}`, status, createdAt: NOW - daysAgo * DAY }) as PushTask;

/** Newest-first pages of `items`, as the index gives them. */
function pages<T>(items: T[]) {
  const reads: (string | null)[] = [];
  const list = async (cursor: string | null, limit: number) => {
    reads.push(cursor);
    const from = cursor === null ? 0 : Number(cursor);
    const next = from + limit < items.length ? String(from + limit) : null;
    return { items: items.slice(from, from + limit), next };
  };
  return { list, reads };
}

function finder(has: Map<string, number>, unitsEach = 1) {
  const asked: string[] = [];
  return {
    asked,
    async find(broadcastId: string, openid: string) {
      asked.push(broadcastId);
      const at = has.get(broadcastId);
      const record: DeliveryRecord | undefined =
        at === undefined
          ? undefined
          : { broadcastId, openid, outcome: "sent", channel: "template", attempts: 1, at };
      return record ? { record, readUnits: unitsEach } : { readUnits: unitsEach };
    },
  };
}

const opts: RecentDeliveriesOptions = {
  limit: 20,
  readBudget: 1_000,
  concurrency: 3,
  retentionMs: 30 * DAY,
  stopAt: Number.POSITIVE_INFINITY,
};

describe("a subscriber's recent deliveries", () => {
  it("walks posts and tasks newest first, skipping unpaid posts and drafts, until the records' retention", async () => {
    const posts = pages([post(1, 1), post(2, 3, "PENDING"), post(3, 5), post(4, 40)]);
    const tasks = pages([task(1, 2), task(2, 4, "draft"), task(3, 31)]);
    const has = new Map([
      ["post-POST000001", NOW - DAY + 10],
      ["task-t1", NOW - 2 * DAY + 10],
      ["post-POST000003", NOW - 5 * DAY + 10],
    ]);
    const f = finder(has);
    const found = await recentDeliveries(
      "oUser1",
      { posts: posts.list, tasks: tasks.list, finder: f, clock: new FakeClock(NOW) },
      opts,
    );
    expect(f.asked).toEqual(["post-POST000001", "task-t1", "post-POST000003"]);
    expect(found.items.map((d) => [d.source.kind, d.source.id])).toEqual([
      ["post", "POST000001"],
      ["task", "t1"],
      ["post", "POST000003"],
    ]);
    expect(found.items[0]?.source.title).toHaveLength(30);
    expect(found).toMatchObject({
      searchedBroadcasts: 3,
      readUnits: 3,
      stoppedBy: "retention",
      complete: true,
    });
  });

  it("stops once it found enough, keeping the newest", async () => {
    const all = Array.from({ length: 50 }, (_, i) => post(i, i * 0.1));
    const has = new Map(all.map((p, i) => [`post-${p.outTradeNo}`, NOW - i * 1000]));
    const f = finder(has);
    const found = await recentDeliveries(
      "oUser1",
      { posts: pages(all).list, tasks: pages<PushTask>([]).list, finder: f, clock: new FakeClock(NOW) },
      { ...opts, limit: 5 },
    );
    expect(found.items.map((d) => d.source.id)).toEqual(all.slice(0, 5).map((p) => p.outTradeNo));
    // Three at a time: the second round found the fifth.
    expect(found).toMatchObject({ searchedBroadcasts: 6, stoppedBy: "found", complete: true });
  });

  it("says it was cut short when the read budget is spent before the retention", async () => {
    const all = Array.from({ length: 30 }, (_, i) => post(i, i * 0.1));
    const f = finder(new Map(), 40);
    const found = await recentDeliveries(
      "oNobody",
      { posts: pages(all).list, tasks: pages<PushTask>([]).list, finder: f, clock: new FakeClock(NOW) },
      { ...opts, readBudget: 200 },
    );
    expect(found).toMatchObject({
      items: [],
      searchedBroadcasts: 6,
      readUnits: 240,
      stoppedBy: "budget",
      complete: false,
    });
  });

  it("says it was cut short when time runs out, and complete when the lists end", async () => {
    const clock = new FakeClock(NOW);
    const slow = {
      async find() {
        await clock.sleep(1_000);
        return { readUnits: 1 };
      },
    };
    const all = Array.from({ length: 10 }, (_, i) => post(i, i * 0.1));
    const cut = await recentDeliveries(
      "oNobody",
      { posts: pages(all).list, tasks: pages<PushTask>([]).list, finder: slow, clock },
      { ...opts, concurrency: 1, stopAt: NOW + 2_500 },
    );
    expect(cut).toMatchObject({ searchedBroadcasts: 3, stoppedBy: "time", complete: false });
    const ended = await recentDeliveries(
      "oNobody",
      {
        posts: pages(all.slice(0, 2)).list,
        tasks: pages<PushTask>([]).list,
        finder: finder(new Map()),
        clock: new FakeClock(NOW),
      },
      opts,
    );
    expect(ended).toMatchObject({ searchedBroadcasts: 2, stoppedBy: "end", complete: true });
  });
});

describe("settling a chunk", () => {
  it("keeps the chunk's openid filter and its records' timeline in the settling write", async () => {
    const B = "post-T1";
    const broadcasts = new MemoryBroadcastStore();
    broadcasts.items.set(B, newBroadcast(B, { total: 2, fanoutDone: true, fanoutPage: 1, createdAt: NOW }));
    const clock = new FakeClock(NOW + 61_000);
    const ok = async () => ({ errcode: 0, errmsg: "ok" });
    await sendChunk(
      { broadcastId: B, chunkId: "0-0", openids: ["oA0001", "oB0001"] },
      plainChunkDeps(
        { broadcasts, deliveries: new MemoryDeliveryStore(), clock },
        { sendCustomText: ok, sendTemplate: ok },
      ),
      { receiveCount: 1, maxReceiveCount: 5, leaseMs: 60_000 },
    );
    const filter = broadcasts.members.get(`${B}/0-0`) as Uint8Array;
    expect(mayContain(filter, "oA0001") && mayContain(filter, "oB0001")).toBe(true);
    expect(broadcasts.items.get(B)?.timeline).toEqual({ [`${(NOW + 60_000) / 60_000}/1/s`]: 2 });
  });
});
