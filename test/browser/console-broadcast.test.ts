import { readFile } from "node:fs/promises";
import type { Route } from "playwright-core";
import { describe, expect, it } from "vitest";
import type { DeliveriesPage, DeliveryItem, SubscriberView } from "../../functions/contracts/api.ts";
import { postView, taskView } from "../fixtures/console-answers.ts";
import { ADMIN_TOKEN, fulfilConsolePage, openSignedIn, screenshots, useChromium } from "./browser.ts";

/**
 * The broadcast detail (a paid post's, and the same parts in a task's) and the subscriber search, in
 * headless Chromium against the page serveConsole serves (with its CSP) and API answers built from
 * the contract's types.
 */

const CSV =
  "\uFEFFopenid,status,channel,errcode,errmsg,at\r\noGone01,failed,template,43004,require subscribe,x\r\n";
const browser = useChromium();
const shot = screenshots("console-broadcast");

const timeline = [
  { at: "2025-03-01T06:31:00.000Z", minutes: 1, sent: 20, failed: 2 },
  { at: "2025-03-01T06:33:00.000Z", minutes: 1, sent: 7, failed: 1 },
] as const;

const paidPost = postView("DETAIL0001", {
  paidAt: "2025-03-01T06:30:30.000Z",
  total: 33,
  sent: 30,
  failed: 3,
  byChannel: { template: 27, custom: 3 },
  byErrcode: { "43004": 3 },
  confirmed: 26,
  rejected: 1,
  reportsCountedAt: Date.parse("2025-03-01T06:40:00.000Z"),
  timeline: [...timeline],
});

const sentTask = taskView("t1", {
  name: "春季上新",
  recipients: 5,
  sentAt: "2025-03-01T06:31:00.000Z",
  status: "done",
  total: 5,
  sent: 4,
  failed: 1,
  byChannel: { template: 4 },
  byErrcode: { "43004": 1 },
  timeline: [{ at: "2025-03-01T06:31:00.000Z", minutes: 1, sent: 4, failed: 1 }],
});

const record = (openid: string, status: DeliveryItem["status"], errcode: number): DeliveryItem => ({
  openid,
  status,
  channel: "template",
  errcode,
  errmsg: errcode === 0 ? "ok" : "require subscribe rid: 1",
  at: "2025-03-01T06:31:10.000Z",
  retryable: false,
});

const subscriber: SubscriberView = {
  openid: "oLookedUp0000000000000000001",
  optedIn: false,
  optedInBy: "user",
  optedInSince: "2025-03-01T01:02:03.000Z",
  followed: true,
  followedChangedAt: null,
  membershipExpiresAt: null,
  membershipActive: true,
  window: { until: "2025-03-03T01:00:00.000Z", remaining: 4, open: true },
  suppressed: null,
  inAudience: false,
  lastInteractionAt: "2025-03-01T01:02:03.000Z",
  createdAt: "2025-02-01T00:00:00.000Z",
  credits: [{ templateId: "SUB_A", credits: 2, updatedAt: "2025-03-01T00:00:00.000Z" }],
  recentDeliveries: {
    items: [
      {
        kind: "task",
        id: "t1",
        title: "春季上新",
        broadcastId: "task-t1",
        status: "failed",
        channel: "template",
        errcode: 43004,
        errmsg: "require subscribe rid: 1",
        at: "2025-03-01T06:31:10.000Z",
      },
      {
        kind: "post",
        id: "DETAIL0001",
        title: "供应：二手叉车一台",
        broadcastId: "post-DETAIL0001",
        status: "sent",
        channel: "custom",
        errcode: 0,
        errmsg: "ok",
        at: "2025-03-01T06:30:40.000Z",
      },
    ],
    searchedBroadcasts: 250,
    readUnits: 10_012,
    complete: false,
    stoppedBy: "budget",
  },
};

/** API requests the page made, as "METHOD /path?query", with the bearer token each carried. */
const calls: { path: string; authorization: string | undefined }[] = [];

async function fulfil(route: Route): Promise<void> {
  const request = route.request();
  const url = new URL(request.url());
  if (await fulfilConsolePage(route)) return;
  calls.push({ path: `${url.pathname}${url.search}`, authorization: request.headers().authorization });
  const answer = (body: unknown, status = 200) =>
    route.fulfill({ status, contentType: "application/json", body: JSON.stringify(body) });
  if (request.headers().authorization !== `Bearer ${ADMIN_TOKEN}`)
    return answer({ error: "unauthorized" }, 401);
  const status = url.searchParams.get("status");
  const records = [record("oGone01", "failed", 43004), record("oOk0001", "sent", 0)];
  const page0: DeliveriesPage = { items: records.filter((r) => !status || r.status === status), next: null };
  switch (url.pathname) {
    case "/api/tasks":
      return answer({ items: [sentTask], next: null });
    case "/api/posts":
      return answer({ items: [paidPost], next: null });
    case "/api/posts/DETAIL0001":
      return answer(paidPost);
    case "/api/tasks/t1":
      return answer(sentTask);
    case "/api/posts/DETAIL0001/deliveries":
    case "/api/tasks/t1/deliveries":
      return answer(page0);
    case "/api/posts/DETAIL0001/deliveries.csv":
    case "/api/tasks/t1/deliveries.csv":
      return route.fulfill({
        status: 200,
        headers: {
          "content-type": "text/csv; charset=utf-8",
          "content-disposition": `attachment; filename="${url.pathname.includes("posts") ? "post-DETAIL0001" : "task-t1"}-failed.csv"`,
        },
        body: CSV,
      });
    case `/api/subscribers/${subscriber.openid}`:
      return answer(subscriber);
  }
  return answer({ error: "no such route" }, 404);
}

