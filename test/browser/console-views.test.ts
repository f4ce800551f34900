import type { BrowserContext, Page, Route } from "playwright-core";
import { describe, expect, it } from "vitest";
import { formatTime } from "../../functions/console/src/format.ts";
import type {
  PostList,
  PostView,
  PreviewAnswer,
  RetryAnswer,
  SendTaskAnswer,
  SyncView,
  TaskList,
  TaskView,
} from "../../functions/contracts/api.ts";
import { postView as post, taskView as task } from "../fixtures/console-answers.ts";
import { ADMIN_TOKEN, CONSOLE_ORIGIN, fulfilConsolePage, screenshots, useChromium } from "./browser.ts";

/**
 * The console's views in headless Chromium against answers shaped by the API's contract: the page
 * and its assets come from serveConsole (with its CSP), the API is a fixture, so the states that are
 * slow or awkward to reach on the local stack (a fan-out in progress, retryable failures) are shown
 * exactly. The whole stack behind the console is console.test.ts's job.
 */

const browser = useChromium();
const shot = screenshots("console-views");

interface Fixture {
  tasks: TaskView[];
  posts: PostView[];
  /** API requests the page made, as "METHOD /path". */
  calls: string[];
  /** The JSON bodies the page sent, by "METHOD /path". */
  bodies?: Record<string, unknown>;
  /** The follower sync's start answer, and its views in turn (the last one stays). */
  sync?: { start: { status: number; body: unknown }; views: SyncView[] };
}

/** Serves the console as the admin function does and answers the API from the fixture. */
async function fulfil(route: Route, fixture: Fixture): Promise<void> {
  const request = route.request();
  const url = new URL(request.url());
  const method = request.method();
  if (await fulfilConsolePage(route)) return;
  fixture.calls.push(`${method} ${url.pathname}`);
  const sent = request.postData();
  if (sent && request.headers()["content-type"] === "application/json")
    fixture.bodies = { ...fixture.bodies, [`${method} ${url.pathname}`]: JSON.parse(sent) };
  const answer = (body: unknown, status = 200) =>
    route.fulfill({ status, contentType: "application/json", body: JSON.stringify(body) });
  if (request.headers().authorization !== `Bearer ${ADMIN_TOKEN}`)
    return answer({ error: "unauthorized" }, 401);
  const [, , kind, id, sub] = url.pathname.split("/");
  const found = kind === "tasks" ? fixture.tasks.find((t) => t.taskId === id) : undefined;
  const foundPost = kind === "posts" ? fixture.posts.find((p) => p.outTradeNo === id) : undefined;
  if (url.pathname === "/api/tasks") return answer({ items: fixture.tasks, next: null } satisfies TaskList);
  if (url.pathname === "/api/posts") return answer({ items: fixture.posts, next: null } satisfies PostList);
  if (fixture.sync && url.pathname === "/api/subscribers/sync" && method === "POST")
    return answer(fixture.sync.start.body, fixture.sync.start.status);
  if (fixture.sync && kind === "subscribers" && id === "sync" && sub !== undefined)
    return answer(fixture.sync.views.length > 1 ? fixture.sync.views.shift() : fixture.sync.views[0]);
  if (foundPost && sub === undefined) return answer(foundPost);
  if (found && sub === undefined) return answer(found);
  if (found && sub === "deliveries") return answer({ items: [], next: null });
  if (found && sub === "retry" && method === "POST")
    return answer({ taskId: found.taskId, round: 1, requeued: 2 } satisfies RetryAnswer, 202);
  if ((found || foundPost) && sub === "preview" && method === "POST") {
    const { openids } = JSON.parse(request.postData() ?? "{}") as { openids: string[] };
    const results = openids.map((openid, i) =>
      i === 0
        ? { openid, errcode: 0, errmsg: "ok" }
        : { openid, errcode: 43004, errmsg: "require subscribe" },
    );
    return answer({ results } satisfies PreviewAnswer);
  }
  if (found && sub === "send" && method === "POST") {
    const { at } = JSON.parse(request.postData() ?? "{}") as { at: string };
    Object.assign(found, { status: "scheduled", sendAt: new Date(at).toISOString() });
    return answer(
      { taskId: found.taskId, status: "scheduled", sendAt: found.sendAt ?? at } satisfies SendTaskAnswer,
      202,
    );
  }
  return answer({ error: "no such route" }, 404);
}

