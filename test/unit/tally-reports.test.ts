import { describe, expect, it } from "vitest";
import type { ReportedMsgids, ReportReader } from "../../functions/core/ports.ts";
import {
  firstTally,
  TALLY_PASSES,
  type TallyMessage,
  tallyReports,
} from "../../functions/core/tally-reports.ts";
import { FakeClock, MemoryBroadcastStore, newBroadcast, RecordingQueues } from "./fakes.ts";

const DELAY = 60;
const broadcastId = "b-1";

/** Records with msgids 1..n, paged by `pageSize`; reports for some of them. */
function setup(opts: { msgids: number; pageSize: number; reports: Record<number, string> }) {
  const clock = new FakeClock(1_000_000);
  const broadcasts = new MemoryBroadcastStore();
  broadcasts.items.set(
    broadcastId,
    newBroadcast(broadcastId, {
      fanoutPage: 1,
      fanoutDone: true,
      total: opts.msgids,
      sent: opts.msgids,
      byChannel: { template: opts.msgids },
    }),
  );
  const all = Array.from({ length: opts.msgids }, (_, i) => i + 1);
  const pagesRead: (string | null)[] = [];
  const records: ReportedMsgids = {
    async readMsgids(_id, cursor) {
      pagesRead.push(cursor);
      const start = cursor === null ? 0 : Number(cursor);
      const end = start + opts.pageSize;
      return { msgids: all.slice(start, end), next: end < all.length ? String(end) : null };
    },
  };
  const reports: ReportReader = {
    async statuses(msgids) {
      return new Map(msgids.flatMap((m) => (opts.reports[m] ? [[m, opts.reports[m]] as const] : [])));
    },
  };
  const queue = new RecordingQueues();
  const deps = { broadcasts, records, reports, queue, clock };
  /** Delivers queued tally messages (ignoring their delay) until none is due before `until`. */
  async function drain(start: TallyMessage, until: number) {
    const results = [];
    let next: TallyMessage | undefined = start;
    while (next) {
      if (next.notBefore > until) break;
      clock.t = Math.max(clock.now(), next.notBefore);
      const before = queue.tallies.length;
      results.push(await tallyReports(next, deps, { delaySeconds: DELAY }));
      next = queue.tallies.length > before ? queue.tallies.at(-1)?.message : undefined;
    }
    return results;
  }
  return { clock, broadcasts, queue, deps, drain, pagesRead };
}

describe("tallyReports", () => {
  it("counts success as confirmed and any failed: status as rejected, over every page", async () => {
    const t = setup({
      msgids: 25,
      pageSize: 10,
      reports: {
        1: "success",
        2: "success",
        12: "failed:user block",
        24: "failed: system failed",
        25: "queued",
      },
    });
    const start = firstTally(broadcastId, t.clock.now(), DELAY);
    const results = await t.drain(start, start.notBefore);
    expect(t.pagesRead).toEqual([null, "10", "20"]);
    // 21 of the 25 delivered template messages are not reported yet: another pass will come.
    expect(results.at(-1)).toEqual({ kind: "counted", confirmed: 2, rejected: 2, final: false });
    expect(t.broadcasts.items.get(broadcastId)).toMatchObject({
      confirmed: 2,
      rejected: 2,
      reportsCountedAt: start.notBefore,
    });
  });

  it("waits while the broadcast is still sending, then runs every pass once and stops", async () => {
    const t = setup({ msgids: 3, pageSize: 10, reports: { 1: "success" } });
    const b = t.broadcasts.items.get(broadcastId);
    if (!b) throw new Error("no broadcast");
    b.sent = 1;
    const start = firstTally(broadcastId, t.clock.now(), DELAY);
    t.clock.t = start.notBefore;
    expect(await tallyReports(start, t.deps, { delaySeconds: DELAY })).toEqual({ kind: "waiting" });
    expect(t.pagesRead).toEqual([]);
    const retry = t.queue.tallies.at(-1);
    expect(retry?.message.pass).toBe(0);
    expect(retry?.delaySeconds).toBe(DELAY);

    b.sent = 3;
    const results = await t.drain(retry?.message as TallyMessage, Number.POSITIVE_INFINITY);
    const counted = results.filter((r) => r.kind === "counted");
    expect(counted).toHaveLength(TALLY_PASSES.length);
    expect(counted.at(-1)).toMatchObject({ final: true, confirmed: 1 });
    // Passes further apart than SQS's 15-minute delay hop through "waiting" messages.
    expect(t.queue.tallies.every((q) => q.delaySeconds <= 900)).toBe(true);
  });

  it("stops after the pass that finds every delivered template message reported", async () => {
    const t = setup({ msgids: 2, pageSize: 10, reports: { 1: "success", 2: "failed:user block" } });
    const start = firstTally(broadcastId, t.clock.now(), DELAY);
    const results = await t.drain(start, Number.POSITIVE_INFINITY);
    expect(results).toEqual([{ kind: "counted", confirmed: 1, rejected: 1, final: true }]);
    expect(t.queue.tallies).toEqual([]);
  });

  it("a message that arrives early is sent back with the remaining delay", async () => {
    const t = setup({ msgids: 1, pageSize: 10, reports: {} });
    const start = firstTally(broadcastId, t.clock.now(), 3600);
    expect(await tallyReports(start, t.deps, { delaySeconds: 3600 })).toEqual({ kind: "waiting" });
    expect(t.queue.tallies).toEqual([{ message: start, delaySeconds: 900 }]);
  });

  it("gives up on a broadcast that no longer exists", async () => {
    const t = setup({ msgids: 1, pageSize: 10, reports: {} });
    t.broadcasts.items.clear();
    const start = firstTally(broadcastId, t.clock.now(), 0);
    expect(await tallyReports(start, t.deps, { delaySeconds: DELAY })).toEqual({ kind: "gone" });
    expect(t.queue.tallies).toEqual([]);
  });
});
