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
    const post = JSON.stringify({ outTradeNo: "ADM0000002", amount: 990, content: "供应：钢管" });
    const created = await raw("POST", "/api/posts", post);
    expect(created).toMatchObject({
      status: 201,
      body: { outTradeNo: "ADM0000002", postId: expect.any(String) },
    });
    const again = await raw("POST", "/api/posts", post);
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

describe("tokens by role", () => {
  /** A path the route's pattern matches: its parameters filled with a sample id. */
  const samplePath = (pattern: RegExp) =>
    pattern.source
      .replace(/^\^/, "")
      .replace(/\$$/, "")
      .replaceAll("\\/", "/")
      .replaceAll("\\.", ".")
      .replace(/\(\?![^)]*\)/g, "")
      .replaceAll("([^/]+)", "SAMPLE0001");

  it("walks every route with each token: the operator's opens all, the app's only its own, none or a wrong one nothing", async () => {
    // The route table itself, loaded as the admin function loads it (in this process, against the same emulators).
    Object.assign(process.env, t.app.stack.env);
    const { routes } = await import("../../functions/admin.ts");
    expect(routes.length).toBeGreaterThan(10);
    const appRoutes: string[] = [];
    for (const route of routes) {
      const path = samplePath(route.pattern);
      expect(route.pattern.test(path), path).toBe(true);
      const call = (token: string | null) =>
        raw(route.method, path, route.method === "POST" ? "{}" : undefined, token);
      expect((await call(null)).status, `${route.method} ${path}`).toBe(401);
      expect((await call(`${t.app.appToken}x`)).status, `${route.method} ${path}`).toBe(401);
      const operator = await call(t.app.adminToken);
      expect([401, 403], `${route.method} ${path}`).not.toContain(operator.status);
      const app = await call(t.app.appToken);
      if (route.roles?.includes("app")) {
        appRoutes.push(`${route.method} ${route.pattern.source}`);
        expect([401, 403], `${route.method} ${path}`).not.toContain(app.status);
      } else {
        expect(app, `${route.method} ${path}`).toEqual({
          status: 403,
          body: { error: `this token may not ${route.does}` },
        });
      }
    }
    expect(appRoutes.sort()).toEqual(
      [
        "POST ^\\/api\\/subscribers$",
        "POST ^\\/api\\/posts$",
        "GET ^\\/api\\/posts\\/([^/]+)$",
        "POST ^\\/api\\/subscriptions$",
        "GET ^\\/api\\/subscriptions$",
      ].sort(),
    );
  });

  it("lets the app register a post and read it, never list posts or see tasks", async () => {
    const app = t.app.appToken;
    const body = JSON.stringify({ outTradeNo: "APP0000001", amount: 100, content: "求购：钢板" });
    expect((await raw("POST", "/api/posts", body, app)).status).toBe(201);
    expect(await raw("GET", "/api/posts/APP0000001", undefined, app)).toMatchObject({
      status: 200,
      body: { outTradeNo: "APP0000001", payment: "PENDING" },
    });
    expect((await raw("GET", "/api/posts", undefined, app)).status).toBe(403);
    expect((await raw("GET", "/api/tasks", undefined, app)).status).toBe(403);
  });
});

describe("answers, as an attacker would try them", () => {
  it("marks every JSON answer never to be cached or sniffed, errors included", async () => {
    for (const [method, path, token] of [
      ["GET", "/api/posts", t.app.adminToken],
      ["GET", "/api/nothing-here", t.app.adminToken],
      ["GET", "/api/posts", null],
    ] as const) {
      const res = await fetch(`${t.app.baseUrl}${path}`, {
        method,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      expect(res.headers.get("cache-control"), path).toBe("no-store");
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
    }
  });

  it("answers a malformed percent-encoding with 400, and a 404 in one shape that echoes nothing", async () => {
    expect(await raw("GET", "/api/posts/%E0")).toEqual({
      status: 400,
      body: { error: "the path has a malformed percent-encoding" },
    });
    const missing = await raw("GET", "/api/<script>alert(1)</script>");
    expect(missing).toEqual({ status: 404, body: { error: "no such route" } });
    const outside = await raw("GET", "/nothing/<b>here</b>");
    expect(outside).toEqual({ status: 404, body: { error: "no such route" } });
  });

  it("cuts short an error that quotes the caller's input", async () => {
    const key = "k".repeat(5000);
    const res = await raw(
      "POST",
      "/api/posts",
      JSON.stringify({ outTradeNo: "ADM0000099", amount: 1, content: "x", [key]: 1 }),
    );
    expect(res.status).toBe(400);
    expect(res.body.error?.length).toBeLessThanOrEqual(300);
  });
});
