import { describe, expect, it } from "vitest";
import { canResume, holdNote, statusText } from "../../functions/console/src/hold-logic.ts";
import { catalogs } from "../../functions/console/src/i18n.ts";

const zh = catalogs["zh-CN"];
const en = catalogs.en;
const ZONE = "Asia/Shanghai";
const deferred = { status: "deferred", resumesAt: "2026-12-02T00:00:00.000Z" } as const;

describe("a deferred or paused broadcast in the console", () => {
  it("says when a deferred one goes on, in Beijing time, in both languages", () => {
    expect(statusText(deferred, zh, ZONE)).toMatch(/^已延后（免打扰时段） · 将于 .*08:00.* 继续$/);
    expect(statusText(deferred, en, ZONE)).toMatch(/^deferred \(quiet hours\) · goes on at .*08:00/);
    expect(holdNote(deferred, zh, ZONE)).toMatch(/免打扰时段内不发送.*08:00/);
    expect(statusText({ status: "sending" }, zh, ZONE)).toBe("发送中");
    expect(holdNote({ status: "sending" }, zh, ZONE)).toBe("");
  });

  it("offers 继续发送 for a quota pause only, which the API would accept", () => {
    expect(canResume({ status: "paused" })).toBe(true);
    expect(holdNote({ status: "paused" }, zh, ZONE)).toMatch(/45009/);
    expect(canResume(deferred)).toBe(false);
    expect(canResume({ status: "done" })).toBe(false);
    expect(zh.resumeButton).toBe("继续发送");
    expect(en.resumeButton).toBe("Resume sending");
  });
});
