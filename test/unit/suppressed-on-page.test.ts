import { describe, expect, it } from "vitest";
import { suppressedOnPage, suppressionApplies } from "../../functions/core/suppression.ts";

const task = (channel: "template" | "subscribe") =>
  ({ taskId: "T1", audience: "uploaded", message: { channel, templateId: "TPL", data: {} } }) as never;

describe("who of an audience page is suppressed", () => {
  it("an uploaded list's recipients are read once; a subscribe task skips nobody for it", async () => {
    const reads: string[][] = [];
    const reader = {
      suppressedAmong: async (ids: readonly string[]) => {
        reads.push([...ids]);
        return new Map([["oUp002", "user block" as const]]);
      },
    };
    const page = { openids: ["oUp001", "oUp002"], windowed: [], next: null };
    expect([...(await suppressedOnPage({ task: task("template") }, page, reader))]).toEqual([
      ["oUp002", "user block"],
    ]);
    expect(reads).toEqual([["oUp001", "oUp002"]]);
    expect(suppressionApplies({ task: task("subscribe") })).toBe(false);
    expect((await suppressedOnPage({ task: task("subscribe") }, page, reader)).size).toBe(0);
    expect(reads).toHaveLength(1);
    // A paid post's page from the Scan carries its own answer: no read.
    const scanned = { ...page, suppressed: new Map([["oUp001", "43101" as const]]) };
    expect([...(await suppressedOnPage({}, scanned, reader))]).toEqual([["oUp001", "43101"]]);
    expect(reads).toHaveLength(1);
  });
});
