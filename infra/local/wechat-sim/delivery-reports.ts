/**
 * WeChat's delivery reports (TEMPLATESENDJOBFINISH) as the simulator pushes them to an OA callback:
 * one per delivered template message, after a delay or held until released.
 */
import { Prng } from "./faults.ts";
import type { Delivered } from "./ledger.ts";
import { type CallbackTarget, pushToCallback, templateReportXml } from "./push.ts";

/** Seeds the success/failure draws: the same reports on every run. */
const DRAW_SEED = 0x5eed;

/** Where the simulator pushes as WeChat: delivery reports and the users' messages and events. */
export interface CallbackOptions extends CallbackTarget {
  /** Share (0–1) of template deliveries reported `failed:user block` instead of `success`. Default 0. */
  readonly failedShare?: number;
  /**
   * Delay before a delivery report is pushed, default 1,000 ms: the sender writes its delivery
   * records after the send call returns, and a report for a msgid not yet recorded is ignored.
   */
  readonly reportDelayMs?: number;
  /** false: no delivery reports (user pushes still work). Default true. */
  readonly reports?: boolean;
  /**
   * true: reports wait until `releaseReports()` instead of `reportDelayMs`, so a benchmark can keep
   * them out of a broadcast's elapsed time and still measure what they cost.
   */
  readonly holdReports?: boolean;
}

export interface ReportStats {
  /** Reports pushed and answered 2xx, and those refused or failed. */
  pushed: number;
  failed: number;
  pending: number;
}

export class DeliveryReports {
  private readonly pending = new Set<Promise<void>>();
  private held: string[] = [];
  /** Scheduled pushes and how to settle their pending promise if they never run. */
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private readonly counts = { pushed: 0, failed: 0 };
  private draws = new Prng(DRAW_SEED);
  /** Users whose template deliveries are reported `failed:user block` (simulator.reportUserBlock). */
  readonly userBlocks = new Set<string>();

  /** A new callback starts the success/failure draws afresh. */
  restartDraws(): void {
    this.draws = new Prng(DRAW_SEED);
  }

  /** Schedules, or holds, a report for each template message among `deliveries`. */
  report(target: CallbackOptions, deliveries: Iterable<Delivered>): void {
    for (const d of deliveries) {
      if (d.channel !== "template" || d.msgid === null) continue;
      const drawnFailed = this.draws.next() < (target.failedShare ?? 0);
      const status = drawnFailed || this.userBlocks.has(d.openid) ? "failed:user block" : "success";
      const xml = templateReportXml({ from: d.openid, to: target.originalId ?? "", msgid: d.msgid, status });
      if (target.holdReports) this.held.push(xml);
      else this.schedule(target, xml);
    }
  }

  /** Waits until every scheduled report has been pushed (or failed). */
  async flush(): Promise<ReportStats> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    return this.stats();
  }

  stats(): ReportStats {
    return { ...this.counts, pending: this.pending.size + this.held.length };
  }

  /** Pushes the held reports, `concurrency` at a time. */
  async release(target: CallbackTarget, concurrency: number): Promise<ReportStats> {
    const held = this.held;
    this.held = [];
    const worker = async (): Promise<void> => {
      for (let xml = held.pop(); xml !== undefined; xml = held.pop()) {
        const answer = await pushToCallback(target, xml).catch(() => undefined);
        this.count(answer?.status);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return this.stats();
  }

  /** Drops the scheduled reports that have not been pushed yet. */
  cancel(): void {
    for (const [timer, settle] of this.timers) {
      clearTimeout(timer);
      settle();
    }
    this.timers.clear();
  }

  private schedule(target: CallbackOptions, xml: string): void {
    let release = () => {};
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.pending.add(done);
    const settle = () => {
      this.pending.delete(done);
      release();
    };
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      pushToCallback(target, xml)
        .then((r) => this.count(r.status))
        .catch(() => this.count(undefined))
        .finally(settle);
    }, target.reportDelayMs ?? 1000);
    timer.unref();
    this.timers.set(timer, settle);
  }

  /** A push answered 2xx counts as pushed; any other answer, or none, as failed. */
  private count(status: number | undefined): void {
    if (status !== undefined && status >= 200 && status < 300) this.counts.pushed += 1;
    else this.counts.failed += 1;
  }
}
