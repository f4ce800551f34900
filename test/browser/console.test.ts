import type { Browser, BrowserContext, Page, Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatTime } from "../../functions/console/src/format.ts";
import { openids, startTestApp, type TestApp } from "../e2e/harness.ts";
import { launchChromium, screenshots } from "./browser.ts";

/**
 * The operator console in headless Chromium against the whole local stack: the page the admin function
 * serves, the real admin API behind it, the WeChat simulator behind the sender.
 */

let t: TestApp;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const shot = screenshots("console");

beforeAll(async () => {
  [t, browser] = await Promise.all([startTestApp(), launchChromium()]);
  // A fixed zone: the console shows Asia/Shanghai times when the browser's zone is UTC.
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: "UTC" });
  page = await context.newPage();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

async function signIn(p: Page, token = t.app.adminToken): Promise<void> {
  await p.goto(`${t.app.baseUrl}/admin`);
  // Start from the prompt even if this tab already holds a token.
  await p.evaluate(() => sessionStorage.clear());
  await p.reload();
  await p.getByLabel(/^令牌/).fill(token);
  await p.getByRole("button", { name: "进入控制台" }).click();
}

/** Requests the page makes to the API, for asserting what it did (or did not) send. */
function recordApiCalls(p: Page): Request[] {
  const calls: Request[] = [];
  p.on("request", (r) => {
    if (new URL(r.url()).pathname.startsWith("/api/")) calls.push(r);
  });
  return calls;
}

/** A push task as the operator types it into the create form. */
const springTask = {
  name: "春季上新推送",
  topic: "春季上新",
  caption: "新品到货，欢迎选购",
  tips: "点击查看详情",
  goods: { id: "G-1001", title: "不锈钢保温杯", price: "39.90" },
};

/** Fills the create form with `task` (on the stack's own template, named 上新通知) and submits it. */
async function submitTaskForm(p: Page, task: typeof springTask): Promise<void> {
  await p.getByLabel("名称", { exact: true }).fill(task.name);
  await p.getByLabel("模板 ID").fill(t.app.env.WECHAT_TEMPLATE_ID ?? "");
  await p.getByLabel("模板名称").fill("上新通知");
  await p.getByLabel("主题（最多 10 个字）").fill(task.topic);
  await p.getByLabel("说明（最多 30 个字）").fill(task.caption);
  await p.getByLabel("提示（选填，最多 30 个字）").fill(task.tips);
  await p.getByLabel("商品编码").fill(task.goods.id);
  await p.getByLabel("商品名称").fill(task.goods.title);
  await p.getByLabel("商品价格（元，如 12.50）").fill(task.goods.price);
  await p.getByRole("button", { name: "创建任务" }).click();
}

describe("the console page", () => {
  it("is served without the token, with a strict CSP and cacheable hashed assets", async () => {
    const res = await fetch(`${t.app.baseUrl}/admin`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    const html = await res.text();
    const script = /src="(\/admin\/app\.js\?v=[0-9a-f]+)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const js = await fetch(`${t.app.baseUrl}${script}`);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toContain("immutable");
    expect((await fetch(`${t.app.baseUrl}/admin/nothing-here`)).status).toBe(404);
    // The API itself still wants the token.
    expect((await fetch(`${t.app.baseUrl}/api/posts`)).status).toBe(401);
  });

  it("asks for the token, refuses a wrong one, and keeps the right one for this tab only", async () => {
    await page.goto(`${t.app.baseUrl}/admin`);
    await page.getByLabel(/^令牌/).waitFor();
    await shot(page, "token-prompt");

    await signIn(page, "not-the-admin-token-at-all");
    await page.getByText("令牌被拒绝").waitFor();
    expect(await page.locator("#app").isHidden()).toBe(true);
    await shot(page, "token-refused");

    await signIn(page);
    await page.getByRole("heading", { name: "推送任务", exact: true }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("fanout.adminToken"))).toBe(t.app.adminToken);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    // A reload keeps the session; another tab does not share it.
    await page.reload();
    await page.getByRole("heading", { name: "推送任务", exact: true }).waitFor();
    const other = await context.newPage();
    await other.goto(`${t.app.baseUrl}/admin`);
    await other.getByLabel(/^令牌/).waitFor();
    await other.close();
  });
});

