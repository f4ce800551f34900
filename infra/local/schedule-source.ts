/**
 * An EventBridge schedule, locally: invokes its function at a fixed rate with the schedule's event.
 * Like EventBridge, the first run comes one interval after start; unlike it, a run never overlaps
 * the previous one (an overrun skips a beat).
 */
import type { FunctionPool } from "./function-pool.ts";

export interface ScheduleConfig {
  readonly name: string;
  readonly everyMs: number;
  readonly event: unknown;
}

export class ScheduleSource {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly config: ScheduleConfig,
    private readonly pool: FunctionPool,
    private readonly log: (line: string) => void,
  ) {}

  /** 1 while a scheduled invocation runs. */
  get inFlight(): number {
    return this.running ? 1 : 0;
  }

  start(): void {
    this.timer = setInterval(() => this.fire(), this.config.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private fire(): void {
    if (this.running) return;
    this.running = this.pool
      .invoke(this.config.event)
      .then((outcome) => {
        if (!outcome.ok)
          this.log(
            `[schedule ${this.config.name}] ${this.pool.config.name} ${outcome.kind}: ${outcome.error.errorMessage}`,
          );
      })
      .finally(() => {
        this.running = undefined;
      });
  }
}
