import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpStatusError } from "../../infra/local/fanout-client.ts";
import { startTestApp, type TestApp } from "../e2e/harness.ts";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});

async function raw(method: string, path: string, body?: string, token: string | null = t.app.adminToken) {
  const res = await fetch(`${t.app.baseUrl}${path}`, {
    method,
    headers: {
      "content-type": "application/json",
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    ...(body === undefined ? {} : { body }),
  });
  return { status: res.status, body: (await res.json()) as { error?: string } & Record<string, unknown> };
}

describe("admin API", () => {
  it("answers 401 without the bearer token or with a wrong one, changing nothing", async () => {
    const body = JSON.stringify({ outTradeNo: "ADM0000001", amount: 100, content: "x" });
    expect((await raw("POST", "/api/posts", body, null)).status).toBe(401);
    expect((await raw("POST", "/api/posts", body, "wrong-token-wrong-token")).status).toBe(401);
    expect((await raw("GET", "/api/posts/ADM0000001")).status).toBe(404);
  });

  it("registers a post once and reports it awaiting payment", async () => {
    const created = await raw(
      "POST",
      "/api/posts",
      JSON.stringify({ outTradeNo: "ADM0000002", amount: 990, content: "供应：钢管" }),
    );
    expect(created).toMatchObject({
      status: 201,
      body: { outTradeNo: "ADM0000002", postId: expect.any(String) },
    });
    const again = await raw(
      "POST",
      "/api/posts",
      JSON.stringify({ outTradeNo: "ADM0000002", amount: 990, content: "供应：钢管" }),
    );
    expect(again).toMatchObject({
      status: 409,
      body: { error: expect.stringMatching(/already registered/) },
    });
    expect(await t.client.getPost("ADM0000002")).toMatchObject({
      payment: "PENDING",
      status: "awaiting_payment",
      pending: 0,
      amount: 990,
    });
    // No broadcast to count reports for until it is paid; an unknown post is a 404.
    expect(await raw("POST", "/api/posts/ADM0000002/tally")).toMatchObject({
      status: 409,
      body: { error: expect.stringMatching(/not paid/) },
    });
    expect((await raw("POST", "/api/posts/ADM9999999/tally")).status).toBe(404);
  });

  it.each([
    ["not JSON", "{", /must be JSON/],
    [
      "a fractional amount",
      { outTradeNo: "ADM0000003", amount: 9.5, content: "x" },
      /amount: must be whole fen/,
    ],
    ["a missing content", { outTradeNo: "ADM0000003", amount: 100 }, /content/],
    ["a bad out_trade_no", { outTradeNo: "含中文", amount: 100, content: "x" }, /outTradeNo/],
    ["an unknown field", { outTradeNo: "ADM0000003", amount: 100, content: "x", extra: 1 }, /extra/],
  ])("refuses a post with %s with a 400 naming the problem", async (_name, body, message) => {
    const res = await raw("POST", "/api/posts", typeof body === "string" ? body : JSON.stringify(body));
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(message);
    expect((await raw("GET", "/api/posts/ADM0000003")).status).toBe(404);
  });

  it("imports subscribers, de-duplicating within a request, and validates each row", async () => {
    const ok = await t.client.importSubscribers([
      { openid: "oAdmin000000000000000000000001" },
      { openid: "oAdmin000000000000000000000001" },
      {
        openid: "oAdmin000000000000000000000002",
        membershipExpiresAt: "2030-01-01T00:00:00Z",
        optedIn: true,
      },
    ]);
    expect(ok).toBe(2);
    const bad = await raw(
      "POST",
      "/api/subscribers",
      JSON.stringify({
        subscribers: [{ openid: "o1" }, { openid: "oAdmin000000000000000000000003", optedIn: "yes" }],
      }),
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/subscribers\.0\.openid/);
    expect(bad.body.error).toMatch(/subscribers\.1\.optedIn/);
    const tooMany = Array.from({ length: 10_001 }, (_, i) => ({
      openid: `oMany${String(i).padStart(10, "0")}`,
    }));
    await expect(t.client.api("POST", "/api/subscribers", { subscribers: tooMany })).rejects.toThrow(
      /10,000/,
    );
    await expect(t.client.api("POST", "/api/subscribers", { subscribers: [] })).rejects.toBeInstanceOf(
      HttpStatusError,
    );
  });

  it("answers 404 for unknown routes and 405 for a wrong method", async () => {
    expect((await raw("GET", "/api/nothing")).status).toBe(404);
    expect((await raw("DELETE", "/api/posts")).status).toBe(405);
  });
});