describe("the create form", () => {
  it("shows the limit messages inline and refuses to submit", async () => {
    await signIn(page);
    const calls = recordApiCalls(page);
    await page.getByLabel("主题（最多 10 个字）").fill("十一个字的活动主题名称");
    await page.getByLabel("说明（最多 30 个字）").fill("c".repeat(31));
    await page.getByLabel("提示（选填，最多 30 个字）").fill("温馨提示".repeat(8));
    expect(await page.locator("#f-topic-msg").textContent()).toBe("最多 10 个字（当前 11 个）。");
    expect(await page.locator("#f-caption-msg").textContent()).toBe("最多 30 个字（当前 31 个）。");
    expect(await page.locator("#f-tips-msg").textContent()).toBe("最多 30 个字（当前 32 个）。");
    expect(await page.getByLabel("主题（最多 10 个字）").getAttribute("aria-invalid")).toBe("true");

    await page.getByRole("button", { name: "创建任务" }).click();
    expect(await page.locator("#form-msg").textContent()).toMatch(/^未创建：请修改上面标出的 \d+ 个字段。$/);
    // Required fields left empty are named too, and the first bad field has the focus.
    expect(await page.locator("#f-name-msg").textContent()).toBe("必填。");
    expect(await page.locator("#f-goodsPrice-msg").textContent()).toBe("必填。");
    expect(await page.evaluate("document.activeElement.id")).toBe("f-name");
    expect(calls.filter((r) => r.method() === "POST")).toHaveLength(0);
    await shot(page, "form-limits");

    // Back within the limits, the messages go.
    await page.getByLabel("主题（最多 10 个字）").fill("春季上新");
    expect(await page.locator("#f-topic-msg").textContent()).toBe("");
    await page.getByLabel("商品价格（元，如 12.50）").fill("12.345");
    expect(await page.locator("#f-goodsPrice-msg").textContent()).toMatch(/最多两位小数/);
  });
});

describe("the create form, answered by the API", () => {
  it("shows the API's 400 under the field it names and creates nothing", async () => {
    await signIn(page);
    const calls = recordApiCalls(page);
    await submitTaskForm(page, {
      ...springTask,
      name: "太长的说明",
      // Within the caption's 30 characters, but `thing2={{caption}}` renders past a thing's 20.
      caption: "这是一段二十五个字的说明文字用来测试模板字段长度",
      tips: "",
      goods: { id: "G-2001", title: "保温杯", price: "10" },
    });
    // The admin function may still be answering the template list the template field asked for.
    await expect
      .poll(() => page.locator("#f-data-msg").textContent(), { timeout: 10_000 })
      .toMatch(/^thing2: .*at most 20 characters/);
    expect(await page.locator("#form-msg").textContent()).toMatch(/^未创建：/);
    expect(calls.filter((r) => r.method() === "POST" && r.url().endsWith("/api/tasks"))).toHaveLength(1);
    expect(await page.locator("#tasks tbody tr").count()).toBe(0);
    await shot(page, "form-server-400");
  });
});

describe("paid-post broadcasts", () => {
  it("lists paid posts newest first with their progress", async () => {
    const audience = openids("Bc", 30);
    await t.seed(audience.map((openid) => ({ openid })));
    await t.client.notify(await t.postAndNotify("CONSOLE0001"));
    await t.client.waitForBroadcast("CONSOLE0001");
    await t.client.registerPost({ outTradeNo: "CONSOLE0002", amount: 800, content: "求购：旧钢管" });

    await signIn(page);
    const rows = page.locator("#posts tbody tr");
    await rows.first().waitFor();
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(0).getAttribute("data-out-trade-no")).toBe("CONSOLE0002");
    expect(await rows.nth(0).locator("[data-status]").textContent()).toBe("待支付");
    expect(await rows.nth(0).locator("[data-payment]").textContent()).toBe("待支付");
    expect(await rows.nth(0).locator("td.num").textContent()).toBe("¥8.00");
    const paid = page.locator('#posts tr[data-out-trade-no="CONSOLE0001"]');
    expect(await paid.locator("[data-status]").textContent()).toBe("已完成");
    expect(await paid.locator("[data-payment]").textContent()).toBe("已支付");
    expect(await paid.getByRole("progressbar").getAttribute("aria-valuetext")).toBe(
      "已发送 30 · 失败 0 · 投递未知 0 · 跳过 0 · 待发送 0 / 共 30",
    );
    // Created times in Asia/Shanghai (the browser is at UTC), labelled as such.
    const created = paid.locator("td").nth(1);
    expect(await created.textContent()).toBe(
      formatTime((await created.getAttribute("title")) ?? "", "Asia/Shanghai"),
    );
    expect(await page.locator("#zone-note").textContent()).toBe("时间均为北京时间（Asia/Shanghai）");
    await shot(page, "broadcasts");
  });

  it("pages the post list with the cursor it hands out, and refuses a forged one", async () => {
    const get = async (query: string) => {
      const res = await fetch(`${t.app.baseUrl}/api/posts${query}`, {
        headers: { authorization: `Bearer ${t.app.adminToken}` },
      });
      return {
        status: res.status,
        body: (await res.json()) as { items: { outTradeNo: string }[]; next: string | null },
      };
    };
    const first = await get("?limit=1");
    expect(first.body.items.map((p) => p.outTradeNo)).toEqual(["CONSOLE0002"]);
    expect(first.body.next).toEqual(expect.any(String));
    const second = await get(`?limit=1&cursor=${encodeURIComponent(first.body.next ?? "")}`);
    expect(second.body.items.map((p) => p.outTradeNo)).toEqual(["CONSOLE0001"]);
    expect((await get("?cursor=bm90LWEtY3Vyc29y")).status).toBe(400);
    expect((await get("?limit=1000")).status).toBe(400);
  });
});

