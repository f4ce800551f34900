import type { Browser, Page, Route } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveConsole } from "../../functions/console/serve.ts";
import type { TaskView } from "../../functions/contracts/api.ts";
import type { HttpEvent } from "../../functions/http.ts";
import { openids, startTestApp, type TestApp } from "../e2e/harness.ts";
import { postView, taskView } from "../fixtures/console-answers.ts";
import { ADMIN_TOKEN, CONSOLE_ORIGIN, launchChromium, screenshots } from "./browser.ts";

/**
 * 「模拟支付」 and the reason beside a disabled Retry, in headless Chromium: against the whole local
 * stack with its demo merchant (the button pays for real), and against answers shaped like a
 * deployment's, where `/__demo/` is the admin function's 404 (no button, and nobody signed out).
 */

let t: TestApp;
let browser: Browser;
const shot = screenshots("console-demo-pay");

beforeAll(async () => {
  [t, browser] = await Promise.all([startTestApp(), launchChromium()]);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

async function signIn(page: Page, origin: string, token: string): Promise<void> {
  await page.goto(`${origin}/admin`);
  await page.getByLabel(/^令牌/).fill(token);
  await page.getByRole("button", { name: "进入控制台" }).click();
  await page.getByRole("heading", { name: "推送任务", exact: true }).waitFor();
}

describe("模拟支付 on the local stack with its demo merchant", () => {
  it("is offered for an unpaid post only, and pays it with a signed notify: the broadcast goes out", async () => {
    await t.seed(openids("Pay", 6).map((openid) => ({ openid })));
    await t.client.registerPost({ outTradeNo: "CONSOLEPAY01", amount: 800, content: "供应：木材 3 方" });
    const paidAlready = await t.postAndNotify("CONSOLEPAY02");
    expect((await t.client.notify(paidAlready)).status).toBe(204);
    await t.client.waitForBroadcast("CONSOLEPAY02");

    const context = await browser.newContext({ timezoneId: "UTC" });
    const page = await context.newPage();
    await signIn(page, t.app.baseUrl, t.app.adminToken);
    const pay = page.getByRole("button", { name: "模拟支付订单 CONSOLEPAY01" });
    await pay.waitFor();
    expect(await page.getByRole("button", { name: "模拟支付订单 CONSOLEPAY02" }).count()).toBe(0);
    expect(await pay.getAttribute("title")).toContain("仅本地环境");
    await shot(page, "offered");

    await pay.click();
    await page.getByText("订单 CONSOLEPAY01 已模拟支付，开始群发。").waitFor();
    const row = page.locator('#posts tr[data-out-trade-no="CONSOLEPAY01"]');
    await row.locator('[data-status="done"]').waitFor({ timeout: 30_000 });
    expect(await row.locator("[data-payment]").textContent()).toBe("已支付");
    expect(await row.getByRole("button", { name: /模拟支付/ }).count()).toBe(0);
    expect(await t.client.getPost("CONSOLEPAY01")).toMatchObject({ payment: "PAID", total: 6, sent: 6 });
    await shot(page, "paid");
    await context.close();
  });
});

// ——— A deployment's console: the same page, answers shaped by the API contract

const pendingPost = postView("PENDING0001", {
  content: "求购：钢管",
  payment: "PENDING",
  paidAt: null,
  broadcastId: null,
  status: "awaiting_payment",
});

const doneTask = (taskId: string, fields: Partial<TaskView>) =>
  taskView(taskId, {
    recipients: 5,
    total: 5,
    status: "done",
    sentAt: "2025-03-01T06:31:00.000Z",
    ...fields,
  });

/** The page from serveConsole; the API from the lists; `/__demo/` as `demo` says. */
async function deployment(route: Route, tasks: TaskView[], demo: number, asked: string[]): Promise<void> {
  const url = new URL(route.request().url());
  const event = {
    rawPath: url.pathname,
    queryStringParameters: Object.fromEntries(url.searchParams),
    headers: {},
    requestContext: { http: { method: route.request().method() } },
  } as unknown as HttpEvent;
  const served = serveConsole(event);
  if (served) {
    const headers = Object.fromEntries(Object.entries(served.headers ?? {}).map(([k, v]) => [k, String(v)]));
    return route.fulfill({ status: served.statusCode, headers, body: String(served.body) });
  }
  asked.push(url.pathname);
  const answer = (body: unknown, status = 200) =>
    route.fulfill({ status, contentType: "application/json", body: JSON.stringify(body) });
  // What the admin function answers a path it has no route for: 401 without the token, 404 with it.
  if (url.pathname.startsWith("/__demo/")) return answer({ error: "no such route" }, demo);
  if (url.pathname === "/api/tasks") return answer({ items: tasks, next: null });
  if (url.pathname === "/api/posts") return answer({ items: [pendingPost], next: null });
  const task = tasks.find((x) => url.pathname.startsWith(`/api/tasks/${x.taskId}`));
  if (task && url.pathname.endsWith("/deliveries")) return answer({ items: [], next: null });
  if (task) return answer(task);
  return answer({ error: "no such route" }, 404);
}

describe("the console of a deployment", () => {
  it("offers no 模拟支付, and a refused /__demo/ signs nobody out", async () => {
    for (const status of [404, 401]) {
      const asked: string[] = [];
      const context = await browser.newContext({ timezoneId: "UTC" });
      await context.route(`${CONSOLE_ORIGIN}/**`, (route) => deployment(route, [], status, asked));
      const page = await context.newPage();
      await signIn(page, CONSOLE_ORIGIN, ADMIN_TOKEN);
      await page.locator('#posts tr[data-out-trade-no="PENDING0001"]').waitFor();
      await expect.poll(() => asked.includes("/__demo/")).toBe(true);
      expect(
        await page
          .locator('#posts tr[data-out-trade-no="PENDING0001"] button', { hasText: "模拟支付" })
          .count(),
      ).toBe(0);
      expect(await page.locator("#app").isVisible()).toBe(true);
      expect(await page.evaluate(() => sessionStorage.getItem("fanout.adminToken"))).toBe(ADMIN_TOKEN);
      expect(asked.filter((p) => p.startsWith("/__demo/pay"))).toEqual([]);
      await context.close();
    }
  });

  it("disables Retry when nothing is retryable and says why beside it", async () => {
    const tasks = [
      doneTask("permanent", { sent: 2, failed: 3, byErrcode: { "43004": 3 } }),
      doneTask("clean", { sent: 5 }),
      doneTask("transient", { sent: 3, failed: 2, byErrcode: { "-1": 1, "43004": 1 } }),
    ];
    const context = await browser.newContext({ timezoneId: "UTC" });
    await context.route(`${CONSOLE_ORIGIN}/**`, (route) => deployment(route, tasks, 404, []));
    const page = await context.newPage();
    await signIn(page, CONSOLE_ORIGIN, ADMIN_TOKEN);
    const retry = page.locator("#retry-button");
    const why = page.locator("#retry-why");
    const open = async (id: string) => {
      await page.getByRole("button", { name: `打开任务 ${id}` }).click();
      await page.locator(`#task-detail[data-task-id="${id}"]`).waitFor();
      await page.getByRole("heading", { name: `任务：任务${id}` }).waitFor();
    };

    await open("permanent");
    expect(await retry.isDisabled()).toBe(true);
    expect(await why.textContent()).toBe(
      "没有可重试的失败：失败均为永久性错误（如 43004 未关注），重发也不会成功。",
    );
    expect(await retry.getAttribute("aria-describedby")).toBe("retry-why");
    await shot(page, "retry-permanent");

    await open("clean");
    expect(await retry.isDisabled()).toBe(true);
    expect(await why.textContent()).toBe("没有失败的投递，无需重试。");

    await open("transient");
    expect(await retry.isEnabled()).toBe(true);
    expect(await why.textContent()).toBe("");
    await context.close();
  });
});
