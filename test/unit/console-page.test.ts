import { Script } from "node:vm";
import { describe, expect, it } from "vitest";
import { CONTENT_SECURITY_POLICY, serveConsole } from "../../functions/console/serve.ts";
import type { HttpEvent } from "../../functions/http.ts";

function get(path: string, method = "GET", query?: Record<string, string>): HttpEvent {
  return {
    rawPath: path,
    ...(query ? { queryStringParameters: query } : {}),
    requestContext: { http: { method } },
  } as unknown as HttpEvent;
}

describe("the console's static files", () => {
  it("leaves every path outside /admin to the API", () => {
    expect(serveConsole(get("/api/tasks"))).toBeUndefined();
    expect(serveConsole(get("/administrator"))).toBeUndefined();
  });

  it("serves the page uncached, with the CSP, pointing at hashed assets", () => {
    for (const path of ["/admin", "/admin/"]) {
      const res = serveConsole(get(path));
      expect(res?.statusCode).toBe(200);
      expect(res?.headers).toMatchObject({
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-cache",
        "content-security-policy": CONTENT_SECURITY_POLICY,
        "x-content-type-options": "nosniff",
      });
    }
    const html = String(serveConsole(get("/admin"))?.body);
    expect(html).toMatch(/<script src="\/admin\/app\.js\?v=[0-9a-f]{12}" defer><\/script>/);
    expect(html).toMatch(/<link rel="stylesheet" href="\/admin\/app\.css\?v=[0-9a-f]{12}">/);
    // Nothing the CSP would block: no inline script, style or event handler.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|\son[a-z]+=/);
  });

  it("lets the browser keep an asset for good only under its current hash", () => {
    const html = String(serveConsole(get("/admin"))?.body);
    const version = /app\.js\?v=([0-9a-f]+)/.exec(html)?.[1] ?? "";
    const current = serveConsole(get("/admin/app.js", "GET", { v: version }));
    expect(current?.headers?.["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(current?.headers?.["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(serveConsole(get("/admin/app.js", "GET", { v: "000000000000" }))?.headers?.["cache-control"]).toBe(
      "no-cache",
    );
  });

  it("answers HEAD without a body, other methods 405 and unknown files 404", () => {
    expect(serveConsole(get("/admin", "HEAD"))).toMatchObject({ statusCode: 200, body: "" });
    expect(serveConsole(get("/admin", "POST"))).toMatchObject({ statusCode: 405 });
    expect(serveConsole(get("/admin/../api/tasks"))).toMatchObject({ statusCode: 404 });
  });

  it("ships one minified browser script that parses, and that puts no API value into innerHTML", () => {
    const appJs = String(serveConsole(get("/admin/app.js"))?.body);
    expect(() => new Script(appJs)).not.toThrow();
    // Bundled for the browser: no module syntax left, nothing it would have to fetch.
    expect(appJs).not.toMatch(/^\s*(import|export)\s/m);
    expect(appJs).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
    // Chinese stays UTF-8 (served as such), not \uXXXX escapes at twice the bytes.
    expect(appJs).toContain("草稿");
    expect(appJs).not.toContain("\\u8349");
  });

  it("serves the stylesheet minified and the page in Chinese", () => {
    const css = String(serveConsole(get("/admin/app.css"))?.body);
    expect(css).toContain(".progress .unknown{");
    expect(css).not.toContain("/*");
    expect(String(serveConsole(get("/admin"))?.body)).toContain('<html lang="zh-CN">');
  });
});