async function open(fixture: Fixture, timezoneId = "UTC"): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser().newContext({ viewport: { width: 1280, height: 900 }, timezoneId });
  await context.route(`${CONSOLE_ORIGIN}/**`, (route) => fulfil(route, fixture));
  const page = await context.newPage();
  await page.goto(`${CONSOLE_ORIGIN}/admin`);
  return { context, page };
}

async function signIn(page: Page, label: RegExp, button: string): Promise<void> {
  await page.getByLabel(label).fill(ADMIN_TOKEN);
  await page.getByRole("button", { name: button }).click();
}

describe("the console's language", () => {
  it("is Chinese by default; the switch shows English, is remembered after a reload, and switches back", async () => {
    const fixture: Fixture = { tasks: [task("t1")], posts: [post("P0001")], calls: [] };
    const { context, page } = await open(fixture);
    expect(await page.locator("html").getAttribute("lang")).toBe("zh-CN");
    await page.getByRole("heading", { name: "管理令牌" }).waitFor();
    await signIn(page, /^令牌/, "进入控制台");
    await page.getByRole("heading", { name: "推送任务", exact: true }).waitFor();
    expect(await page.locator('#tasks tr[data-task-id="t1"] [data-status]').textContent()).toBe("草稿");
    expect(await page.locator('#posts [data-status="done"]').textContent()).toBe("已完成");
    await shot(page, "zh");

    await page.getByRole("button", { name: "English" }).click();
    await page.getByRole("heading", { name: "Push tasks", exact: true }).waitFor();
    expect(await page.locator("html").getAttribute("lang")).toBe("en");
    expect(await page.title()).toBe("WeChat Fanout console");
    expect(await page.locator('#tasks tr[data-task-id="t1"] [data-status]').textContent()).toBe("draft");
    expect(await page.getByLabel("Topic (at most 10 characters)").count()).toBe(1);
    expect(await page.locator("#zone-note").textContent()).toBe("Times in China time (Asia/Shanghai)");
    await shot(page, "en");

    // Remembered: after a reload, and in a new tab that has to ask for the token again.
    await page.reload();
    await page.getByRole("heading", { name: "Push tasks", exact: true }).waitFor();
    const storage = await page.evaluate(() => ({ ...localStorage }));
    expect(storage).toEqual({ "fanout.lang": "en" });
    const tab = await context.newPage();
    await tab.goto(`${CONSOLE_ORIGIN}/admin`);
    await tab.getByRole("heading", { name: "Admin token" }).waitFor();
    await tab.close();

    await page.getByRole("button", { name: "中文" }).click();
    await page.getByRole("heading", { name: "推送任务", exact: true }).waitFor();
    await page.reload();
    await page.getByRole("heading", { name: "推送任务", exact: true }).waitFor();
    expect(await page.locator("html").getAttribute("lang")).toBe("zh-CN");
    await context.close();
  });

  it("shows times in the browser's own zone when it names a real place other than UTC", async () => {
    const fixture: Fixture = { tasks: [task("t1")], posts: [], calls: [] };
    const { context, page } = await open(fixture, "Europe/Berlin");
    await signIn(page, /^令牌/, "进入控制台");
    const created = page.locator('#tasks tr[data-task-id="t1"] td').nth(1);
    await created.waitFor();
    expect(await page.locator("#zone-note").textContent()).toBe("时间均为本机时区 Europe/Berlin 的时间");
    // 06:30 UTC is 07:30 in Berlin in March (CET), 14:30 in Shanghai.
    expect(await created.textContent()).toBe("2025-03-01 07:30:00");
    expect(formatTime("2025-03-01T06:30:00.000Z", "Europe/Berlin")).toBe("2025-03-01 07:30:00");
    await context.close();
  });
});

