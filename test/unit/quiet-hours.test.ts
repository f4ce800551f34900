import { describe, expect, it } from "vitest";
import {
  isTimeZone,
  parseQuietHours,
  quietHoursProblem,
  quietUntil,
} from "../../functions/core/quiet-hours.ts";

const at = (iso: string) => Date.parse(iso);

describe("quiet hours", () => {
  it("reads HH:MM-HH:MM and says what is wrong with anything else", () => {
    expect(parseQuietHours("22:00-08:00", "Asia/Shanghai")).toEqual({
      start: 22 * 60,
      end: 8 * 60,
      timeZone: "Asia/Shanghai",
    });
    expect(quietHoursProblem("22:00-08:00")).toBeUndefined();
    expect(quietHoursProblem("22-08")).toMatch(/HH:MM-HH:MM/);
    expect(quietHoursProblem("24:00-08:00")).toMatch(/HH:MM-HH:MM/);
    expect(quietHoursProblem("9:00-10:00")).toMatch(/HH:MM-HH:MM/);
    expect(quietHoursProblem("08:00-08:00")).toMatch(/differ/);
    expect(isTimeZone("Asia/Shanghai")).toBe(true);
    expect(isTimeZone("Mars/Olympus")).toBe(false);
    expect(() => parseQuietHours("22:00-08:00", "Mars/Olympus")).toThrow(/time zone/);
  });

  it("a window across midnight: inside from its start minute, until its end minute on the next local day", () => {
    const quiet = parseQuietHours("22:00-08:00", "Asia/Shanghai");
    // 23:00 Beijing time on 1 Dec (15:00 UTC) ends at 08:00 Beijing on 2 Dec (00:00 UTC).
    expect(quietUntil(quiet, at("2026-12-01T15:00:00Z"))).toBe(at("2026-12-02T00:00:00Z"));
    // 07:30 Beijing on 2 Dec (the morning part): the same end, that day.
    expect(quietUntil(quiet, at("2026-12-01T23:30:00Z"))).toBe(at("2026-12-02T00:00:00Z"));
    // 22:00 sharp is inside, 08:00 sharp outside, noon outside.
    expect(quietUntil(quiet, at("2026-12-01T14:00:00Z"))).toBe(at("2026-12-02T00:00:00Z"));
    expect(quietUntil(quiet, at("2026-12-02T00:00:00Z"))).toBeUndefined();
    expect(quietUntil(quiet, at("2026-12-01T04:00:00Z"))).toBeUndefined();
    expect(quietUntil(quiet, at("2026-12-01T13:59:59Z"))).toBeUndefined();
    // Month and year ends roll over.
    expect(quietUntil(quiet, at("2026-12-31T15:00:00Z"))).toBe(at("2027-01-01T00:00:00Z"));
  });

  it("a window within one day, and none at all when unset", () => {
    const lunch = parseQuietHours("12:00-13:30", "Asia/Shanghai");
    expect(quietUntil(lunch, at("2026-12-01T04:10:00Z"))).toBe(at("2026-12-01T05:30:00Z"));
    expect(quietUntil(lunch, at("2026-12-01T05:30:00Z"))).toBeUndefined();
    expect(quietUntil(lunch, at("2026-12-01T03:59:00Z"))).toBeUndefined();
    expect(quietUntil(undefined, at("2026-12-01T04:10:00Z"))).toBeUndefined();
  });

  it("is read on the wall clock of its own zone, daylight saving included", () => {
    const london = parseQuietHours("22:00-08:00", "Europe/London");
    // 23:00 in London in winter is 23:00 UTC; in summer (BST) 22:00 UTC.
    expect(quietUntil(london, at("2026-12-01T23:00:00Z"))).toBe(at("2026-12-02T08:00:00Z"));
    expect(quietUntil(london, at("2026-07-01T22:00:00Z"))).toBe(at("2026-07-02T07:00:00Z"));
    expect(quietUntil(london, at("2026-07-01T20:59:00Z"))).toBeUndefined();
    // New York springs forward at 02:00 on 8 March 2026: a window 01:00-03:00 begun at 01:30 EST
    // (06:30 UTC) ends at 03:00 EDT, 07:00 UTC, one real hour later.
    const ny = parseQuietHours("01:00-03:00", "America/New_York");
    expect(quietUntil(ny, at("2026-03-08T06:30:00Z"))).toBe(at("2026-03-08T07:00:00Z"));
  });
});
