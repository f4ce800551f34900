import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NO_CREDIT } from "../../functions/core/push-task.ts";
import { openids, startTestApp, type TestApp } from "./harness.ts";
import { TaskApi, taskBody } from "./task-api.ts";

let t: TestApp;
let api: TaskApi;
const MINI_APP = "wxMINIAPP0000001";

beforeAll(async () => {
  t = await startTestApp({ overrides: { WECHAT_MINIPROGRAM_APP_ID: MINI_APP } });
  t.sim.addTemplates({ official: ["TPL_TASK"], subscribe: ["SUB_TASK"] });
  api = new TaskApi(t.app.baseUrl, t.app.adminToken);
});
afterAll(async () => {
  await t?.stop();
});

/**
 * Waits until the WeChat side has seen no send call for a while: after a task is done, anything a
 * repeated press or a stray message could still cause would show up here.
 */
async function quiet(ms = 2_000): Promise<void> {
  const sends = () => {
    const calls = t.sim.stats().calls;
    return calls.template_send + calls.subscribe_send + calls.custom_send;
  };
  let last = sends();
  let since = Date.now();
  while (Date.now() - since < ms) {
    await sleep(200);
    const now = sends();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
}

/** What the WeChat side delivered to `openid` for a template id. */
const seen = (openid: string, templateId: string) =>
  t.sim.ledger(openid).filter((d) => d.templateId === templateId);

describe("a push task to an uploaded list", () => {
  it("reaches every listed user exactly once, whatever the presses, with records matching WeChat", async () => {
    const listed = openids("Task", 150);
    const bystanders = openids("Other", 20);
    await t.seed([...listed, ...bystanders].map((openid) => ({ openid })));
    const taskId = await api.create();

    const first = await api.upload(taskId, listed.slice(0, 100));
    expect(first).toMatchObject({ status: 200, body: { added: 100, duplicates: 0, invalid: [] } });
    const second = await api.upload(taskId, [...listed.slice(80), listed[0] as string]);
    expect(second.body).toMatchObject({ added: 50, duplicates: 21 });
    expect(await api.get(taskId)).toMatchObject({
      status: "draft",
      recipients: 150,
      total: 150,
      pending: 150,
    });

    const presses = await Promise.all(Array.from({ length: 5 }, () => api.send(taskId)));
    expect(presses.map((p) => p.status).sort()).toEqual([202, 409, 409, 409, 409]);
    const done = await api.waitDone(taskId);
    expect(done).toMatchObject({ total: 150, sent: 150, failed: 0, skipped: 0, pending: 0 });

    const again = await api.send(taskId);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/sent already/);
    // An upload after the send changes nothing.
    expect((await api.upload(taskId, openids("Late", 3))).status).toBe(409);
    await quiet();

    for (const id of listed) {
      const got = seen(id, "TPL_TASK");
      expect(got, id).toHaveLength(1);
      expect(got[0]?.body).toMatchObject({
        touser: id,
        client_msg_id: expect.any(String),
        miniprogram: { appid: MINI_APP, pagepath: "pages/goods/detail?id=1989" },
        data: { thing3: { value: "健康助利测试商品1" }, amount4: { value: "¥250" } },
      });
    }
    for (const id of bystanders) expect(seen(id, "TPL_TASK"), id).toHaveLength(0);
    const records = await api.deliveries(taskId, undefined, 40);
    expect(records).toHaveLength(150);
    expect(new Set(records.map((r) => r.openid))).toEqual(new Set(listed));
    expect(records.every((r) => r.status === "sent")).toBe(true);
    expect(t.sim.allDelivered().filter((d) => d.templateId === "TPL_TASK")).toHaveLength(done.sent);
  }, 120_000);

  it("answers 400 without recipients or with the goods off the shelf, and the task stays a draft", async () => {
    const calls = t.sim.stats().calls.template_send;
    const empty = await api.create();
    const noRecipients = await api.send(empty);
    expect(noRecipients.status).toBe(400);
    expect(noRecipients.body.error).toMatch(/no recipients/);
    expect(await api.get(empty)).toMatchObject({ status: "draft", total: 0 });

    const off = await api.create({ goods: { id: "7", title: "下架商品", price: 9.9, onShelf: false } });
    await api.upload(off, openids("Off", 3));
    const offShelf = await api.send(off);
    expect(offShelf.status).toBe(400);
    expect(offShelf.body.error).toMatch(/off the shelf/);
    expect(await api.get(off)).toMatchObject({ status: "draft", recipients: 3 });
    await quiet();
    expect(t.sim.stats().calls.template_send).toBe(calls);

    expect((await api.send("nosuchtask")).status).toBe(404);
  });

  it("refuses bad tasks with messages naming the field", async () => {
    const bad = async (overrides: Record<string, unknown>) => {
      const answer = await api.call("POST", "/api/tasks", taskBody(overrides));
      expect(answer.status).toBe(400);
      return String(answer.body.error);
    };
    expect(await bad({ topic: "一二三四五六七八九十一" })).toMatch(/^topic: at most 10 characters/);
    expect(await bad({ caption: "字".repeat(31) })).toMatch(/^caption: at most 30/);
    expect(await bad({ tips: "字".repeat(31) })).toMatch(/^tips: at most 30/);
    // Within the form's limit but over WeChat's rule for a `thing` value.
    expect(await bad({ caption: "字".repeat(25) })).toMatch(/^data.thing2: .*at most 20/);
    expect(await bad({ data: { thing1: "{{nope}}" } })).toMatch(/^data.thing1: unknown placeholder/);
    expect(await bad({ channel: "sms" })).toMatch(/^channel:/);
    expect(await bad({ goods: { id: "1", title: "x", price: "cheap", onShelf: true } })).toMatch(
      /^goods.price/,
    );
  });

  it("reports a CSV upload's duplicates and invalid lines by line number", async () => {
    const taskId = await api.create();
    const ids = openids("Csv", 5);
    const csv = [
      "openid,备注",
      ...ids.map((id) => `${id},x`),
      ids[1],
      "",
      "not an openid",
      `"${ids[2]}"`,
      "abc",
    ].join("\r\n");
    const answer = await api.call("POST", `/api/tasks/${taskId}/recipients`, csv, "text/csv");
    expect(answer).toMatchObject({
      status: 200,
      body: {
        added: 5,
        duplicates: 2,
        invalid: [
          { line: 9, reason: expect.stringContaining("openid") },
          { line: 11, reason: expect.stringContaining("openid") },
        ],
        invalidCount: 2,
      },
    });
    const again = await api.call("POST", `/api/tasks/${taskId}/recipients`, ids.join("\n"), "text/csv");
    expect(again.body).toMatchObject({ added: 0, duplicates: 5 });
    expect((await api.get(taskId)).recipients).toBe(5);
    const broken = await api.call("POST", `/api/tasks/${taskId}/recipients`, "{not json", "application/json");
    expect(broken.status).toBe(400);
  });
});

