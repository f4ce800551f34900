import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  decodeGroupedCursor,
  encodeGroupedCursor,
} from "../../functions/adapters/dynamodb/grouped-deliveries.ts";
import { ValidationError } from "../../functions/core/errors.ts";
import type { DeliveryRecord } from "../../functions/core/model.ts";
import { csvCell, csvRow, deliveriesCsv, shanghaiTime, UTF8_BOM } from "../../functions/csv.ts";
import { json } from "../../functions/http.ts";
import { respond } from "../../functions/http-stream.ts";
import { streamedHead } from "../../infra/local/function-url.ts";

describe("CSV cells", () => {
  it.each([
    ['=HYPERLINK("http://x")', `"'=HYPERLINK(""http://x"")"`],
    ["+1", "'+1"],
    ["-2+3", "'-2+3"],
    ["@SUM(A1)", "'@SUM(A1)"],
    ["\tcmd", "'\tcmd"],
    ["\rcmd", '"\'\rcmd"'],
    ["a,b", '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ["two\nlines", '"two\nlines"'],
    ["invalid openid rid: 6f1c-2", "invalid openid rid: 6f1c-2"],
    ["数据格式错误", "数据格式错误"],
  ])("defuses and quotes %j", (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });

  it("writes numbers as numbers (an errcode of -1 is no formula), and nothing for no value", () => {
    expect(csvRow(["oA", -1, 43004, null, undefined])).toBe("oA,-1,43004,,\r\n");
  });

  it("gives times in Asia/Shanghai with the offset", () => {
    expect(shanghaiTime(Date.UTC(2026, 11, 31, 16, 30, 5, 999))).toBe("2027-01-01T00:30:05+08:00");
  });

  it("writes the BOM and header with the first page, then one piece per page", async () => {
    const record = (openid: string, errmsg: string): DeliveryRecord => ({
      broadcastId: "task-1",
      openid,
      outcome: "failed",
      channel: "template",
      errcode: 43004,
      errmsg,
      attempts: 1,
      at: Date.UTC(2026, 0, 1),
    });
    async function* pages() {
      yield [record("-oDash0001", "require subscribe")];
      yield [];
      yield [record("oPlain0001", "=1+1")];
    }
    const pieces: string[] = [];
    for await (const piece of deliveriesCsv(pages())) pieces.push(piece);
    expect(pieces).toEqual([
      `${UTF8_BOM}openid,status,channel,errcode,errmsg,at\r\n'-oDash0001,failed,template,43004,require subscribe,2026-01-01T08:00:00+08:00\r\n`,
      "",
      "oPlain0001,failed,template,43004,'=1+1,2026-01-01T08:00:00+08:00\r\n",
    ]);
    async function* none() {}
    const empty: string[] = [];
    for await (const piece of deliveriesCsv(none())) empty.push(piece);
    expect(empty).toEqual([`${UTF8_BOM}openid,status,channel,errcode,errmsg,at\r\n`]);
  });
});

describe("the grouped-records cursor", () => {
  it("comes back as it went out", () => {
    const cursor = { key: "#12-3#oABCDEF0123456789", index: 17 };
    const text = encodeGroupedCursor(cursor) as string;
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeGroupedCursor(text)).toEqual(cursor);
    expect(encodeGroupedCursor(null)).toBeNull();
  });

  it.each([
    ["not base64 JSON", "%%%"],
    ["a key that is no group's", Buffer.from(JSON.stringify(["oABCDEF0123", 0])).toString("base64url")],
    ["a negative index", Buffer.from(JSON.stringify(["#1-0#oABCDEF0123", -1])).toString("base64url")],
    ["a task's openid cursor", Buffer.from("oABCDEF0123").toString("base64url")],
  ])("refuses %s", (_name, text) => {
    expect(() => decodeGroupedCursor(text)).toThrow(ValidationError);
  });
});

