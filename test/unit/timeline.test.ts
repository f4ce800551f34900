import { describe, expect, it } from "vitest";
import { MEMBER_FILTER_BYTES, mayContain, memberFilter } from "../../functions/core/member-filter.ts";
import { bucketOf, timelineIncrements, timelinePoints } from "../../functions/core/timeline.ts";

const start = Date.UTC(2026, 11, 1, 2, 0, 0);
const min = 60_000;

describe("a broadcast's timeline", () => {
  it("buckets by the minute for its first two hours, by the hour after", () => {
    expect(bucketOf(start + 90_500, start)).toEqual({ at: start + min, minutes: 1 });
    expect(bucketOf(start + 119 * min + 59_999, start)).toEqual({ at: start + 119 * min, minutes: 1 });
    expect(bucketOf(start + 120 * min, start)).toEqual({ at: start + 120 * min, minutes: 60 });
    expect(bucketOf(start + 185 * min, start)).toEqual({ at: start + 180 * min, minutes: 60 });
  });

  it("counts sent and failed records in the bucket each settled in, and nothing else", () => {
    const increments = timelineIncrements(
      [
        { outcome: "sent", at: start + 1_000 },
        { outcome: "sent", at: start + 59_999 },
        { outcome: "failed", at: start + 60_000 },
        { outcome: "unknown", at: start + 61_000 },
        { outcome: "skipped", at: start + 62_000 },
        { outcome: "sent", at: start + 3 * 3_600_000 + 5 },
      ],
      start,
    );
    const minute = start / min;
    expect(increments).toEqual({
      [`${minute}/1/s`]: 2,
      [`${minute + 1}/1/f`]: 1,
      [`${minute + 180}/60/s`]: 1,
    });
  });

  it("reads the stored counters back as points in time order, adding what several chunks added", () => {
    const minute = start / min;
    const stored = {
      [`${minute + 1}/1/s`]: 4,
      [`${minute}/1/s`]: 7,
      [`${minute}/1/f`]: 2,
      [`${minute + 180}/60/s`]: 5,
      "not-a-bucket": 9,
    };
    expect(timelinePoints(stored)).toEqual([
      { at: new Date(start).toISOString(), minutes: 1, sent: 7, failed: 2 },
      { at: new Date(start + min).toISOString(), minutes: 1, sent: 4, failed: 0 },
      { at: new Date(start + 180 * min).toISOString(), minutes: 60, sent: 5, failed: 0 },
    ]);
    expect(timelinePoints(undefined)).toEqual([]);
    // Round trip: what the increments write is what the points read.
    const again = timelineIncrements(
      [
        { outcome: "sent", at: start },
        { outcome: "failed", at: start + 5 },
      ],
      start,
    );
    expect(timelinePoints(again)).toEqual([
      { at: new Date(start).toISOString(), minutes: 1, sent: 1, failed: 1 },
    ]);
  });
});

describe("a chunk's openid filter", () => {
  const chunk = Array.from({ length: 100 }, (_, i) => `oChunk${String(i).padStart(22, "0")}`);
  const filter = memberFilter(chunk);

  it("never misses an openid of the chunk", () => {
    expect(filter.length).toBe(MEMBER_FILTER_BYTES);
    for (const openid of chunk) expect(mayContain(filter, openid), openid).toBe(true);
  });

  it("rules out nearly every other openid (about 0.7 % false positives for 100)", () => {
    const others = Array.from({ length: 10_000 }, (_, i) => `oOther${String(i).padStart(22, "0")}`);
    const maybe = others.filter((openid) => mayContain(filter, openid)).length;
    expect(maybe).toBeLessThan(200);
    expect(mayContain(memberFilter([]), chunk[0] as string)).toBe(false);
  });

  it("takes a filter it does not recognise as possibly holding anyone", () => {
    expect(mayContain(new Uint8Array(3), "oAnyone000001")).toBe(true);
  });
});
