/**
 * Bounds the WeChat calls a container has in flight, across every chunk it handles at once; waiting
 * turns start in arrival order. Whatever a turn marks before its call (a window message, a credit)
 * is marked only once the turn runs, so a crash never leaves a mark for a call that was only queued.
 */
export class InFlightLimit {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new RangeError(`an in-flight limit must be at least 1, got ${max}`);
  }

  /** Runs `turn` once fewer than `max` turns are running. */
  async run<T>(turn: () => Promise<T>): Promise<T> {
    if (this.active < this.max) this.active += 1;
    else await new Promise<void>((start) => this.waiting.push(start));
    try {
      return await turn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    }
  }
}
