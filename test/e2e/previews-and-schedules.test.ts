import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { templatesAnswer } from "../../functions/contracts/api.ts";
import { OPTED_OUT } from "../../functions/core/push-task.ts";
import { openids, startTestApp, type TestApp } from "./harness.ts";
import { TaskApi } from "./task-api.ts";

let t: TestApp;
let api: TaskApi;

beforeAll(async () => {
  // The scheduler (and every schedule) fires each second here instead of each minute.
  t = await startTestApp({ scheduleEveryMs: 1000 });
  t.sim.addTemplates({ official: ["TPL_TASK"] });
  api = new TaskApi(t.app.baseUrl, t.app.adminToken);
});
afterAll(async () => {
  await t?.stop();
});

const templateSends = () => t.sim.stats().calls.template_send;
const seen = (openid: string) => t.sim.ledger(openid).filter((d) => d.templateId === "TPL_TASK");
/** An ISO time with the +08:00 offset an operator in China writes. */
const shanghai = (ms: number) => `${new Date(ms + 8 * 3600_000).toISOString().slice(0, 19)}+08:00`;

async function draftFor(recipients: readonly string[]): Promise<string> {
  await t.seed(recipients.map((openid) => ({ openid })));
  const taskId = await api.create();
  expect((await api.upload(taskId, recipients)).status).toBe(200);
  return taskId;
}

describe("a preview", () => {
  it("reaches only the test openids, leaves the task a draft and counts in no total", async () => {
    const listed = openids("PvList", 5);
    const testers = openids("PvTest", 2);
    await t.seed(testers.map((openid) => ({ openid })));
    const taskId = await draftFor(listed);

    const preview = await api.preview(taskId, testers);
    expect(preview).toMatchObject({
      status: 200,
      body: { results: testers.map((openid) => ({ openid, errcode: 0, errmsg: "ok" })) },
    });
    for (const id of testers) expect(seen(id), id).toHaveLength(1);
    for (const id of listed) expect(seen(id), id).toHaveLength(0);
    expect(await api.get(taskId)).toMatchObject({ status: "draft", sent: 0, total: 5, pending: 5 });

    // The real send reaches a tester who is also listed: its client_msg_id is not the preview's.
    const both = await draftFor([...listed, testers[0] as string]);
    await api.preview(both, [testers[0] as string]);
    expect((await api.send(both)).status).toBe(202);
    await api.waitDone(both);
    const got = seen(testers[0] as string);
    expect(got).toHaveLength(3);
    const ids = got.map((d) => (d.body as { client_msg_id?: string } | undefined)?.client_msg_id);
    expect(new Set(ids).size).toBe(3);
  }, 60_000);

  it("sends a post's message before it is paid, which stays unpaid", async () => {
    const testers = openids("PvPost", 1);
    await t.seed(testers.map((openid) => ({ openid })));
    const before = templateSends();
    await t.client.registerPost({ outTradeNo: "PREVIEW0001", amount: 500, content: "求购：旧钢材" });
    const preview = await api.preview("PREVIEW0001", testers, "posts");
    expect(preview.body.results).toEqual([{ openid: testers[0], errcode: 0, errmsg: "ok" }]);
    expect(templateSends()).toBe(before + 1);
    const delivered = t.sim.ledger(testers[0] as string).at(-1);
    expect(JSON.stringify(delivered?.body)).toContain("求购：旧钢材");
    expect(await t.client.getPost("PREVIEW0001")).toMatchObject({
      payment: "PENDING",
      status: "awaiting_payment",
      sent: 0,
    });
    expect((await api.preview("NOSUCHPOST1", testers, "posts")).status).toBe(404);
  });

  it("keeps a user's own 0 and says why; refuses bad lists with 400 and sends nothing", async () => {
    const [out, fine] = openids("PvOut", 2) as [string, string];
    await t.seed([{ openid: out }, { openid: fine }]);
    await t.client.importSubscribers([{ openid: out, optedIn: false }]);
    const taskId = await api.create();
    const before = templateSends();
    const preview = await api.preview(taskId, [out, fine]);
    expect(preview.body.results).toEqual([
      { openid: out, errcode: null, errmsg: OPTED_OUT },
      { openid: fine, errcode: 0, errmsg: "ok" },
    ]);
    expect(templateSends()).toBe(before + 1);

    const refused = async (list: unknown, pattern: RegExp) => {
      const answer = await api.call("POST", `/api/tasks/${taskId}/preview`, { openids: list });
      expect(answer.status).toBe(400);
      expect(String(answer.body.error)).toMatch(pattern);
    };
    await refused([], /1–10 openids/);
    await refused(openids("PvMany", 11), /1–10 openids/);
    await refused(["bad id!"], /openid/);
    await refused([fine, fine], /repeat/);
    expect((await api.preview("nosuchtask", [fine])).status).toBe(404);
    expect(templateSends()).toBe(before + 1);
  });
});

