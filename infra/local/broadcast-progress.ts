/**
 * `npm start`'s view of a broadcast's progress. While the fan-out reads the audience, the total grows
 * page by page (and leaves out who opted out), so a bar drawn against it would jump: "fanning out…
 * (分发中)" with what has settled is shown instead, then, once the fan-out is done, a bar whose total
 * is final and never changes. The console does the same (functions/console/src/progress.ts).
 */
import { SingleBar } from "cli-progress";
import type { PostView } from "../../functions/contracts/api.ts";

type Snapshot = Pick<PostView, "status" | "total" | "sent" | "failed" | "unknown" | "skipped">;

export type ProgressFrame =
  | { readonly kind: "counting"; readonly settled: number }
  | { readonly kind: "bar"; readonly settled: number; readonly total: number; readonly status: string };

/** What to show for one poll: no total while the fan-out is still counting the audience. */
export function progressFrame(s: Snapshot): ProgressFrame {
  const settled = s.sent + s.failed + s.unknown + s.skipped;
  if (s.status === "fanning_out") return { kind: "counting", settled };
  return { kind: "bar", settled, total: Math.max(s.total, 1), status: s.status };
}

/** The part of cli-progress's SingleBar the view uses. */
export interface BarLike {
  start(total: number, value: number, payload: { status: string }): void;
  update(value: number, payload: { status: string }): void;
  stop(): void;
}

export interface ProgressOutput {
  /** Whether `write` can redraw its line (a terminal). */
  readonly redraws: boolean;
  write(text: string): void;
}

const COUNTING_EVERY_MS = 2000;

export class BroadcastProgressView {
  private bar: BarLike | undefined;
  private countingShownAt: number | undefined;
  private countingOpen = false;

  constructor(
    private readonly out: ProgressOutput = {
      redraws: process.stderr.isTTY === true,
      write: (text) => process.stderr.write(text),
    },
    private readonly makeBar: () => BarLike = cliBar,
    private readonly now: () => number = Date.now,
  ) {}

  show(snapshot: Snapshot): void {
    const frame = progressFrame(snapshot);
    if (frame.kind === "counting") {
      // The fan-out is never undone: once the bar is up, the total it has is final.
      if (!this.bar) this.counting(frame.settled);
      return;
    }
    if (this.bar) {
      this.bar.update(frame.settled, { status: frame.status });
      return;
    }
    if (this.countingOpen && this.out.redraws) this.out.write("\n");
    this.countingOpen = false;
    this.bar = this.makeBar();
    this.bar.start(frame.total, frame.settled, { status: frame.status });
  }

  stop(): void {
    this.bar?.stop();
    if (this.countingOpen && this.out.redraws) this.out.write("\n");
  }

  private counting(settled: number): void {
    const text = ` fanning out… (分发中) ${settled.toLocaleString("en-US")} settled; the total comes once the audience is read`;
    if (this.out.redraws) {
      this.out.write(`\r${text}\u001b[K`);
      this.countingOpen = true;
      return;
    }
    const now = this.now();
    if (this.countingShownAt !== undefined && now - this.countingShownAt < COUNTING_EVERY_MS) return;
    this.countingShownAt = now;
    this.out.write(`${text}\n`);
  }
}

function cliBar(): BarLike {
  return new SingleBar({
    format: " {bar} {percentage}% | {value}/{total} settled | {status}",
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 2000,
  });
}