describe("retry", () => {
  it("is offered only for a done task with failures the route would re-send, and re-queues them", async () => {
    const done = { status: "done", recipients: 5, total: 5 } as const;
    const fixture: Fixture = {
      tasks: [
        task("permanent", { ...done, sent: 2, failed: 3, byErrcode: { "43004": 3 } }),
        task("transient", { ...done, sent: 2, failed: 3, byErrcode: { "-1": 2, "43004": 1 } }),
        task("running", { status: "sending", recipients: 5, total: 5, failed: 1, byErrcode: { "-1": 1 } }),
      ],
      posts: [],
      calls: [],
    };
    const { context, page } = await open(fixture);
    await signIn(page, /^令牌/, "进入控制台");
    const retryOf = (id: string) => page.getByRole("button", { name: `重试任务 ${id} 的失败投递` });
    await retryOf("transient").waitFor();
    expect(await retryOf("permanent").isDisabled()).toBe(true);
    expect(await retryOf("running").isDisabled()).toBe(true);
    expect(await retryOf("transient").isEnabled()).toBe(true);

    await page.getByRole("button", { name: "打开任务 transient" }).click();
    await page.locator("#detail-errcodes li").first().waitFor();
    expect(await page.locator("#detail-errcodes li").allTextContents()).toEqual([
      "-1 系统繁忙，稍后重试 × 2",
      "43004 用户未关注公众号 × 1",
    ]);
    await page.locator("#retry-button").click();
    await page.getByText("任务 transient：已为 2 位接收人重新排队发送。").waitFor();
    expect(fixture.calls.filter((c) => c.startsWith("POST"))).toEqual(["POST /api/tasks/transient/retry"]);
    await shot(page, "retry");
    await context.close();
  });
});

describe("importing followers from WeChat", () => {
  const counts = (pages: number, imported: number, alreadyKnown: number) => ({
    pages,
    imported,
    alreadyKnown,
  });
  /** No tasks or posts; the sync starts with `start`, then shows `views` in turn. */
  const syncing = (start: { status: number; body: unknown }, views: SyncView[]): Fixture => ({
    tasks: [],
    posts: [],
    calls: [],
    sync: { start, views },
  });

  it("starts a sync, shows its progress, and says in words why it paused", async () => {
    const fixture = syncing({ status: 202, body: { syncId: "s1" } }, [
      { status: "running", ...counts(1, 87, 13) },
      {
        status: "paused",
        ...counts(2, 87, 113),
        error: "45009: user/get's daily quota is used up (reach max api daily quota limit rid: 1-2-3)",
      },
    ]);
    const { context, page } = await open(fixture);
    await signIn(page, /^令牌/, "进入控制台");
    await page.getByRole("button", { name: "从微信导入关注者" }).click();
    await page.locator('#sync-progress[data-status="paused"]').waitFor();
    expect(await page.locator("#sync-progress").textContent()).toBe(
      "已暂停 · 已读取 2 页 · 新增 87 · 已有 113",
    );
    expect(await page.locator("#sync-msg").textContent()).toBe(
      "暂停原因：45009 今日额度已用完（获取关注者列表每天可调用 500 次，北京时间 0 点重置）。点击“继续导入”将从中断处继续。",
    );
    expect(await page.locator("#sync-start").textContent()).toBe("继续导入");
    expect(fixture.calls.filter((c) => c.includes("/subscribers/sync"))).toEqual([
      "POST /api/subscribers/sync",
      "GET /api/subscribers/sync/s1",
      "GET /api/subscribers/sync/s1",
    ]);
    await shot(page, "sync-paused");
    await context.close();
  });

  it("explains a 409: one import at a time", async () => {
    const fixture = syncing(
      { status: 409, body: { error: "follower sync s0 is running: one sync at a time" } },
      [],
    );
    const { context, page } = await open(fixture);
    await signIn(page, /^令牌/, "进入控制台");
    await page.getByRole("button", { name: "从微信导入关注者" }).click();
    await page.getByText(/^已有一个导入正在进行/).waitFor();
    expect(await page.locator("#sync-msg").textContent()).toBe(
      "已有一个导入正在进行，同一时间只能运行一个，请等它结束后再试：follower sync s0 is running: one sync at a time",
    );
    expect(await page.locator("#sync-start").isEnabled()).toBe(true);
    await context.close();
  });
});