describe("a scheduled send", () => {
  it("sends nothing before its time and everything after it, then is a sent task", async () => {
    const listed = openids("Sched", 6);
    const taskId = await draftFor(listed);
    const at = Date.now() + 5_000;
    const answer = await api.schedule(taskId, shanghai(at));
    expect(answer).toMatchObject({
      status: 202,
      body: { taskId, status: "scheduled", sendAt: new Date(Math.floor(at / 1000) * 1000).toISOString() },
    });
    expect(await api.get(taskId)).toMatchObject({ status: "scheduled", pending: 6, sentAt: null });
    // A second schedule and a send now are conflicts; the upload is refused while it waits.
    expect((await api.schedule(taskId, shanghai(at + 60_000))).status).toBe(409);
    expect((await api.send(taskId)).body.error).toMatch(/scheduled for/);
    expect((await api.upload(taskId, openids("SchedLate", 1))).status).toBe(409);

    while (Date.now() < at - 500) {
      for (const id of listed) expect(seen(id), id).toHaveLength(0);
      await sleep(250);
    }
    const done = await api.waitDone(taskId, 30_000);
    expect(done).toMatchObject({ sent: 6, total: 6, sendAt: expect.any(String) });
    expect(Date.parse(done.sentAt ?? "")).toBeGreaterThanOrEqual(Math.floor(at / 1000) * 1000);
    for (const id of listed) expect(seen(id), id).toHaveLength(1);
  }, 60_000);

  it("cancelled, it is a draft again and sends nothing at its time", async () => {
    const listed = openids("Cancel", 3);
    const taskId = await draftFor(listed);
    const at = Date.now() + 3_000;
    expect((await api.schedule(taskId, shanghai(at))).status).toBe(202);
    expect(await api.cancel(taskId)).toMatchObject({ status: 200, body: { taskId, status: "draft" } });
    expect(await api.get(taskId)).toMatchObject({ status: "draft", sendAt: null });
    expect((await api.cancel(taskId)).body.error).toMatch(/not scheduled/);
    await sleep(at + 3_000 - Date.now());
    for (const id of listed) expect(seen(id), id).toHaveLength(0);
    expect((await api.get(taskId)).status).toBe("draft");
  }, 30_000);

  it("refuses a time in the past, over 30 days ahead or without an offset, and a list-less task", async () => {
    const taskId = await draftFor(openids("SchedBad", 1));
    const refused = async (at: unknown, status: number, pattern: RegExp) => {
      const answer = await api.call("POST", `/api/tasks/${taskId}/send`, { at });
      expect(answer.status).toBe(status);
      expect(String(answer.body.error)).toMatch(pattern);
    };
    await refused(shanghai(Date.now() - 60_000), 400, /has passed/);
    await refused(shanghai(Date.now() + 31 * 24 * 3600_000), 400, /30 days/);
    await refused("2026-12-02T09:00:00", 400, /offset/);
    await refused(42, 400, /^at:/);
    expect(
      (await api.call("POST", `/api/tasks/${taskId}/send`, { at: shanghai(Date.now() + 60_000), x: 1 }))
        .status,
    ).toBe(400);
    const empty = await api.create();
    const noList = await api.schedule(empty, shanghai(Date.now() + 60_000));
    expect(noList.status).toBe(400);
    expect(noList.body.error).toMatch(/no recipients/);
    expect((await api.get(taskId)).status).toBe("draft");
    expect((await api.get(empty)).status).toBe("draft");
  });
});

describe("the account's templates", () => {
  it("lists what WeChat lists, for the console's template field", async () => {
    const answer = await api.call("GET", "/api/templates");
    expect(answer.status).toBe(200);
    const ids = templatesAnswer.parse(answer.body).templates.map((tpl) => tpl.templateId);
    expect(ids).toEqual(expect.arrayContaining([t.app.env.WECHAT_TEMPLATE_ID, "TPL_TASK"]));
    expect(templatesAnswer.parse(answer.body).templates[0]?.keys).toEqual(["thing1", "time2"]);
  });
});
