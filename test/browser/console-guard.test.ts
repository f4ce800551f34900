import type { Page, Route } from "playwright-core";
import { describe, expect, it } from "vitest";
import type { SubscriberView, UnsuppressAnswer } from "../../functions/contracts/api.ts";
import { postView } from "../fixtures/console-answers.ts";
import { ADMIN_TOKEN, fulfilConsolePage, openSignedIn, screenshots, useChromium } from "./browser.ts";

/**
 * Suppression and the daily cap in the console, in headless Chromium against the page serveConsole
 * serves: a suppressed subscriber in the lookup and the operator lifting it; a post's skips by reason.
 */

const browser = useChromium();
const shot = screenshots("console-guard");

const capped = postView("CAPPED0001", {
  paidAt: "2025-03-01T06:30:30.000Z",
  total: 8,
  sent: 1,
  skipped: 7,
  byChannel: { template: 1 },
  byErrcode: { none: 7 },
  bySkipReason: { "daily cap": 6, "suppressed: user block": 1 },
});

const blocked: SubscriberView = {
  openid: "oBlocked00000000000000000001",
  optedIn: true,
  optedInBy: null,
  optedInSince: null,
  followed: true,
  followedChangedAt: null,
  membershipExpiresAt: null,
  membershipActive: true,
  window: null,
  suppressed: { reason: "user block", since: "2025-03-01T01:02:03.000Z" },
  inAudience: true,
  lastInteractionAt: null,
  createdAt: "2025-02-01T00:00:00.000Z",
  credits: [],
  recentDeliveries: { items: [], searchedBroadcasts: 1, readUnits: 1, complete: true, stoppedBy: "end" },
};

let suppressed = true;
const lifts: string[] = [];

async function fulfil(route: Route): Promise<void> {
  const request = route.request();
  const url = new URL(request.url());
  if (await fulfilConsolePage(route)) return;
  const answer = (body: unknown, status = 200) =>
    route.fulfill({ status, contentType: "application/json", body: JSON.stringify(body) });
  if (request.headers().authorization !== `Bearer ${ADMIN_TOKEN}`)
    return answer({ error: "unauthorized" }, 401);
  switch (`${request.method()} ${url.pathname}`) {
    case "GET /api/tasks":
      return answer({ items: [], next: null });
    case "GET /api/posts":
      return answer({ items: [capped], next: null });
    case "GET /api/posts/CAPPED0001":
      return answer(capped);
    case "GET /api/posts/CAPPED0001/deliveries":
      return answer({ items: [], next: null });
    case `GET /api/subscribers/${blocked.openid}`:
      return answer({ ...blocked, suppressed: suppressed ? blocked.suppressed : null });
    case `POST /api/subscribers/${blocked.openid}/unsuppress`: {
      lifts.push(blocked.openid);
      const lifted = suppressed ? "user block" : null;
      suppressed = false;
      return answer({ openid: blocked.openid, lifted } satisfies UnsuppressAnswer);
    }
  }
  return answer({ error: "no such route" }, 404);
}

const open = () => openSignedIn(browser(), fulfil, { viewport: { width: 1280, height: 1000 } });

const summaryPairs = async (page: Page) => {
  const lines = await page.locator("#lookup-summary").locator("dt, dd").allTextContents();
  return Object.fromEntries(lines.flatMap((_, i) => (i % 2 === 0 ? [[lines[i], lines[i + 1]]] : [])));
};

describe("suppression in the console", () => {
  it("shows why a subscriber is suppressed, and the operator lifts it", async () => {
    const { context, page } = await open();
    await page.getByRole("searchbox", { name: "用户 openid" }).fill(blocked.openid);
    await page.getByRole("button", { name: "查询", exact: true }).click();
    await page.locator("#lookup-summary").waitFor();
    expect(await summaryPairs(page)).toMatchObject({
      拒收屏蔽: "已屏蔽：用户拒收公众号消息（送达报告 failed:user block） · 自 2025-03-01 09:02:03",
    });
    await shot(page, "suppressed");
    await page.getByRole("button", { name: "解除屏蔽" }).click();
    await page.getByText("已解除屏蔽：之后的群发会再发给该用户。").waitFor();
    expect(await summaryPairs(page)).toMatchObject({ 拒收屏蔽: "未屏蔽" });
    expect(await page.getByRole("button", { name: "解除屏蔽" }).count()).toBe(0);
    expect(lifts).toEqual([blocked.openid]);
    await context.close();
  });

  it("shows a post's skips by reason in words", async () => {
    const { context, page } = await open();
    await page.getByRole("button", { name: "打开付费信息 CAPPED0001" }).click();
    const reasons = page.locator("#post-skip-reasons li");
    await reasons.first().waitFor();
    expect(await reasons.allTextContents()).toEqual(["已达每日付费信息上限 × 6", "已屏蔽：用户拒收 × 1"]);
    await shot(page, "skip-reasons");
    await context.close();
  });
});
