import { describe, expect, it } from "vitest";
import { catalogs } from "../../functions/console/src/i18n.ts";
import {
  canRetry,
  errcodeBreakdown,
  isRunning,
  recipientsText,
  retryableFailures,
  retryBlocked,
} from "../../functions/console/src/task-logic.ts";
import type { TaskView } from "../../functions/contracts/api.ts";

const zh = catalogs["zh-CN"];
const task = (fields: Partial<TaskView>) =>
  ({
    status: "done",
    audience: "uploaded",
    recipients: 10,
    total: 10,
    byErrcode: {},
    retry: null,
    ...fields,
  }) as TaskView;

describe("retry", () => {
  it("counts exactly the failures the retry route re-sends: busy, no answer, rate-limited, token refused", () => {
    const byErrcode = { "-1": 1, "-2": 2, "45011": 4, "40001": 8, "42001": 16, "40014": 32 };
    expect(retryableFailures(task({ byErrcode }))).toBe(63);
    const permanent = { "43004": 5, "40003": 1, "43101": 1, "47003": 1, "40037": 1, "45009": 1, none: 3 };
    expect(retryableFailures(task({ byErrcode: permanent }))).toBe(0);
  });

  it("is offered only for a done task with retryable failures, and not while a round is being queued", () => {
    expect(canRetry(task({ byErrcode: { "-1": 2 } }))).toBe(true);
    expect(canRetry(task({ byErrcode: { "43004": 3 } }))).toBe(false);
    expect(canRetry(task({ byErrcode: {} }))).toBe(false);
    for (const status of ["draft", "sending", "paused"] as const)
      expect(canRetry(task({ status, byErrcode: { "45011": 1 } }))).toBe(false);
    const queueing = { round: 1, chunks: -1, requeued: 0, at: 0 };
    expect(canRetry(task({ byErrcode: { "-1": 2 }, retry: queueing }))).toBe(false);
    const queued = { round: 1, chunks: 1, requeued: 2, at: 0 };
    expect(canRetry(task({ byErrcode: { "-1": 2 }, retry: queued }))).toBe(true);
  });

  it("is not offered once a retry has emptied the retryable errcodes", () => {
    // A retry chunk's tally takes each re-sent failure off its old errcode (send-chunk.ts).
    expect(canRetry(task({ byErrcode: { "-1": 0, "43004": 1 } }))).toBe(false);
    expect(canRetry(task({ byErrcode: { "-1": 0, "45011": 1 } }))).toBe(true);
  });
});

describe("why retry is not offered", () => {
  it("is said: not done yet, a round still queueing, nothing failed, or only permanent failures", () => {
    expect(retryBlocked(task({ status: "sending", failed: 1, unknown: 0, byErrcode: { "-1": 1 } }))).toBe(
      "notDone",
    );
    const queueing = { round: 1, chunks: -1, requeued: 0, at: 0 };
    expect(retryBlocked(task({ failed: 2, unknown: 0, byErrcode: { "-1": 2 }, retry: queueing }))).toBe(
      "queueing",
    );
    expect(retryBlocked(task({ failed: 0, unknown: 0, byErrcode: {} }))).toBe("noFailures");
    expect(retryBlocked(task({ failed: 3, unknown: 0, byErrcode: { "43004": 3 } }))).toBe("nothingRetryable");
    expect(retryBlocked(task({ failed: 1, unknown: 1, byErrcode: { "43004": 1, "-2": 1 } }))).toBeNull();
    for (const lang of ["zh-CN", "en"] as const)
      for (const reason of ["notDone", "queueing", "noFailures", "nothingRetryable"] as const)
        expect(catalogs[lang].retryWhy[reason]).not.toBe("");
  });
});

describe("a task in the list", () => {
  it("is polled while it sends or is paused (it resumes by itself), not as a draft or once done", () => {
    expect(isRunning(task({ status: "sending" }))).toBe(true);
    expect(isRunning(task({ status: "paused" }))).toBe(true);
    expect(isRunning(task({ status: "draft" }))).toBe(false);
    expect(isRunning(task({ status: "done" }))).toBe(false);
  });

  it("shows its recipients: the list's size, or all subscribers until their count is final", () => {
    expect(recipientsText(task({ recipients: 11 }), zh)).toBe("11");
    expect(recipientsText(task({ audience: "all", status: "draft", total: 0 }), zh)).toBe("全部");
    expect(recipientsText(task({ audience: "all", status: "sending", total: 40 }), zh)).toBe("全部");
    expect(recipientsText(task({ audience: "all", status: "done", total: 57 }), zh)).toBe("57");
  });

  it("lists its errcodes most frequent first (ties by code), leaving out the ones a retry emptied", () => {
    expect(errcodeBreakdown({ "45011": 3, "-1": 5, "43004": 3, "40001": 0 })).toEqual([
      { code: "-1", count: 5 },
      { code: "43004", count: 3 },
      { code: "45011", count: 3 },
    ]);
  });
});
