import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeliveriesPage, DeliveryItem, PostView } from "../../functions/contracts/api.ts";
import { openids, startTestApp, type TestApp } from "./harness.ts";
import { TaskApi } from "./task-api.ts";

/**
 * A paid post's delivery records, paged out of their grouped items, and the CSV exports of a post's
 * and a task's records, streamed: against a broadcast where WeChat refused some users (43004, they
 * no longer follow the account), one of whom has an openid a spreadsheet would take for a formula.
 */

let t: TestApp;
let api: TaskApi;
const following = openids("Exp", 560);
const unfollowed = openids("ExpGone", 40);
/** A valid openid (letters, digits, _ and -) that a spreadsheet would evaluate as `-2-3-cmd…`. */
const formulaLike = "-2-3-cmd0000000000000000000001";
const failing = [...unfollowed, formulaLike];
const BOM = "\uFEFF";
const HEADER = "openid,status,channel,errcode,errmsg,at";

beforeAll(async () => {
  t = await startTestApp();
  api = new TaskApi(t.app.baseUrl, t.app.adminToken);
  t.sim.addTemplates({ official: ["TPL_TASK"] });
  await t.seed([...following, ...failing].map((openid) => ({ openid })));
  for (const id of failing) t.sim.setFollowed(id, false);
  expect((await t.client.notify(await t.postAndNotify("EXPORT0001"))).status).toBe(204);
  await t.client.waitForBroadcast("EXPORT0001");
}, 120_000);
afterAll(async () => {
  await t?.stop();
});

/** Every record of the post's listing, following the cursor, with the pages it took. */
async function listAll(outTradeNo: string, query: Record<string, string>) {
  const items: DeliveryItem[] = [];
  let pages = 0;
  let cursor: string | null = null;
  do {
    const params: URLSearchParams = new URLSearchParams({ ...query, ...(cursor ? { cursor } : {}) });
    const answer: { status: number; body: DeliveriesPage } = await api.call<DeliveriesPage>(
      "GET",
      `/api/posts/${outTradeNo}/deliveries?${params}`,
    );
    expect(answer.status).toBe(200);
    items.push(...answer.body.items);
    cursor = answer.body.next;
    pages += 1;
  } while (cursor);
  return { items, pages };
}