describe("a subscribe-message task", () => {
  it("skips users without a credit without calling WeChat and sends exactly one message per credit", async () => {
    const withCredit = openids("SubOk", 8);
    const without = openids("SubNo", 6);
    const refused = openids("SubGone", 4);
    for (const id of withCredit) {
      t.sim.grantSubscription(id, "SUB_TASK", 1);
      // The mini program's report, retried with the same key: one credit.
      for (const replayed of [false, true]) {
        const grant = await api.call(
          "POST",
          "/api/subscriptions",
          { openid: id, templateId: "SUB_TASK" },
          "application/json",
          { "idempotency-key": `accept-${id}` },
        );
        expect(grant).toMatchObject({ status: 200, body: { credits: 1, replayed } });
      }
    }
    const badKey = await api.call(
      "POST",
      "/api/subscriptions",
      { openid: withCredit[0], templateId: "SUB_TASK" },
      "application/json",
      { "idempotency-key": "not a key!" },
    );
    expect(badKey).toMatchObject({
      status: 400,
      body: { error: expect.stringContaining("Idempotency-Key") },
    });
    // The mini program reported these, but WeChat no longer has their credit (used or cancelled).
    for (const id of refused)
      await api.call("POST", "/api/subscriptions", { openid: id, templateId: "SUB_TASK", count: 2 });
    const calls = t.sim.stats().calls.subscribe_send;

    const taskId = await api.create({ channel: "subscribe", templateId: "SUB_TASK" });
    await api.upload(taskId, [...withCredit, ...without, ...refused]);
    expect((await api.send(taskId)).status).toBe(202);
    const done = await api.waitDone(taskId);
    expect(done).toMatchObject({ total: 18, sent: 8, failed: 4, skipped: 6, pending: 0 });

    expect(t.sim.stats().calls.subscribe_send - calls).toBe(withCredit.length + refused.length);
    for (const id of withCredit) {
      const got = seen(id, "SUB_TASK");
      expect(got, id).toHaveLength(1);
      expect(got[0]?.channel).toBe("subscribe");
      expect(got[0]?.body).toMatchObject({ page: "pages/goods/detail?id=1989", miniprogram_state: "formal" });
      expect(t.sim.subscriptionCredits(id, "SUB_TASK")).toBe(0);
      const left = await api.call("GET", `/api/subscriptions?openid=${id}&templateId=SUB_TASK`);
      expect(left.body.credits).toBe(0);
    }
    for (const id of [...without, ...refused]) expect(seen(id, "SUB_TASK"), id).toHaveLength(0);

    const skipped = await api.deliveries(taskId, "skipped");
    expect(skipped.map((r) => r.openid).sort()).toEqual([...without].sort());
    expect(skipped.every((r) => r.errmsg === NO_CREDIT)).toBe(true);
    const failed = await api.deliveries(taskId, "failed", 3);
    expect(failed.map((r) => r.openid).sort()).toEqual([...refused].sort());
    expect(failed.every((r) => r.errcode === 43101 && !r.retryable)).toBe(true);
    for (const id of refused) {
      const left = await api.call("GET", `/api/subscriptions?openid=${id}&templateId=SUB_TASK`);
      expect(left.body.credits).toBe(0);
    }
    // A second task finds no credit left: nobody is called.
    const next = await api.create({ channel: "subscribe", templateId: "SUB_TASK", name: "第二次" });
    await api.upload(next, withCredit);
    const before = t.sim.stats().calls.subscribe_send;
    await api.send(next);
    expect(await api.waitDone(next)).toMatchObject({ skipped: 8, sent: 0 });
    expect(t.sim.stats().calls.subscribe_send).toBe(before);
  });
});

