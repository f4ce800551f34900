import { describe, expect, it } from "vitest";
import type { SyncMessage } from "../../functions/contracts/messages.ts";
import { TokenUnavailableError } from "../../functions/core/access-token.ts";
import { ConflictError } from "../../functions/core/errors.ts";
import { readPage } from "../../functions/core/follower-sync.ts";
import {
  HANDOVER_MS,
  MAX_WAITS,
  type RunSyncDeps,
  runSync,
  type StartSyncDeps,
  startSync,
  syncProgress,
} from "../../functions/core/follower-syncs.ts";
import { WeChatTransportError } from "../../functions/core/ports.ts";
import { FakeClock } from "./fakes.ts";
import {
  MemoryFollowerImporter,
  MemorySyncQueue,
  MemorySyncStore,
  RotatingTokens,
  ScriptedFollowerList,
} from "./sync-fakes.ts";

const followers = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => `oFollower${String(from + i).padStart(4, "0")}`);

function setup(list = followers(10)) {
  const clock = new FakeClock();
  const syncs = new MemorySyncStore();
  const queue = new MemorySyncQueue();
  const wechat = new ScriptedFollowerList(list);
  const importer = new MemoryFollowerImporter();
  const tokens = new RotatingTokens();
  let ids = 0;
  let leases = 0;
  const newLease = () => `lease-${++leases}`;
  const start: StartSyncDeps = { syncs, queue, clock, newSyncId: () => `sync${++ids}`, newLease };
  const run: RunSyncDeps = { syncs, queue, followers: wechat, importer, tokens, clock, newLease };
  /** One invocation with `ms` to live; the page budget is what is left of it. */
  const invoke = (message: SyncMessage, ms = 60_000) =>
    runSync(message, run, { leaseUntil: clock.now() + ms + 2_000, finishBy: clock.now() + ms });
  /** Runs the queue's messages until none is left, as the event source would. */
  const drain = async () => {
    for (let n = 0; queue.sent.length > 0; n += 1) {
      if (n > 50) throw new Error("the sync never ended");
      const { message, delaySeconds } = queue.sent.shift() as (typeof queue.sent)[number];
      clock.t += delaySeconds * 1000;
      await invoke(message);
    }
  };
  const view = async (syncId: string) => {
    const sync = await syncs.get(syncId);
    if (!sync) throw new Error(`no sync ${syncId}`);
    return syncProgress(sync, clock.now());
  };
  return { clock, syncs, queue, wechat, importer, tokens, start, run, invoke, drain, view };
}

describe("reading a follower-list page", () => {
  it("ends at an empty next_openid, and also at a page without data or with count 0", () => {
    expect(
      readPage({ errcode: 0, errmsg: "", openids: ["oA1", "oA2"], count: 2, nextOpenid: "oA2" }),
    ).toEqual({ kind: "page", openids: ["oA1", "oA2"], next: "oA2" });
    expect(readPage({ errcode: 0, errmsg: "", openids: ["oA1"], count: 1, nextOpenid: "" })).toEqual({
      kind: "page",
      openids: ["oA1"],
      next: null,
    });
    // WeChat's last-page quirk: a next_openid, then a call that answers with nobody.
    expect(readPage({ errcode: 0, errmsg: "", count: 0, nextOpenid: "oA2" })).toEqual({ kind: "end" });
    expect(readPage({ errcode: 0, errmsg: "", nextOpenid: "" })).toEqual({ kind: "end" });
    expect(readPage({ errcode: 0, errmsg: "", openids: [], count: 0, nextOpenid: "" })).toEqual({
      kind: "end",
    });
    expect(readPage({ errcode: 45009, errmsg: "quota", nextOpenid: "" })).toEqual({
      kind: "error",
      errcode: 45009,
      errmsg: "quota",
    });
  });
});