async function csv(path: string) {
  const res = await fetch(`${t.app.baseUrl}${path}`, {
    headers: { authorization: `Bearer ${t.app.adminToken}` },
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString("utf8");
  const lines = text.replace(BOM, "").split("\r\n");
  expect(lines.pop()).toBe("");
  return { res, bytes, text, header: lines[0], rows: lines.slice(1).map((line) => line.split(",")) };
}

describe("a broadcast's timeline", () => {
  it("counts every settled recipient in the minute its record was written", async () => {
    const post = await api.call<PostView>("GET", "/api/posts/EXPORT0001");
    const { timeline } = post.body;
    expect(timeline.length).toBeGreaterThan(0);
    expect(timeline.reduce((n, p) => n + p.sent, 0)).toBe(following.length);
    expect(timeline.reduce((n, p) => n + p.failed, 0)).toBe(failing.length);
    for (const point of timeline) {
      expect(point.minutes).toBe(1);
      expect(Date.parse(point.at) % 60_000).toBe(0);
      expect(Date.parse(point.at)).toBeGreaterThanOrEqual(Date.parse(post.body.paidAt ?? "") - 60_000);
    }
  });
});

describe("a paid post's delivery records", () => {
  it("page through its grouped records, the cursor resuming inside a group", async () => {
    const all = await listAll("EXPORT0001", { limit: "37" });
    expect(all.items).toHaveLength(following.length + failing.length);
    expect(new Set(all.items.map((r) => r.openid))).toEqual(new Set([...following, ...failing]));
    expect(all.pages).toBe(Math.ceil(all.items.length / 37));
    const failed = await listAll("EXPORT0001", { status: "failed", limit: "7" });
    expect(failed.items.map((r) => r.openid).sort()).toEqual([...failing].sort());
    for (const r of failed.items)
      expect(r).toMatchObject({ status: "failed", channel: "template", errcode: 43004, retryable: false });
    const sent = await listAll("EXPORT0001", { status: "sent", limit: "500" });
    expect(sent.items).toHaveLength(following.length);
    expect(sent.items.every((r) => r.status === "sent" && r.errcode === 0)).toBe(true);
  });

  it("refuses a cursor it did not hand out, and answers 404 for an unknown post", async () => {
    const forged = Buffer.from(JSON.stringify(["oNotAGroupKey01", 0])).toString("base64url");
    const bad = await api.call("GET", `/api/posts/EXPORT0001/deliveries?cursor=${forged}`);
    expect(bad).toMatchObject({ status: 400, body: { error: "cursor: not a cursor this API returned" } });
    expect((await api.call("GET", "/api/posts/EXPORT0001/deliveries?status=lost")).status).toBe(400);
    expect((await api.call("GET", "/api/posts/NOSUCHPOST1/deliveries")).status).toBe(404);
  });
});

describe("the CSV export of failures", () => {
  it("lists exactly a post's failed users, defused and quoted, as a streamed UTF-8 download", async () => {
    const { res, bytes, header, rows } = await csv("/api/posts/EXPORT0001/deliveries.csv?status=failed");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="post-EXPORT0001-failed.csv"');
    expect(res.headers.get("cache-control")).toBe("no-store");
    // Written as it is read: chunked, with no length known in advance.
    expect(res.headers.get("transfer-encoding")).toBe("chunked");
    expect(res.headers.get("content-length")).toBeNull();
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(header).toBe(HEADER);
    const ids = rows.map((r) => r[0] as string);
    expect(ids.sort()).toEqual([...unfollowed, `'${formulaLike}`].sort());
    for (const [, status, channel, errcode, errmsg, at] of rows) {
      expect([status, channel, errcode]).toEqual(["failed", "template", "43004"]);
      expect(errmsg).toMatch(/^require subscribe/);
      expect(at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/);
    }
  });

  it("streams every record of a post, more than one page of the export's reads", async () => {
    const { rows } = await csv("/api/posts/EXPORT0001/deliveries.csv");
    // 601 records: two reads of 500.
    expect(rows).toHaveLength(following.length + failing.length);
    expect(new Set(rows.map((r) => r[0]))).toEqual(new Set([...following, ...unfollowed, `'${formulaLike}`]));
    expect(rows.filter((r) => r[1] === "sent")).toHaveLength(following.length);
  });

  it("lists exactly a task's failed users", async () => {
    const taskId = await api.create();
    await api.upload(taskId, [...following.slice(0, 30), ...unfollowed.slice(0, 10), formulaLike]);
    // The post's 43004s suppressed them (a task would skip them uncalled): lifted, so WeChat refuses again.
    for (const openid of [...unfollowed.slice(0, 10), formulaLike])
      expect((await api.call("POST", `/api/subscribers/${openid}/unsuppress`)).body).toEqual({
        openid,
        lifted: "43004",
      });
    expect((await api.send(taskId)).status).toBe(202);
    const done = await api.waitDone(taskId);
    expect(done).toMatchObject({ sent: 30, failed: 11 });
    const timeline = done.timeline as PostView["timeline"];
    expect([timeline.reduce((n, p) => n + p.sent, 0), timeline.reduce((n, p) => n + p.failed, 0)]).toEqual([
      30, 11,
    ]);
    const { res, header, rows } = await csv(`/api/tasks/${taskId}/deliveries.csv?status=failed`);
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="task-${taskId}-failed.csv"`);
    expect(header).toBe(HEADER);
    expect(rows.map((r) => r[0]).sort()).toEqual([...unfollowed.slice(0, 10), `'${formulaLike}`].sort());
    // The same records as the task's own listing.
    const listed = await api.deliveries(taskId, "failed");
    expect(listed.map((r) => r.openid).sort()).toEqual([...unfollowed.slice(0, 10), formulaLike].sort());
  });

  it("answers a bad export with the API's JSON error, never a CSV", async () => {
    for (const [path, status] of [
      ["/api/posts/NOSUCHPOST1/deliveries.csv", 404],
      ["/api/tasks/nosuchtask/deliveries.csv", 404],
      ["/api/posts/EXPORT0001/deliveries.csv?status=maybe", 400],
    ] as const) {
      const res = await fetch(`${t.app.baseUrl}${path}`, {
        headers: { authorization: `Bearer ${t.app.adminToken}` },
      });
      expect(res.status, path).toBe(status);
      expect(res.headers.get("content-type"), path).toBe("application/json");
      expect(await res.json(), path).toMatchObject({ error: expect.any(String) });
    }
    const app = await fetch(`${t.app.baseUrl}/api/posts/EXPORT0001/deliveries.csv`, {
      headers: { authorization: `Bearer ${t.app.appToken}` },
    });
    expect(app.status).toBe(403);
  });
});
