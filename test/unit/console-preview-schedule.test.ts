import { describe, expect, it } from "vitest";
import { parseTestOpenids, previewResultText } from "../../functions/console/src/preview-logic.ts";
import { scheduleProblem, zonedIso } from "../../functions/console/src/schedule-logic.ts";
import { isRunning, nextPollIn } from "../../functions/console/src/task-logic.ts";
import type { TaskView } from "../../functions/contracts/api.ts";
import { MAX_SCHEDULE_AHEAD_MS, NO_CREDIT, OPTED_OUT } from "../../functions/core/push-task.ts";
import { zh } from "../fixtures/console-catalogs.ts";

describe("test openids for a preview", () => {
  it("takes one per line (or comma-separated), each once, and says which line is wrong", () => {
    expect(parseTestOpenids("oAAAAA1\n oBBBBB2 ,oCCCCC3，oAAAAA1\n\n")).toEqual({
      openids: ["oAAAAA1", "oBBBBB2", "oCCCCC3"],
    });
    expect(parseTestOpenids("oAAAAA1\nnot valid!")).toEqual({ problem: { kind: "invalid", line: 2 } });
    expect(parseTestOpenids(" \n")).toEqual({ problem: { kind: "empty" } });
    const eleven = Array.from({ length: 11 }, (_, i) => `oUser${String(i).padStart(4, "0")}`).join("\n");
    expect(parseTestOpenids(eleven)).toEqual({ problem: { kind: "tooMany" } });
  });

  it("explains each outcome in words: sent, WeChat's errcode, or why Fanout did not send", () => {
    const text = (errcode: number | null, errmsg: string) =>
      previewResultText({ openid: "o", errcode, errmsg }, zh);
    expect(text(0, "ok")).toBe("已发送");
    expect(text(43004, "require subscribe")).toBe("43004 用户未关注公众号");
    expect(text(null, OPTED_OUT)).toBe("该用户已回复 0 退订，未发送");
    expect(text(null, NO_CREDIT)).toBe(zh.noCredit);
  });
});

describe("a scheduled time", () => {
  it("is the wall clock in the operator's zone, sent with that zone's offset", () => {
    expect(zonedIso("2026-12-02T09:00", "Asia/Shanghai")).toBe("2026-12-02T09:00:00+08:00");
    expect(Date.parse(zonedIso("2026-12-02T09:00", "Asia/Shanghai") ?? "")).toBe(Date.UTC(2026, 11, 2, 1, 0));
    // Berlin: winter +01:00, summer +02:00.
    expect(zonedIso("2026-12-02T09:00", "Europe/Berlin")).toBe("2026-12-02T09:00:00+01:00");
    expect(zonedIso("2026-07-02T09:00", "Europe/Berlin")).toBe("2026-07-02T09:00:00+02:00");
    expect(zonedIso("2026-12-02T09:00", "America/New_York")).toBe("2026-12-02T09:00:00-05:00");
    expect(zonedIso("", "Asia/Shanghai")).toBeNull();
    expect(zonedIso("2026-12-02 09:00", "Asia/Shanghai")).toBeNull();
  });

  it("is refused before asking when empty, past, or more than 30 days ahead", () => {
    const now = Date.UTC(2026, 11, 1, 12, 0);
    expect(scheduleProblem(null, now)).toBe("empty");
    expect(scheduleProblem(new Date(now).toISOString(), now)).toBe("past");
    expect(scheduleProblem(new Date(now + 60_000).toISOString(), now)).toBeNull();
    expect(scheduleProblem(new Date(now + MAX_SCHEDULE_AHEAD_MS).toISOString(), now)).toBeNull();
    expect(scheduleProblem(new Date(now + MAX_SCHEDULE_AHEAD_MS + 1).toISOString(), now)).toBe("tooFar");
  });
});

describe("when the console polls", () => {
  const now = Date.UTC(2026, 11, 1, 12, 0);
  const task = (status: TaskView["status"], sendAt: number | null = null) =>
    ({ status, sendAt: sendAt === null ? null : new Date(sendAt).toISOString() }) as TaskView;

  it("watches a scheduled task from a minute before its time, and sleeps until then", () => {
    expect(isRunning(task("scheduled", now + 30_000), now)).toBe(true);
    expect(isRunning(task("scheduled", now + 10 * 60_000), now)).toBe(false);
    expect(nextPollIn([task("scheduled", now + 10 * 60_000)], [], now, 1000)).toBe(9 * 60_000);
    expect(nextPollIn([task("scheduled", now + 30_000), task("draft")], [], now, 1000)).toBe(1000);
    expect(nextPollIn([task("sending")], [], now, 1000)).toBe(1000);
    expect(nextPollIn([task("draft"), task("done")], [], now, 1000)).toBeNull();
  });
});
