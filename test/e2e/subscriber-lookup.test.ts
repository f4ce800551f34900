import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SubscriberView } from "../../functions/contracts/api.ts";
import { startTestApp, type TestApp } from "./harness.ts";
import { appCallback, namedOpenids } from "./setup.ts";
import { type Answer, TaskApi } from "./task-api.ts";

/**
 * `GET /api/subscribers/{openid}` against what really happened on the whole local stack: users who
 * wrote to the account, replied 0, were opted out and back in by an operator, unfollowed; a paid
 * post to everyone and a push task to some; subscribe credits the mini program reported.
 */

let t: TestApp;
let api: TaskApi;
const [talker, quitter, operatorOut, gone, member, bystander] = namedOpenids("Look", 6);
const MEMBERSHIP_END = "2027-06-30T16:00:00.000Z";
let quitAt: { from: number; to: number };
let operatorBackAt: number;
let taskId: string;

const lookUp = (openid: string) =>
  api.call<SubscriberView & { error?: string }>("GET", `/api/subscribers/${openid}`);

beforeAll(async () => {
  t = await startTestApp();
  api = new TaskApi(t.app.baseUrl, t.app.adminToken);
  t.sim.setCallback(appCallback(t));
  t.sim.addTemplates({ official: ["TPL_TASK"] });
  await t.seed([
    { openid: talker },
    { openid: quitter },
    { openid: operatorOut },
    { openid: gone },
    { openid: member, membershipExpiresAt: MEMBERSHIP_END },
    { openid: bystander },
  ]);
  // The talker opens a customer-service window; the quitter replies 0 (their own choice).
  expect((await t.sim.userSends(talker, "你好")).status).toBe(200);
  const before = Date.now();
  expect((await t.sim.userSends(quitter, "0")).status).toBe(200);
  quitAt = { from: before, to: Date.now() };
  // An operator opts one out, then back in: their own opt-out they may undo.
  await t.client.importSubscribers([{ openid: operatorOut, optedIn: false }]);
  await new Promise((r) => setTimeout(r, 20));
  operatorBackAt = Date.now();
  await t.client.importSubscribers([{ openid: operatorOut, optedIn: true }]);
  // WeChat no longer delivers to this one: 43004, and Fanout marks them unfollowed.
  t.sim.setFollowed(gone, false);
  await api.call("POST", "/api/subscriptions", { openid: talker, templateId: "SUB_LOOK", count: 2 });
  await api.call("POST", "/api/subscriptions", { openid: talker, templateId: "SUB_OTHER" });

  expect((await t.client.notify(await t.postAndNotify("LOOK000001"))).status).toBe(204);
  await t.client.waitForBroadcast("LOOK000001");
  taskId = await api.create();
  await api.upload(taskId, [talker, gone, member]);
  expect((await api.send(taskId)).status).toBe(202);
  await api.waitDone(taskId);
}, 120_000);
afterAll(async () => {
  await t?.stop();
});

describe("looking up a subscriber", () => {
  it("shows a talker's open window, credits and both deliveries, newest first", async () => {
    const { status, body } = await lookUp(talker);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      openid: talker,
      optedIn: true,
      optedInBy: null,
      followed: true,
      membershipExpiresAt: null,
      inAudience: true,
      // Five messages, one used by the paid post (customer-service); the task went as a template.
      window: { remaining: 4, open: true },
    });
    const until = Date.parse(body.window?.until ?? "");
    expect(until - Date.now()).toBeGreaterThan(47 * 3_600_000);
    expect(body.credits.map((c) => [c.templateId, c.credits]).sort()).toEqual([
      ["SUB_LOOK", 2],
      ["SUB_OTHER", 1],
    ]);
    expect(body.recentDeliveries.items).toMatchObject([
      { kind: "task", id: taskId, title: "秋季上新", status: "sent", channel: "template", errcode: 0 },
      { kind: "post", id: "LOOK000001", broadcastId: "post-LOOK000001", status: "sent", channel: "custom" },
    ]);
    expect(body.recentDeliveries).toMatchObject({ complete: true, searchedBroadcasts: 2 });
    expect(body.recentDeliveries.stoppedBy).toMatch(/^(end|retention)$/);
    // The records say what WeChat saw.
    expect(t.sim.ledger(talker).map((d) => d.channel)).toEqual(["custom", "template"]);
  });

  it("shows a user's own 0, since when, and that no broadcast reached them", async () => {
    const { body } = await lookUp(quitter);
    expect(body).toMatchObject({ optedIn: false, optedInBy: "user", inAudience: false });
    const since = Date.parse(body.optedInSince ?? "");
    // WeChat stamps a message to the second.
    expect(since).toBeGreaterThanOrEqual(Math.floor(quitAt.from / 1000) * 1000);
    expect(since).toBeLessThanOrEqual(quitAt.to);
    expect(body.recentDeliveries.items).toEqual([]);
    expect(body.recentDeliveries.complete).toBe(true);
    expect(t.sim.ledger(quitter)).toEqual([]);
  });

  it("shows an operator's opt-in over their own opt-out, since it was made", async () => {
    const { body } = await lookUp(operatorOut);
    expect(body).toMatchObject({ optedIn: true, optedInBy: "operator", inAudience: true });
    expect(Date.parse(body.optedInSince ?? "")).toBeGreaterThanOrEqual(operatorBackAt);
    expect(body.recentDeliveries.items).toMatchObject([{ kind: "post", id: "LOOK000001", status: "sent" }]);
  });

  it("shows an unfollowed user's failures with their errcode, and the membership's end", async () => {
    const gonePerson = (await lookUp(gone)).body;
    // The post's 43004 suppressed them: the task after it skipped them without calling WeChat.
    expect(gonePerson).toMatchObject({
      followed: false,
      inAudience: false,
      suppressed: { reason: "43004", since: expect.any(String) },
    });
    expect(gonePerson.recentDeliveries.items).toMatchObject([
      { kind: "task", status: "skipped", errmsg: "suppressed: 43004" },
      {
        kind: "post",
        status: "failed",
        errcode: 43004,
        errmsg: expect.stringContaining("require subscribe"),
      },
    ]);
    const withMembership = (await lookUp(member)).body;
    expect(withMembership).toMatchObject({ membershipExpiresAt: MEMBERSHIP_END, membershipActive: true });
    expect(withMembership.recentDeliveries.items.map((d) => d.kind)).toEqual(["task", "post"]);
  });

  it("answers 404 for an openid Fanout never saw, 400 for one that is no openid", async () => {
    const unknown = await lookUp("oNeverSeen0000000000000000001");
    expect(unknown).toEqual({ status: 404, body: { error: "no subscriber with this openid" } });
    for (const bad of ["abc", "has.dots.in.it", "%E4%BD%A0%E5%A5%BD%E4%BD%A0%E5%A5%BD"]) {
      const answer: Answer<{ error?: string }> = await api.call("GET", `/api/subscribers/${bad}`);
      expect(answer.status, bad).toBe(400);
      expect(answer.body.error, bad).toMatch(/^openid: must be a WeChat openid/);
    }
    // The subscriber sync's own route is not taken for an openid.
    const sync = await api.call<{ error?: string }>("GET", "/api/subscribers/sync");
    expect(sync.body.error ?? "").not.toMatch(/^openid:/);
    // Operators only: the business app's token may not look people up.
    const app = await fetch(`${t.app.baseUrl}/api/subscribers/${talker}`, {
      headers: { authorization: `Bearer ${t.app.appToken}` },
    });
    expect(app.status).toBe(403);
  });
});