describe("a streamed Function URL response's prelude", () => {
  const prelude = (metadata: unknown, body = "") =>
    Buffer.concat([Buffer.from(JSON.stringify(metadata)), Buffer.alloc(8), Buffer.from(body)]);

  it("gives the status, headers and cookies, and the body bytes after it", () => {
    const split = streamedHead(
      prelude({ statusCode: 404, headers: { "Content-Type": "text/csv" }, cookies: ["a=1"] }, "x,y"),
    );
    expect(split?.head).toEqual({
      statusCode: 404,
      headers: { "content-type": "text/csv", "set-cookie": ["a=1"] },
    });
    expect(split?.rest.toString()).toBe("x,y");
    expect(streamedHead(prelude({}))?.head.statusCode).toBe(200);
  });

  it("waits for the prelude's end, and refuses a prelude that is not one", () => {
    expect(streamedHead(Buffer.from('{"statusCode":200'))).toBeUndefined();
    expect(() => streamedHead(prelude({ statusCode: 99 }))).toThrow(/statusCode/);
    expect(() => streamedHead(Buffer.concat([Buffer.from("{nope"), Buffer.alloc(8)]))).toThrow(/JSON/);
    expect(() => streamedHead(Buffer.alloc(70 * 1024, 32))).toThrow(/never ends/);
  });
});

/** The `awslambda` global as Lambda's runtime has it: `from` writes the prelude before the first bytes. */
class Sink extends Writable {
  readonly written: Buffer[] = [];
  private prelude: Buffer | undefined;
  override _write(chunk: Buffer, _e: BufferEncoding, done: () => void) {
    if (this.prelude) {
      this.written.push(this.prelude);
      this.prelude = undefined;
    }
    this.written.push(chunk);
    done();
  }
  setPrelude(metadata: unknown) {
    this.prelude = Buffer.concat([Buffer.from(JSON.stringify(metadata)), Buffer.alloc(8)]);
  }
  text = () => Buffer.concat(this.written).toString("utf8");
}

describe("answers written to a response stream", () => {
  const saved = (globalThis as Record<string, unknown>).awslambda;
  beforeEach(() => {
    (globalThis as Record<string, unknown>).awslambda = {
      HttpResponseStream: {
        from(stream: Sink, metadata: unknown) {
          stream.setPrelude(metadata);
          return stream;
        },
      },
    };
  });
  afterEach(() => {
    (globalThis as Record<string, unknown>).awslambda = saved;
  });
  const failures = { answer: () => json(500, { error: "internal error" }), log: () => {} };

  it("writes a buffered answer whole: status and headers in the prelude, the body as is", async () => {
    const sink = new Sink();
    await respond({ ...json(201, { ok: true }), cookies: ["c=1"] }, sink, failures);
    expect(sink.text()).toBe(
      `{"statusCode":201,"headers":{"content-type":"application/json","cache-control":"no-store","x-content-type-options":"nosniff"},"cookies":["c=1"]}\0\0\0\0\0\0\0\0{"ok":true}`,
    );
    const empty = new Sink();
    await respond({ statusCode: 200, body: "" }, empty, failures);
    expect(empty.text()).toBe(`{"statusCode":200,"headers":{}}\0\0\0\0\0\0\0\0`);
  });

  it("answers a failure of the first piece with an error of its own, and rethrows a later one", async () => {
    async function* failingAt(n: number) {
      for (let i = 0; ; i += 1) {
        if (i === n) throw new Error("read failed");
        yield `piece ${i};`;
      }
    }
    const first = new Sink();
    await respond({ statusCode: 200, headers: {}, body: failingAt(0) }, first, failures);
    expect(first.text()).toMatch(/^\{"statusCode":500,.*\{"error":"internal error"\}$/s);
    const later = new Sink();
    const logged: unknown[] = [];
    await expect(
      respond({ statusCode: 200, headers: { "content-type": "text/csv" }, body: failingAt(2) }, later, {
        ...failures,
        log: (error) => logged.push(error),
      }),
    ).rejects.toThrow("read failed");
    expect(later.text()).toMatch(/"statusCode":200.*piece 0;piece 1;$/s);
    expect(logged).toHaveLength(1);
    expect(later.writableEnded).toBe(false);
  });
});