describe("failures and the retry", () => {
  it("lists failed deliveries with a cursor and re-queues only the transient ones", async () => {
    const busyUsers = openids("Busy", 12);
    const gone = openids("Unf", 3);
    t.sim.addUsers([...busyUsers, ...gone]);
    const taskId = await api.create({ name: "重试" });
    await api.upload(taskId, [...busyUsers, ...gone]);

    expect((await api.call("POST", `/api/tasks/${taskId}/retry`)).status).toBe(409);
    t.sim.setFaults({ busyRate: 1 });
    await api.send(taskId);
    const stuck = await api.waitDone(taskId, 120_000);
    t.sim.clearFaults();
    // WeChat busy on every try: recorded as failed (-1) on the queue's last receive.
    expect(stuck).toMatchObject({ total: 15, sent: 0, failed: 15, byErrcode: { "-1": 15 } });
    expect((await api.call("GET", `/api/tasks/${taskId}/deliveries?status=bogus`)).status).toBe(400);
    const failed = await api.deliveries(taskId, "failed", 4);
    expect(failed).toHaveLength(15);
    expect(failed.every((r) => r.retryable && r.errcode === -1)).toBe(true);
    expect(await api.deliveries(taskId, "sent")).toHaveLength(0);

    // Meanwhile three users unfollowed: the retry fails them for good (43004) and sends the rest.
    for (const id of gone) t.sim.setFollowed(id, false);
    const retry = await api.call("POST", `/api/tasks/${taskId}/retry`);
    expect(retry).toMatchObject({ status: 202, body: { round: 1, requeued: 15 } });
    const deadline = Date.now() + 60_000;
    let status = await api.get(taskId);
    while (status.sent + (status.byErrcode["43004"] ?? 0) !== 15 && Date.now() < deadline) {
      await sleep(200);
      status = await api.get(taskId);
    }
    expect(status).toMatchObject({
      status: "done",
      total: 15,
      sent: 12,
      failed: 3,
      byErrcode: { "-1": 0, "43004": 3 },
    });
    await quiet();
    for (const id of busyUsers) expect(seen(id, "TPL_TASK"), id).toHaveLength(1);
    for (const id of gone) expect(seen(id, "TPL_TASK"), id).toHaveLength(0);
    const left = await api.deliveries(taskId, "failed");
    expect(left.map((r) => [r.errcode, r.retryable])).toEqual(Array(3).fill([43004, false]));

    // Only transient failures are re-queued: the permanent ones stay as they are.
    const calls = t.sim.stats().calls.template_send;
    expect(await api.call("POST", `/api/tasks/${taskId}/retry`)).toMatchObject({
      status: 202,
      body: { round: 2, requeued: 0 },
    });
    await quiet();
    expect(t.sim.stats().calls.template_send).toBe(calls);
  }, 150_000);

  it("lists tasks newest first, page by page", async () => {
    const a = await api.create({ name: "列表一" });
    const b = await api.create({ name: "列表二" });
    const page = await api.call<{ items: { taskId: string }[]; next: string | null }>(
      "GET",
      "/api/tasks?limit=1",
    );
    expect(page.body.items.map((i) => i.taskId)).toEqual([b]);
    const next = await api.call<{ items: { taskId: string }[] }>(
      "GET",
      `/api/tasks?limit=1&cursor=${page.body.next}`,
    );
    expect(next.body.items.map((i) => i.taskId)).toEqual([a]);
    expect((await api.call("GET", "/api/tasks?cursor=garbage")).status).toBe(400);
  });
});