const open = () =>
  openSignedIn(browser(), fulfil, { viewport: { width: 1280, height: 1000 }, acceptDownloads: true });

describe("a broadcast's detail", () => {
  it("shows a paid post's channels, errcodes in words, reports, timeline and records, and exports its failures", async () => {
    const { context, page } = await open();
    await page.getByRole("button", { name: "打开付费信息 DETAIL0001" }).click();
    const detail = page.locator("#post-detail");
    await detail.getByRole("heading", { name: "群发：DETAIL0001" }).waitFor();
    expect(await page.locator("#post-channels").textContent()).toBe("模板消息 27 · 客服消息 3");
    expect(await page.locator('#post-errcodes li[data-errcode="43004"]').textContent()).toBe(
      "43004 用户未关注公众号 × 3",
    );
    expect(await page.locator("#post-reports").textContent()).toBe(
      "已确认送达 26 · 被拒收 1（统计于 2025-03-01 14:40:00）",
    );
    expect(await detail.getByRole("progressbar").getAttribute("aria-valuetext")).toBe(
      "已发送 30 · 失败 3 · 投递未知 0 · 跳过 0 · 待发送 0 / 共 33",
    );
    // Three minute slots (the empty 14:32 put back), each bar's numbers in its tooltip.
    const chart = page.locator("#post-timeline svg");
    expect(await chart.getAttribute("aria-label")).toBe(
      "2025-03-01 14:31:00 至 2025-03-01 14:34:00：已发送 27 · 失败 3",
    );
    expect(await chart.locator("g").count()).toBe(3);
    expect(await chart.locator("g title").first().textContent()).toBe(
      "2025-03-01 14:31:00 起 1 分钟：已发送 20 · 失败 2",
    );
    const heights = await chart
      .locator("rect.sent")
      .evaluateAll((rects) => rects.map((r) => Number(r.getAttribute("height"))));
    expect(heights[0]).toBeGreaterThan(heights[2] ?? 0);
    expect(heights[1]).toBe(0);

    const rows = page.locator("#post-records tbody tr");
    await expect.poll(() => rows.count()).toBe(2);
    await detail.getByLabel("状态筛选").selectOption({ label: "失败" });
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().locator("td").nth(3).textContent()).toBe("用户未关注公众号");
    expect(calls.map((c) => c.path)).toContain("/api/posts/DETAIL0001/deliveries?limit=50&status=failed");
    await shot(page, "post-detail");

    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "导出失败名单 CSV" }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe("post-DETAIL0001-failed.csv");
    expect(await readFile((await file.path()) as string, "utf8")).toBe(CSV);
    const exportCall = calls.find((c) => c.path.includes("deliveries.csv"));
    expect(exportCall).toEqual({
      path: "/api/posts/DETAIL0001/deliveries.csv?status=failed",
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    await page.getByText("已下载 post-DETAIL0001-failed.csv").waitFor();

    // A task's detail has the same parts.
    await page.getByRole("button", { name: "打开任务 t1" }).click();
    await page.locator("#task-timeline svg").waitFor();
    expect(await page.locator("#task-channels").textContent()).toBe("模板消息 4");
    expect(await page.locator("#task-export").isEnabled()).toBe(true);
    await context.close();
  });
});

describe("the subscriber search", () => {
  it("shows whose choice an opt-out is, the window, credits and recent deliveries, and says the search was cut short", async () => {
    const { context, page } = await open();
    const box = page.getByRole("searchbox", { name: "用户 openid" });
    await box.fill("not an openid!");
    await page.getByRole("button", { name: "查询", exact: true }).click();
    await page.getByText("openid 应为 6–64 位字母、数字、_ 或 -。").waitFor();
    await box.fill("oNobody000000000000000000001");
    await page.getByRole("button", { name: "查询", exact: true }).click();
    await page.getByText("未找到该用户：从未导入，也未与公众号互动。").waitFor();

    await box.fill(subscriber.openid);
    await page.getByRole("button", { name: "查询", exact: true }).click();
    const summary = page.locator("#lookup-summary");
    await summary.waitFor();
    const lines = await summary.locator("dt, dd").allTextContents();
    const pairs = Object.fromEntries(
      lines.flatMap((_, i) => (i % 2 === 0 ? [[lines[i], lines[i + 1]]] : [])),
    );
    expect(pairs).toMatchObject({
      群发: "已退订 · 用户本人（回复 0/1） · 自 2025-03-01 09:02:03",
      客服窗口: "开启，至 2025-03-03 09:00:00，剩余 4 条",
      下次群发: "不会收到",
    });
    expect(await page.locator('#lookup-credits tr[data-template-id="SUB_A"] td').allTextContents()).toEqual([
      "SUB_A",
      "2",
      "2025-03-01 08:00:00",
    ]);
    const deliveries = page.locator("#lookup-deliveries tbody tr");
    expect(await deliveries.count()).toBe(2);
    expect(await deliveries.first().locator("td").allTextContents()).toEqual([
      "2025-03-01 14:31:10",
      "推送任务 t1春季上新",
      "失败",
      "模板消息",
      "43004",
      "用户未关注公众号",
      "require subscribe rid: 1",
    ]);
    expect(await page.locator("#lookup-searched").textContent()).toBe(
      "只搜索了最近 250 次群发（读取预算已用完），更早的投递可能未列出。",
    );
    await shot(page, "subscriber");
    await context.close();
  });
});
