import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import {
  type BatchResult,
  csvRows,
  importRecipients,
  jsonRows,
} from "../../functions/core/recipient-list.ts";

const id = (n: number) => `oUser${String(n).padStart(23, "0")}`;

describe("csvRows", () => {
  it("takes the first column, skips a header and blank lines, numbers lines as an editor does", () => {
    const csv = `\ufeffopenid,name\r\n${id(1)},张三\r\n\r\n"${id(2)}";x\n  ${id(3)}  \n\tbad\nshort\n${id(4)}`;
    expect([...csvRows(csv)]).toEqual([
      { line: 2, openid: id(1) },
      { line: 4, openid: id(2) },
      { line: 5, openid: id(3) },
      { line: 6, reason: "empty openid" },
      { line: 7, reason: expect.stringContaining("not a WeChat openid") },
      { line: 8, openid: id(4) },
    ]);
  });

  it("treats a first line holding an openid as data", () => {
    expect([...csvRows(`${id(1)}\n${id(2)}\n`)]).toEqual([
      { line: 1, openid: id(1) },
      { line: 2, openid: id(2) },
    ]);
  });
});

describe("jsonRows", () => {
  it("numbers entries from 1 and explains the bad ones", () => {
    expect([...jsonRows([id(1), 42, "", "o no"])]).toEqual([
      { line: 1, openid: id(1) },
      { line: 2, reason: "not a string" },
      { line: 3, reason: "empty openid" },
      { line: 4, reason: expect.stringContaining("openid") },
    ]);
  });
});

describe("importRecipients", () => {
  it("writes fixed-size batches of distinct openids, one in flight, counting every duplicate", async () => {
    const stored = new Set<string>([id(2)]);
    const batches: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const write = async (openids: readonly string[]): Promise<BatchResult> => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      batches.push(openids.length);
      await sleep(1);
      let added = 0;
      for (const o of openids) {
        if (stored.has(o)) continue;
        stored.add(o);
        added += 1;
      }
      inFlight -= 1;
      return { added, duplicates: openids.length - added };
    };
    // 1..10, 1 repeated in the same batch, 2 already stored, 3 repeated in a later batch, 2 invalid.
    const ids = [1, 1, 2, 3, 4, 5, 6, 7, 8, 3, 9, 10].map(id);
    const rows = [...jsonRows([...ids, "bad", 7])];
    const report = await importRecipients(rows, write, { batchSize: 4, maxInvalidReported: 1 });
    expect(report).toEqual({
      added: 9,
      duplicates: 3,
      invalid: [{ line: 13, reason: expect.any(String) }],
      invalidCount: 2,
    });
    expect(batches.every((n) => n <= 4)).toBe(true);
    expect(maxInFlight).toBe(1);
  });

  it("stops at a failed write", async () => {
    const rows = jsonRows([id(1), id(2), id(3)]);
    await expect(
      importRecipients(rows, async () => Promise.reject(new Error("boom")), { batchSize: 1 }),
    ).rejects.toThrow("boom");
  });
});