describe("a follower sync", () => {
  it("imports every follower across pages, one page at a time, and a second sync adds nothing", async () => {
    const s = setup(followers(10));
    s.importer.subscribers.set("oFollower0004", { followed: true, optedIn: true });
    const { syncId } = await startSync(s.start);
    await s.drain();
    expect(await s.view(syncId)).toEqual({ status: "done", pages: 4, imported: 9, alreadyKnown: 1 });
    // Pages of 3, 3, 3, 1, then the call after the last page's next_openid.
    expect(s.wechat.calls.map((c) => c.next)).toEqual([
      "",
      "oFollower0002",
      "oFollower0005",
      "oFollower0008",
      "oFollower0009",
    ]);
    for (const openid of followers(10)) expect(s.importer.subscribers.get(openid)?.followed).toBe(true);

    const second = await startSync(s.start);
    expect(second.syncId).not.toBe(syncId);
    await s.drain();
    expect(await s.view(second.syncId)).toEqual({ status: "done", pages: 4, imported: 0, alreadyKnown: 10 });
  });

  it("keeps a stored opt-out, and lets a new follower start opted in", async () => {
    const s = setup(followers(4));
    s.importer.subscribers.set("oFollower0001", { optedIn: false });
    s.importer.subscribers.set("oFollower0002", { followed: false, optedIn: false, unfollowedAt: 1 });
    await startSync(s.start);
    await s.drain();
    expect(s.importer.subscribers.get("oFollower0001")).toMatchObject({ followed: true, optedIn: false });
    expect(s.importer.subscribers.get("oFollower0002")).toMatchObject({ followed: true, optedIn: false });
    expect(s.importer.subscribers.get("oFollower0003")).toMatchObject({ followed: true, optedIn: true });
  });

  it("counts exactly when a run dies after writing a page and the message comes back", async () => {
    const s = setup(followers(7));
    s.importer.subscribers.set("oFollower0004", { followed: true, optedIn: true });
    const { syncId } = await startSync(s.start);
    const first = s.queue.take();
    // Page 1 recorded, page 2's subscribers written, then the container dies before the record.
    s.wechat.pageSize = 3;
    const original = s.run.importer.importFollowers.bind(s.run.importer);
    let pagesWritten = 0;
    s.run.importer.importFollowers = async (...args) => {
      const counts = await original(...args);
      pagesWritten += 1;
      if (pagesWritten === 2) s.syncs.crashOnRecord = true;
      return counts;
    };
    await expect(s.invoke(first, 5_000)).rejects.toThrow(/died/);
    expect(await s.view(syncId)).toMatchObject({ pages: 1, imported: 3, alreadyKnown: 0 });
    expect(s.importer.subscribers.get("oFollower0003")?.createdBySync).toBe(syncId);

    // A redelivery before the run's lease ran out finds it held, and does nothing.
    expect(await s.invoke(first)).toEqual({ kind: "dropped" });
    // After it (SQS's visibility timeout is six times the function's), it takes over at page 2.
    s.clock.t += 60_000;
    expect(await s.view(syncId)).toMatchObject({
      status: "paused",
      error: expect.stringMatching(/^interrupted/),
    });
    await s.invoke(first);
    await s.drain();
    expect(await s.view(syncId)).toEqual({ status: "done", pages: 3, imported: 6, alreadyKnown: 1 });
    expect(pagesWritten).toBe(4);
  });

  it("drops a duplicate of its message, and a message whose lease was handed on", async () => {
    const s = setup(followers(9));
    await startSync(s.start);
    const message = s.queue.take();
    const real = s.wechat.followerPage.bind(s.wechat);
    s.wechat.followerPage = async (token, next) => {
      s.clock.t += 200;
      return real(token, next);
    };
    // A page takes 200 ms: with 100 ms left after the first, the run hands the sync on.
    const run = await s.invoke(message, 300);
    expect(run).toMatchObject({ kind: "continued", reason: "deadline", delaySeconds: 0, pages: 1 });
    const next = s.queue.sent[0]?.message;
    expect(next?.lease).not.toBe(message.lease);
    expect(await s.invoke(message)).toEqual({ kind: "dropped" });
    await s.drain();
    expect(await s.invoke(message)).toEqual({ kind: "dropped" });
    expect(s.wechat.calls).toHaveLength(4);
  });

  it("answers 409 while one runs; a stalled one is taken over, its old message then dropped", async () => {
    const s = setup(followers(6));
    const { syncId } = await startSync(s.start);
    const stale = s.queue.take();
    await expect(startSync(s.start)).rejects.toThrow(ConflictError);
    await expect(startSync(s.start)).rejects.toThrow(/running: one sync at a time/);
    // Its message was lost: once the lease has run out, starting again resumes the same sync.
    s.clock.t += HANDOVER_MS + 1;
    expect(await startSync(s.start)).toEqual({ syncId, resumed: true });
    expect(await s.invoke(stale)).toEqual({ kind: "dropped" });
    await s.drain();
    expect(await s.view(syncId)).toEqual({ status: "done", pages: 2, imported: 6, alreadyKnown: 0 });
  });

  it("pauses on 45009 with the reason, and the next start resumes it from its cursor", async () => {
    const s = setup(followers(9));
    const { syncId } = await startSync(s.start);
    const message = s.queue.take();
    // The first page is answered, the second call finds the day's quota used up.
    s.wechat.failures.push(null, 45009);
    expect(await s.invoke(message)).toMatchObject({ kind: "ended", status: "paused", pages: 1 });
    const paused = await s.view(syncId);
    expect(paused).toMatchObject({ status: "paused", pages: 1, imported: 3 });
    expect(paused.error).toMatch(/^45009: user\/get's daily quota is used up/);
    expect(paused.error).toContain("errmsg 45009");
    expect(paused.error).toContain("page 2");
    expect(s.queue.sent).toHaveLength(0);

    expect(await startSync(s.start)).toEqual({ syncId, resumed: true });
    await s.drain();
    expect(await s.view(syncId)).toEqual({ status: "done", pages: 3, imported: 9, alreadyKnown: 0 });
  });

  it("reports a refused token and goes on with the next one", async () => {
    const s = setup(followers(4));
    s.wechat.failures.push(40001);
    const { syncId } = await startSync(s.start);
    await s.drain();
    expect(s.tokens.rejected).toEqual(["token-1"]);
    expect(s.wechat.calls.map((c) => c.token)).toEqual(["token-1", "token-2", "token-2", "token-2"]);
    expect(await s.view(syncId)).toMatchObject({ status: "done", imported: 4 });
  });

  it("waits through the queue while no token can be had, and pauses after MAX_WAITS saying why", async () => {
    const s = setup(followers(4));
    s.run.tokens.get = async () => {
      throw new TokenUnavailableError("no usable access token: the stored one was refused by WeChat");
    };
    const { syncId } = await startSync(s.start);
    const delays: number[] = [];
    for (let i = 0; i <= MAX_WAITS; i += 1) {
      const { message, delaySeconds } = s.queue.sent.shift() as (typeof s.queue.sent)[number];
      delays.push(delaySeconds);
      s.clock.t += delaySeconds * 1000;
      await s.invoke(message);
    }
    expect(delays).toEqual([0, 5, 10, 20, 40, 80, 160, 320, 640]);
    expect(s.queue.sent).toHaveLength(0);
    expect(await s.view(syncId)).toMatchObject({
      status: "paused",
      error: "no usable access token: the stored one was refused by WeChat",
    });
  });

  it("retries transient failures with growing delays, and a page that works resets the count", async () => {
    const s = setup(followers(4));
    s.wechat.failures.push(-1, new WeChatTransportError("WeChat answered HTTP 502"));
    const { syncId } = await startSync(s.start);
    await s.invoke(s.queue.take());
    expect(s.queue.sent[0]).toMatchObject({ delaySeconds: 5, message: { waits: 1 } });
    await s.invoke(s.queue.take());
    expect(s.queue.sent[0]).toMatchObject({ delaySeconds: 10, message: { waits: 2 } });
    await s.drain();
    expect(await s.view(syncId)).toEqual({ status: "done", pages: 2, imported: 4, alreadyKnown: 0 });
  });

  it("fails on a permanent refusal with WeChat's words, and the next start is a new sync", async () => {
    const s = setup(followers(4));
    s.wechat.failures.push(48001);
    const first = await startSync(s.start);
    await s.drain();
    expect(await s.view(first.syncId)).toEqual({
      status: "failed",
      pages: 0,
      imported: 0,
      alreadyKnown: 0,
      error: "48001: errmsg 48001",
    });
    const second = await startSync(s.start);
    expect(second).toMatchObject({ resumed: false });
    await s.drain();
    expect(await s.view(second.syncId)).toMatchObject({ status: "done", imported: 4 });
  });

  it("finishes an account with no followers at the first call", async () => {
    const s = setup([]);
    const { syncId } = await startSync(s.start);
    await s.drain();
    expect(await s.view(syncId)).toEqual({ status: "done", pages: 0, imported: 0, alreadyKnown: 0 });
  });
});