describe("a push task, end to end", () => {
  const following = openids("Tk", 8);
  const unfollowed = openids("TkGone", 3);

  it("is created in the form, takes a CSV, is sent once, shows live progress and its failures", async () => {
    t.sim.addUsers(following);
    // WeChat answers 43004 for these: the failures the operator filters for.
    t.sim.addUsers(unfollowed, { followed: false });
    await signIn(page);
    const calls = recordApiCalls(page);

    await submitTaskForm(page, springTask);
    await page.getByText(/^任务 .+ 已创建。/).waitFor();
    // The new task opens below the list.
    await page.locator("#detail-title", { hasText: "春季上新推送" }).waitFor();
    const taskId = (await page.locator("#task-detail").getAttribute("data-task-id")) ?? "";
    expect(taskId).not.toBe("");
    const row = page.locator(`#tasks tr[data-task-id="${taskId}"]`);
    expect(await row.textContent()).toContain("上新通知");
    expect(await row.textContent()).toContain("G-1001 · ¥39.90 · 已上架");
    expect(await row.locator("[data-status]").textContent()).toBe("草稿");
    await shot(page, "task-created");

    // A header, 11 distinct openids, 2 repeats, a blank line and 2 lines that are not openids.
    const csv = [
      "openid",
      ...following,
      following[0],
      "not an openid!",
      ...unfollowed,
      following[1],
      "",
      "x",
    ];
    await page.setInputFiles("#csv-file", {
      name: "recipients.csv",
      mimeType: "text/csv",
      buffer: Buffer.from(csv.join("\n")),
    });
    await page.getByRole("button", { name: "上传" }).click();
    await page.locator("#upload-summary").waitFor();
    expect(await page.locator("#upload-summary").textContent()).toBe("新增 11 · 重复 2 · 无效行 2");
    const invalidLines = page.getByRole("table", { name: "无效行" }).locator("tbody tr");
    expect(await invalidLines.count()).toBe(2);
    expect(await invalidLines.nth(0).locator("td").first().textContent()).toBe("11");
    expect(await invalidLines.nth(1).locator("td").first().textContent()).toBe("17");
    // The API's reason, in the operator's language.
    expect(await invalidLines.nth(0).locator("td").nth(1).textContent()).toMatch(/^不是微信 openid/);
    // The task's recipients column follows the upload.
    await expect.poll(() => row.locator("td").nth(4).textContent()).toBe("11");
    await shot(page, "csv-report");

    // Slow WeChat down so the run is still going while the page polls it.
    t.sim.setFaults({ latencyMs: 1500 });
    const send = page.locator("#send-button");
    await send.click();
    expect(await send.isDisabled()).toBe(true);
    await page.locator("#detail-progress").getByRole("progressbar").waitFor();
    await shot(page, "sending");

    const summary = page.locator("#detail-summary");
    await summary.getByText("已完成", { exact: true }).waitFor({ timeout: 45_000 });
    t.sim.clearFaults();
    const polls = calls.filter(
      (r) => r.method() === "GET" && new URL(r.url()).pathname === `/api/tasks/${taskId}`,
    );
    expect(polls.length).toBeGreaterThan(1);
    expect(
      await page.locator("#detail-progress").getByRole("progressbar").getAttribute("aria-valuetext"),
    ).toBe("已发送 8 · 失败 3 · 投递未知 0 · 跳过 0 · 待发送 0 / 共 11");
    expect(await send.isDisabled()).toBe(true);
    expect(await row.getByRole("button", { name: `发送任务 ${taskId}` }).isDisabled()).toBe(true);
    // 43004 is permanent: the retry route would re-send nobody, so Retry is not offered.
    expect(await page.locator("#retry-button").isDisabled()).toBe(true);
    expect(await row.getByRole("button", { name: `重试任务 ${taskId} 的失败投递` }).isDisabled()).toBe(true);
    expect(await page.locator('#detail-errcodes li[data-errcode="43004"]').textContent()).toBe(
      "43004 用户未关注公众号 × 3",
    );
    expect(calls.filter((r) => r.method() === "POST" && r.url().endsWith("/send"))).toHaveLength(1);
    await shot(page, "done");

    // Per-user records: everyone, then the failures only, with WeChat's errcode explained and its errmsg.
    const records = page.locator("#records tbody tr");
    await expect.poll(() => records.count()).toBe(11);
    await page.getByLabel("状态筛选").selectOption({ label: "失败" });
    await expect.poll(() => records.count()).toBe(3);
    const shown: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const cells = records.nth(i).locator("td");
      shown.push((await cells.nth(0).textContent()) ?? "");
      expect(await cells.nth(1).textContent()).toBe("失败");
      expect(await cells.nth(2).textContent()).toBe("43004");
      expect(await cells.nth(3).textContent()).toBe("用户未关注公众号");
      expect(await cells.nth(4).textContent()).not.toBe("");
    }
    expect(shown.sort()).toEqual([...unfollowed].sort());
    await shot(page, "failed-only");

    // The API agrees that a second send is refused.
    const again = await fetch(`${t.app.baseUrl}/api/tasks/${taskId}/send`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.app.adminToken}` },
    });
    expect(again.status).toBe(409);
  });
});
