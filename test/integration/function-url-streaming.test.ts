import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type LambdaRunner, startLambdaRunner } from "../../infra/local/lambda-runner.ts";

/**
 * The local runner's RESPONSE_STREAM Function URLs, as Lambda serves them: the handler's prelude
 * becomes the status and headers, its bytes go out as they are written, and a failure after the head
 * cuts the connection. No emulator is needed: these functions touch no AWS service.
 */

let runner: LambdaRunner;
let dir: string;
const fn = (handler: string, streaming: boolean) => ({
  handler,
  timeoutSeconds: 5,
  memoryMb: 256,
  streaming,
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "streaming-test-"));
  runner = await startLambdaRunner({
    env: {
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL_SQS: "http://127.0.0.1:9",
      AWS_ACCESS_KEY_ID: "x",
      AWS_SECRET_ACCESS_KEY: "x",
    },
    queues: [],
    log: (line) => process.env.DEBUG_STREAM && console.log(line),
    schedules: {},
    functions: {
      stream: fn("test/fixtures/echo-stream.handler", true),
      bufferedBehindStream: fn("test/fixtures/echo-http.handler", true),
      streamBehindBuffered: fn("test/fixtures/echo-stream.handler", false),
    },
    routes: [
      { path: "/stream", function: "stream" },
      { path: "/buffered-behind-stream", function: "bufferedBehindStream" },
      { path: "/stream-behind-buffered", function: "streamBehindBuffered" },
    ],
  });
}, 60_000);

afterAll(async () => {
  await runner?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("a RESPONSE_STREAM Function URL", () => {
  test("answers with the prelude's status, headers and cookies, then the body, chunked", async () => {
    const res = await fetch(`${runner.url}/stream?pieces=3&status=201`);
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("x-echo")).toBe("/stream");
    expect(res.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; HttpOnly"]);
    expect(res.headers.get("content-length")).toBeNull();
    expect(res.headers.get("transfer-encoding")).toBe("chunked");
    expect(await res.text()).toBe("row 0\r\nrow 1\r\nrow 2\r\n");

    const head = await fetch(`${runner.url}/stream`, { method: "HEAD" });
    expect(head.status).toBe(201);
    expect(await head.text()).toBe("");
  });

  test("sends what the handler wrote before the handler has written the rest", async () => {
    // The handler waits for this file before its second piece; it is made only once the first
    // piece has arrived, so a runner that held the body back would never answer (the handler
    // would time out and the read below fail).
    const gate = join(dir, "gate");
    const res = await fetch(`${runner.url}/stream?mode=gated&gate=${encodeURIComponent(gate)}`);
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes("|")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toBe("first|");
    writeFileSync(gate, "");
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value);
    expect(text).toBe("first|second");
  });

  test("without a prelude answers 200 with the stream's own content type", async () => {
    const res = await fetch(`${runner.url}/stream?mode=raw`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await res.text()).toBe("raw body");
  });

  test("streams more than a buffered answer may hold", async () => {
    const res = await fetch(`${runner.url}/stream?mode=big&mib=7`);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.length).toBe(7 << 20);
    expect(body[0]).toBe(97);
    expect(body[body.length - 1]).toBe(97 + 6);
  });

  test("answers 502 to a failure before the head, and cuts the connection after it", async () => {
    const before = await fetch(`${runner.url}/stream?mode=throw-before`);
    expect(before.status).toBe(502);
    expect(await before.json()).toEqual({ message: "Internal Server Error" });
    for (const mode of ["throw-after", "unended"]) {
      const res = await fetch(`${runner.url}/stream?mode=${mode}`);
      expect(res.status, mode).toBe(200);
      await expect(res.text(), mode).rejects.toThrow();
    }
  });

  test("answers 502 when the handler's kind does not match the URL's invoke mode", async () => {
    for (const path of ["/buffered-behind-stream", "/stream-behind-buffered"]) {
      const res = await fetch(`${runner.url}${path}`);
      expect(res.status, path).toBe(502);
      expect(await res.json()).toEqual({ message: "Internal Server Error" });
    }
  });
});
