import type { Route } from "playwright-core";
import { describe, expect, it } from "vitest";
import type { PostList, PostView } from "../../functions/contracts/api.ts";
import { postView } from "../fixtures/console-answers.ts";
import { ADMIN_TOKEN, fulfilConsolePage, openSignedIn, screenshots, useChromium } from "./browser.ts";

/**
 * The review queue (待审核) in headless Chromium against answers shaped by the API's contract:
 * held posts with their reason, 通过 and 驳回 (with a required reason), and a 409 from a rival.
 */
const browser = useChromium();
const shot = screenshots("console-review");

const held = (outTradeNo: string, reviewReason: string) =>
  postView(outTradeNo, {
    status: "held",
    reviewReason,
    broadcastId: null,
    content: `急售叉车 ${outTradeNo} 加微信`,
  });

interface Fixture {
  held: PostView[];
  /** outTradeNos another operator decided: their approve or reject gets 409. */
  decidedElsewhere: Set<string>;
  calls: { call: string; body?: unknown }[];
}

async function fulfil(route: Route, fixture: Fixture): Promise<void> {
  const request = route.request();
  const url = new URL(request.url());
  const method = request.method();
  if (await fulfilConsolePage(route)) return;
  const sent = request.postData();
  fixture.calls.push({ call: `${method} ${url.pathname}`, ...(sent ? { body: JSON.parse(sent) } : {}) });
  const answer = (body: unknown, status = 200) =>
    route.fulfill({ status, contentType: "application/json", body: JSON.stringify(body) });
  if (request.headers().authorization !== `Bearer ${ADMIN_TOKEN}`)
    return answer({ error: "unauthorized" }, 401);
  if (url.pathname === "/api/review") return answer({ items: fixture.held, next: null } satisfies PostList);
  if (url.pathname === "/api/posts" || url.pathname === "/api/tasks")
    return answer({ items: [], next: null });
  const decision = /^\/api\/posts\/([^/]+)\/(approve|reject)$/.exec(url.pathname);
  if (decision && method === "POST") {
    const [, id = "", action] = decision;
    if (fixture.decidedElsewhere.has(id)) {
      fixture.held = fixture.held.filter((p) => p.outTradeNo !== id);
      return answer({ error: "the post was approved already; it is sent once" }, 409);
    }
    fixture.held = fixture.held.filter((p) => p.outTradeNo !== id);
    return action === "approve"
      ? answer({ outTradeNo: id, broadcastId: `post-${id}` }, 202)
      : answer({ outTradeNo: id, status: "rejected" });
  }
  return answer({ error: "no such route" }, 404);
}

describe("the review queue (待审核)", () => {
  it("lists held posts with the reason in words; approves one, rejects one with a reason, and explains a 409", async () => {
    const fixture: Fixture = {
      held: [
        held("R1", 'blocked word "加微信"'),
        held("R2", "blocked pattern /v\\d+/"),
        held("R3", "manual review"),
      ],
      decidedElsewhere: new Set(["R3"]),
      calls: [],
    };
    const { context, page } = await openSignedIn(browser(), (route) => fulfil(route, fixture), {
      viewport: { width: 1280, height: 900 },
      timezoneId: "UTC",
    });
    const items = page.locator("#review-list li");
    await items.first().waitFor();
    expect(await page.locator("#review-title").textContent()).toBe("待审核");
    expect(await items.count()).toBe(3);
    expect(await items.nth(0).textContent()).toContain("命中屏蔽词「加微信」");
    expect(await items.nth(1).textContent()).toContain("命中屏蔽规则 /v\\d+/");
    expect(await items.nth(2).textContent()).toContain("人工审核");
    await shot(page, "queue");

    await page.getByRole("button", { name: "通过付费信息 R1" }).click();
    await page.locator("#review-msg").getByText("已通过 R1，开始群发。").waitFor();
    expect(await items.count()).toBe(2);

    await page.getByRole("button", { name: "驳回付费信息 R2" }).click();
    await page.locator('[data-out-trade-no="R2"] [data-action="confirm"]').click();
    await page.locator("#review-msg").getByText("请填写驳回原因。").waitFor();
    expect(fixture.calls.some((c) => c.call === "POST /api/posts/R2/reject")).toBe(false);
    await page.getByLabel(/^驳回 R2 的原因/).fill("联系方式广告");
    await page.locator('[data-out-trade-no="R2"] [data-action="confirm"]').click();
    await page.locator("#review-msg").getByText("已驳回 R2，不会发送。").waitFor();
    expect(fixture.calls.find((c) => c.call === "POST /api/posts/R2/reject")?.body).toEqual({
      reason: "联系方式广告",
    });

    await page.getByRole("button", { name: "通过付费信息 R3" }).click();
    await page
      .locator("#review-msg")
      .getByText(/^已由他人处理/)
      .waitFor();
    await page.locator("#review-empty").waitFor({ state: "visible" });
    expect(await page.locator("#review-empty").textContent()).toBe("没有待审核的付费信息。");
    await shot(page, "decided");
    await context.close();
  });
});
