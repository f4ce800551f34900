import { describe, expect, it } from "vitest";
import {
  postProgress,
  progressText,
  segmentShares,
  taskProgress,
} from "../../functions/console/src/progress.ts";
import type { PostView, TaskView } from "../../functions/contracts/api.ts";
import { en, zh } from "../fixtures/console-catalogs.ts";

const counts = {
  sent: 0,
  failed: 0,
  unknown: 0,
  skipped: 0,
  pending: 0,
  total: 0,
  byChannel: {},
  byErrcode: {},
};
const post = (fields: Partial<PostView>) => ({ ...counts, status: "sending", ...fields }) as PostView;
const task = (fields: Partial<TaskView>) =>
  ({ ...counts, audience: "uploaded", recipients: 0, status: "sending", ...fields }) as TaskView;

describe("a post's progress", () => {
  it("has no total while the fan-out is still adding recipients to it", () => {
    const p = postProgress(
      post({ status: "fanning_out", total: 120, sent: 40, failed: 2, unknown: 1, pending: 77 }),
    );
    expect(p).toMatchObject({ total: null, pending: null, settled: 43, counting: "fanning_out" });
    expect(progressText(p, zh)).toBe("分发中… 已发送 40 · 失败 2 · 投递未知 1 · 跳过 0");
    expect(progressText(p, en)).toBe("fanning out… sent 40 · failed 2 · unknown 1 · skipped 0");
    expect(segmentShares(p)).toEqual({ sent: 0, failed: 0, unknown: 0, skipped: 0 });
  });

  it("counts against the final total once the fan-out is done, unknown apart from failed", () => {
    const p = postProgress(
      post({ status: "sending", total: 200, sent: 100, failed: 20, unknown: 30, skipped: 10 }),
    );
    expect(p).toMatchObject({ total: 200, pending: 40, settled: 160 });
    expect(p.counting).toBeUndefined();
    expect(progressText(p, zh)).toBe("已发送 100 · 失败 20 · 投递未知 30 · 跳过 10 · 待发送 40 / 共 200");
    expect(progressText(p, en)).toBe("sent 100 · failed 20 · unknown 30 · skipped 10 · pending 40 / 200");
    expect(segmentShares(p)).toEqual({ sent: 50, failed: 10, unknown: 15, skipped: 5 });
  });

  it("shows an empty broadcast without dividing by zero", () => {
    const p = postProgress(post({ status: "done" }));
    expect(p).toMatchObject({ total: 0, pending: 0 });
    expect(segmentShares(p)).toEqual({ sent: 0, failed: 0, unknown: 0, skipped: 0 });
  });
});

describe("a task's progress", () => {
  it("counts an uploaded list against its size from the start, never against the fan-out's running total", () => {
    // The fan-out has read 100 of the 250 recipients so far.
    const early = taskProgress(task({ recipients: 250, total: 100, sent: 60, pending: 40 }));
    expect(early).toMatchObject({ total: 250, pending: 190, settled: 60 });
    const later = taskProgress(task({ recipients: 250, total: 250, sent: 200, failed: 5, pending: 45 }));
    expect(later.total).toBe(early.total);
  });

  it("has no total for a task to every subscriber while it sends: the API reports its fan-out as sending", () => {
    const sending = taskProgress(task({ audience: "all", total: 300, sent: 120 }));
    expect(sending).toMatchObject({ total: null, pending: null, counting: "all_subscribers" });
    expect(progressText(sending, zh)).toBe("总数统计中… 已发送 120 · 失败 0 · 投递未知 0 · 跳过 0");
    const done = taskProgress(task({ audience: "all", status: "done", total: 300, sent: 290, failed: 10 }));
    expect(done).toMatchObject({ total: 300, pending: 0 });
    const paused = taskProgress(task({ audience: "all", status: "paused", total: 300, sent: 100 }));
    expect(paused).toMatchObject({ total: 300, pending: 200 });
  });

  it("caps each segment at the whole bar", () => {
    const p = taskProgress(task({ recipients: 2, total: 2, sent: 3 }));
    expect(segmentShares(p).sent).toBe(100);
    expect(p.pending).toBe(0);
  });
});
