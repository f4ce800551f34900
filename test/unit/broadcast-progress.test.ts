import { describe, expect, it } from "vitest";
import { type BarLike, BroadcastProgressView, progressFrame } from "../../infra/local/broadcast-progress.ts";

type Status = "fanning_out" | "sending" | "done";
const snap = (status: Status, total: number, sent: number, failed = 0) => ({
  status,
  total,
  sent,
  failed,
  unknown: 0,
  skipped: 0,
});

/** The polls `npm start` saw in issue 13: the total grew page by page, then settled lower. */
const polls = [
  snap("fanning_out", 0, 0),
  snap("fanning_out", 7917, 0),
  snap("fanning_out", 9900, 2968),
  snap("sending", 9900, 5000, 20),
  snap("done", 9900, 9850, 50),
];

function recorder() {
  const calls: string[] = [];
  const bars: BarLike[] = [];
  const makeBar = (): BarLike => {
    const bar: BarLike = {
      start: (total, value, { status }) => void calls.push(`start ${value}/${total} ${status}`),
      update: (value, { status }) => void calls.push(`update ${value} ${status}`),
      stop: () => void calls.push("stop"),
    };
    bars.push(bar);
    return bar;
  };
  return { calls, bars, makeBar };
}

describe("npm start's progress", () => {
  it("has no total while fanning out, then the final one", () => {
    expect(progressFrame(snap("fanning_out", 7917, 12))).toEqual({ kind: "counting", settled: 12 });
    expect(progressFrame(snap("sending", 9900, 12, 3))).toEqual({
      kind: "bar",
      settled: 15,
      total: 9900,
      status: "sending",
    });
  });

  it("draws one bar, started once the fan-out is done, whose total never changes", () => {
    const { calls, bars, makeBar } = recorder();
    const written: string[] = [];
    let now = 0;
    const view = new BroadcastProgressView(
      { redraws: false, write: (text) => void written.push(text) },
      makeBar,
      () => now,
    );
    for (const poll of polls) {
      view.show(poll);
      now += 250;
    }
    view.stop();
    expect(bars).toHaveLength(1);
    expect(calls).toEqual(["start 5020/9900 sending", "update 9900 done", "stop"]);
    // Without a terminal, the counting line is printed once per 2 s, not per poll.
    expect(written).toEqual([
      " fanning out… (分发中) 0 settled; the total comes once the audience is read\n",
    ]);
  });

  it("redraws the counting line in a terminal and ends it before the bar", () => {
    const { calls, makeBar } = recorder();
    const written: string[] = [];
    const view = new BroadcastProgressView(
      { redraws: true, write: (text) => void written.push(text) },
      makeBar,
    );
    for (const poll of polls) view.show(poll);
    view.stop();
    expect(written).toEqual([
      "\r fanning out… (分发中) 0 settled; the total comes once the audience is read\u001b[K",
      "\r fanning out… (分发中) 0 settled; the total comes once the audience is read\u001b[K",
      "\r fanning out… (分发中) 2,968 settled; the total comes once the audience is read\u001b[K",
      "\n",
    ]);
    expect(calls[0]).toBe("start 5020/9900 sending");
  });
});
