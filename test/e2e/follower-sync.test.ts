/**
 * Importing the account's followers from WeChat on the whole local stack: the admin routes, the
 * followerSync function on its queue, the simulator's user/get (small pages here), DynamoDB Local.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StartSyncAnswer, SyncView } from "../../functions/contracts/api.ts";
import { openids, startTestApp, type TestApp } from "./harness.ts";
import { appCallback, namedOpenids } from "./setup.ts";
import { TaskApi } from "./task-api.ts";

let t: TestApp;
let api: TaskApi;

const followers = namedOpenids("SyncA", 10);
const [, userOut, , , , operatorOut, , , known] = followers;
const [notFollowing] = namedOpenids("SyncGone", 1);

beforeAll(async () => {
  t = await startTestApp({
    // A run starts pages for 4 s of its 8; a crashed run's message comes back after 14 s, when its
    // lease (its end + 2 s) has run out.
    functionOverrides: {
      sender: { timeoutSeconds: 7 },
      fanout: { timeoutSeconds: 5 },
      followerSync: { timeoutSeconds: 8 },
    },
    queueOverrides: {
      send: { visibilityTimeoutSeconds: 8 },
      fanout: { visibilityTimeoutSeconds: 6 },
      sync: { visibilityTimeoutSeconds: 14 },
    },
  });
  api = new TaskApi(t.app.baseUrl, t.app.adminToken);
  t.sim.setCallback(appCallback(t));
  // WeChat's side: ten followers in follow order, and one who unfollowed.
  t.sim.addUsers(followers);
  t.sim.addUsers([notFollowing], { followed: false });
  t.sim.followers.configure({ pageSize: 4 });
  // Fanout's side before the sync: one the operator opted out, one who replied 0 themselves, one plain.
  await t.client.importSubscribers([
    { openid: operatorOut, optedIn: false },
    { openid: userOut },
    { openid: known },
  ]);
  expect((await t.sim.userSends(userOut, "0")).status).toBe(200);
  expect(await t.subscriber(userOut)).toMatchObject({ optedIn: false, optedInBy: "user" });
});
afterAll(async () => {
  await t?.stop();
});

async function start(): Promise<string> {
  const answer = await api.call<StartSyncAnswer>("POST", "/api/subscribers/sync");
  expect(answer.status, JSON.stringify(answer.body)).toBe(202);
  return answer.body.syncId;
}

async function view(syncId: string): Promise<SyncView> {
  const answer = await api.call<SyncView>("GET", `/api/subscribers/sync/${syncId}`);
  expect(answer.status).toBe(200);
  return answer.body;
}

/** Polls the sync until `until` holds for it. */
async function waitFor(syncId: string, until: (v: SyncView) => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await view(syncId);
    if (until(v)) return v;
    if (Date.now() > deadline) throw new Error(`sync ${syncId} still ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const ended = (v: SyncView) => v.status !== "running";

describe("importing the account's followers", () => {
  let first: string;

  it("imports every follower across pages, new ones opted in, keeping every earlier opt-out", async () => {
    const callsBefore = t.sim.stats().calls.user_get;
    first = await start();
    expect(await waitFor(first, ended)).toEqual({ status: "done", pages: 3, imported: 7, alreadyKnown: 3 });
    // Pages of 4, 4 and 2, then the call after the last page's next_openid (WeChat's quirk).
    expect(t.sim.stats().calls.user_get - callsBefore).toBe(4);
    for (const openid of followers)
      expect(await t.subscriber(openid), openid).toMatchObject({ followed: true });
    expect(await t.subscriber(userOut)).toMatchObject({ optedIn: false, optedInBy: "user" });
    expect(await t.subscriber(operatorOut)).toMatchObject({ optedIn: false, optedInBy: "operator" });
    expect(await t.subscriber(followers[0] as string)).toMatchObject({ optedIn: true, createdBySync: first });
    expect((await t.subscriber(known))?.createdBySync).toBeUndefined();
    expect(await t.subscriber(notFollowing)).toBeUndefined();
  });

  it("adds nothing the second time", async () => {
    const second = await start();
    expect(second).not.toBe(first);
    expect(await waitFor(second, ended)).toEqual({ status: "done", pages: 3, imported: 0, alreadyKnown: 10 });
    expect(await view(first)).toMatchObject({ status: "done", imported: 7 });
  });

  it("answers 409 while a sync runs, and lets only the operator start or read one", async () => {
    const held = t.sim.followers.hold();
    const syncId = await start();
    await held.reached;
    const again = await api.call<{ error: string }>("POST", "/api/subscribers/sync");
    expect(again.status).toBe(409);
    expect(again.body.error).toContain(`follower sync ${syncId} is running: one sync at a time`);
    expect(await view(syncId)).toEqual({ status: "running", pages: 0, imported: 0, alreadyKnown: 0 });
    const app = new TaskApi(t.app.baseUrl, t.app.appToken);
    expect(await app.call("POST", "/api/subscribers/sync")).toMatchObject({
      status: 403,
      body: { error: "this token may not import followers from WeChat" },
    });
    expect((await app.call("GET", `/api/subscribers/sync/${syncId}`)).status).toBe(403);
    expect((await api.call("GET", "/api/subscribers/sync/nosuchsync0")).status).toBe(404);
    expect((await api.call("GET", "/api/subscribers/sync/%23latest")).status).toBe(404);
    held.release();
    expect(await waitFor(syncId, ended)).toMatchObject({ status: "done", imported: 0, alreadyKnown: 10 });
  });

  it("pauses when user/get's daily quota runs out, says so, and the next start resumes it", async () => {
    const newcomers = openids("SyncB", 3);
    t.sim.addUsers(newcomers);
    // Two more calls today: pages 1 and 2 of 4; the third call gets 45009.
    t.sim.followers.configure({ dailyQuota: t.sim.followers.usedToday() + 2 });
    const syncId = await start();
    const paused = await waitFor(syncId, ended);
    expect(paused).toMatchObject({ status: "paused", pages: 2, imported: 0, alreadyKnown: 8 });
    expect(paused.error).toMatch(/^45009: user\/get's daily quota is used up/);
    expect(paused.error).toContain("reach max api daily quota limit");

    t.sim.followers.configure({ dailyQuota: 500 });
    expect(await start()).toBe(syncId);
    expect(await waitFor(syncId, ended)).toEqual({ status: "done", pages: 4, imported: 3, alreadyKnown: 10 });
    for (const openid of newcomers) expect(await t.subscriber(openid)).toMatchObject({ optedIn: true });
  });

  it("resumes after its function is killed mid-sync, counting every follower once", async () => {
    const newcomers = openids("SyncC", 300);
    t.sim.addUsers(newcomers);
    t.sim.followers.configure({ pageSize: 100 });
    const crashesBefore = t.app.stack.runner.stats().functions.followerSync?.crashes ?? 0;
    // Page 1 (13 known, 87 new) is imported and recorded; page 2's call is held, then answered,
    // and the function dies while it writes page 2's followers (or just after).
    const held = t.sim.followers.hold(1);
    const syncId = await start();
    await held.reached;
    expect(await view(syncId)).toMatchObject({ status: "running", pages: 1, imported: 87, alreadyKnown: 13 });
    held.release();
    const firstOfPage2 = newcomers[87] as string;
    const deadline = Date.now() + 30_000;
    while (!(await t.subscriber(firstOfPage2)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    expect(t.app.stack.runner.killBusy("followerSync")).toBe(1);

    expect(await waitFor(syncId, (v) => v.status === "done", 90_000)).toEqual({
      status: "done",
      pages: 4,
      imported: 300,
      alreadyKnown: 13,
    });
    expect(t.app.stack.runner.stats().functions.followerSync?.crashes).toBe(crashesBefore + 1);
    for (const openid of [newcomers[0], firstOfPage2, newcomers[299]] as string[])
      expect(await t.subscriber(openid)).toMatchObject({
        followed: true,
        optedIn: true,
        createdBySync: syncId,
      });
  });
});
