/**
 * Quiet hours on the whole local stack, with a real window that ends about a minute after the stack
 * starts (QUIET_HOURS in Beijing time): a paid post paid inside it sends nothing and shows
 * `deferred` with `resumesAt`; after it everyone gets the message exactly once and it is `done`.
 * An urgent push task (`ignoreQuietHours`) is sent inside the window all the same.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PostView } from "../../functions/contracts/api.ts";
import { openids, startTestApp, type TestApp } from "./harness.ts";
import { TaskApi } from "./task-api.ts";

const MINUTE = 60_000;
/** Beijing time's HH:MM of an instant (no daylight saving: a fixed +8 h). */
const beijing = (at: number) => new Date(at + 8 * 3_600_000).toISOString().slice(11, 16);

let t: TestApp;
let api: TaskApi;
const audience = openids("Quiet", 150);
const urgent = openids("Urgent", 3);
/** What the tests need of the window once the stack is up: time to pay a post and see it deferred. */
const WINDOW_LEFT_MS = 30_000;
let windowEnd = 0;

beforeAll(async () => {
  // The window began ten minutes ago and ends at the first whole minute at least 60 s from now. A
  // stack slow to start may find it nearly over: it starts again with a later window, rather than
  // the tests depending on how fast it starts.
  for (let start = 1; ; start += 1) {
    windowEnd = Math.ceil((Date.now() + MINUTE) / MINUTE) * MINUTE;
    t = await startTestApp({
      scheduleEveryMs: 1000,
      overrides: {
        QUIET_HOURS: `${beijing(windowEnd - 10 * MINUTE)}-${beijing(windowEnd)}`,
        WECHAT_MINIPROGRAM_APP_ID: "wxMINIAPP0000001",
      },
    });
    t.sim.addTemplates({ official: ["TPL_TASK"] });
    await t.seed([...audience, ...urgent].map((openid) => ({ openid })));
    if (Date.now() < windowEnd - WINDOW_LEFT_MS) break;
    await t.stop();
    if (start === 3) throw new Error("the stack never came up with 30 s of a quiet window left");
  }
  api = new TaskApi(t.app.baseUrl, t.app.adminToken);
}, 4 * MINUTE);
afterAll(async () => {
  await t?.stop();
});

describe("quiet hours", () => {
  it("sends an urgent push task inside the window all the same", async () => {
    const taskId = await api.create({ ignoreQuietHours: true });
    expect((await api.upload(taskId, urgent)).status).toBe(200);
    expect((await api.send(taskId)).status).toBe(202);
    const done = await api.waitDone(taskId);
    expect(done).toMatchObject({ total: 3, sent: 3, ignoreQuietHours: true });
    // Every send of the urgent task came inside the window.
    const members = new Set(urgent);
    const sends = [...t.sim.deliveries()].filter((d) => members.has(d.openid));
    expect(sends.map((d) => d.at < windowEnd)).toEqual(urgent.map(() => true));
  });

  it(
    "defers a paid post until the window ends, then reaches everyone exactly once",
    async () => {
      const before = t.received();
      await t.client.notify(await t.postAndNotify("QUIET00001"));
      const seen: PostView["status"][] = [];
      let deferred: PostView | undefined;
      while (Date.now() < windowEnd - 2_000) {
        const post = await t.client.getPost("QUIET00001");
        seen.push(post.status);
        if (post.status === "deferred") deferred = post;
        if (deferred && post.total === audience.length + urgent.length) break;
        await sleep(200);
      }
      expect(deferred, `statuses seen: ${seen.join(",")}`).toBeDefined();
      expect(deferred?.resumesAt).toBe(new Date(windowEnd).toISOString());
      // Nothing is sent inside the window; the broadcast's recipients are all pending and visible.
      expect(await t.client.getPost("QUIET00001")).toMatchObject({
        status: "deferred",
        sent: 0,
        pending: 153,
      });
      const whileQuiet = t.received();
      for (const id of audience)
        expect((whileQuiet.get(id)?.template ?? 0) - (before.get(id)?.template ?? 0)).toBe(0);

      const done = await t.client.waitForBroadcast("QUIET00001", { timeoutMs: 3 * MINUTE });
      expect(done).toMatchObject({ status: "done", total: 153, sent: 153, pending: 0 });
      expect(done.resumesAt).toBeUndefined();
      const after = t.received();
      for (const id of [...audience, ...urgent])
        expect((after.get(id)?.template ?? 0) - (before.get(id)?.template ?? 0), id).toBe(1);
      // Every send of the broadcast came after the window's end.
      const members = new Set(audience);
      const sends = [...t.sim.deliveries()].filter((d) => members.has(d.openid));
      expect(sends.map((d) => d.at >= windowEnd)).toEqual(audience.map(() => true));
    },
    4 * MINUTE,
  );
});