describe("progress", () => {
  it("shows no total while the fan-out is still counting, and delivery unknown apart from failed", async () => {
    const fixture: Fixture = {
      tasks: [task("all", { audience: "all", status: "sending", total: 40, sent: 30, pending: 10 })],
      posts: [
        post("FANOUT01", {
          status: "fanning_out",
          total: 200,
          sent: 10,
          failed: 1,
          unknown: 2,
          pending: 187,
        }),
        post("DONE0001", {
          status: "done",
          total: 8,
          sent: 5,
          failed: 1,
          unknown: 2,
          byErrcode: { "-2": 2 },
        }),
      ],
      calls: [],
    };
    const { context, page } = await open(fixture);
    await signIn(page, /^令牌/, "进入控制台");
    const bar = (row: string) => page.locator(`${row} [role=progressbar]`);
    await bar('#posts tr[data-out-trade-no="FANOUT01"]').waitFor();
    const fanning = bar('#posts tr[data-out-trade-no="FANOUT01"]');
    expect(await fanning.getAttribute("aria-valuetext")).toBe(
      "分发中… 已发送 10 · 失败 1 · 投递未知 2 · 跳过 0",
    );
    expect(await fanning.getAttribute("aria-valuenow")).toBeNull();
    expect(await page.locator('#posts tr[data-out-trade-no="FANOUT01"] [data-status]').textContent()).toBe(
      "分发中",
    );
    const settled = bar('#posts tr[data-out-trade-no="DONE0001"]');
    expect(await settled.getAttribute("aria-valuetext")).toBe(
      "已发送 5 · 失败 1 · 投递未知 2 · 跳过 0 · 待发送 0 / 共 8",
    );
    expect(await settled.getAttribute("aria-valuenow")).toBe("8");
    const unknownWidth = await settled.locator(".unknown").evaluate((e) => e.getBoundingClientRect().width);
    const failedWidth = await settled.locator(".failed").evaluate((e) => e.getBoundingClientRect().width);
    expect(unknownWidth).toBeCloseTo(2 * failedWidth, 0);
    // A task to every subscriber: the API does not tell its fan-out from its sending.
    expect(await bar('#tasks tr[data-task-id="all"]').getAttribute("aria-valuetext")).toBe(
      "总数统计中… 已发送 30 · 失败 0 · 投递未知 0 · 跳过 0",
    );
    await shot(page, "progress");
    await context.close();
  });
});

describe("preview and scheduled send", () => {
  it("previews to the remembered test openids, explains each outcome, and schedules in Beijing time", async () => {
    const fixture: Fixture = {
      tasks: [task("t1", { recipients: 3, total: 3, pending: 3 })],
      posts: [post("P0001", { payment: "PENDING", status: "awaiting_payment", broadcastId: null })],
      calls: [],
    };
    const { context, page } = await open(fixture);
    await signIn(page, /^令牌/, "进入控制台");
    await page.getByRole("button", { name: "打开任务 t1" }).click();
    const openidsField = page.getByLabel(/^测试用户 openid/).first();
    await openidsField.fill("oTester0001\nbad id!");
    await page.locator("#task-preview-button").click();
    expect(await page.locator("#task-preview-msg").textContent()).toBe(
      "第 2 行不是微信 openid（6–64 位字母、数字、_ 或 -）。",
    );
    expect(fixture.calls.filter((c) => c.endsWith("/preview"))).toEqual([]);
    await openidsField.fill("oTester0001\noTester0002");
    await page.locator("#task-preview-button").click();
    await page.locator("#task-preview-results li").nth(1).waitFor();
    expect(await page.locator("#task-preview-results li").allTextContents()).toEqual([
      "oTester0001 已发送",
      "oTester0002 43004 用户未关注公众号",
    ]);
    expect(fixture.bodies?.["POST /api/tasks/t1/preview"]).toEqual({
      openids: ["oTester0001", "oTester0002"],
    });
    expect(await page.evaluate(() => localStorage.getItem("fanout.testOpenids"))).toBe(
      "oTester0001\noTester0002",
    );

    // The post list previews too, with the same remembered list.
    await page.getByRole("button", { name: "预览付费信息 P0001" }).click();
    expect(await page.locator("#post-preview-openids").inputValue()).toBe("oTester0001\noTester0002");
    await page.locator("#post-preview-button").click();
    await page.locator("#post-preview-results li").first().waitFor();
    expect(fixture.calls).toContain("POST /api/posts/P0001/preview");

    // Tomorrow, 09:00 on a Beijing clock: the page runs in UTC, the console still schedules in Beijing time.
    const day = new Date(Date.now() + 8 * 3600_000 + 24 * 3600_000).toISOString().slice(0, 10);
    await page.locator("#schedule-at").fill(`${day}T09:00`);
    await page.locator("#schedule-button").click();
    await page.getByText(`已定时，将于 ${day} 09:00:00 发送（误差在 1 分钟内）。`).first().waitFor();
    expect(fixture.bodies?.["POST /api/tasks/t1/send"]).toEqual({ at: `${day}T09:00:00+08:00` });
    await page.locator("#cancel-schedule-button").waitFor();
    expect(await page.locator("#send-button").isDisabled()).toBe(true);
    expect(await page.locator("#detail-summary").textContent()).toContain(`定时发送${day} 09:00:00`);
    await shot(page, "preview-schedule");

    await context.close();
  });
});
