/**
 * The daily cap of paid posts: a subscriber gets at most `limit` paid-post messages in any 24 hours
 * (push tasks are not capped). Each subscriber's item holds `limit` slots, each the broadcast that
 * took it and when; a slot older than 24 h (or never taken) is free. A recipient takes a free slot
 * with one conditional write right before the first WeChat call, and none are left: skipped with
 * `daily cap`. The write's condition is what makes the count exact: the slot must still be free and
 * no slot may hold the broadcast already, so two broadcasts racing for the last slot cannot both
 * take it, and a chunk delivered again (after a crash, or a transient failure) finds its own slot and
 * takes no other. A permanent failure (WeChat delivered nothing) gives the slot back. A recipient
 * with a customer-service window uses its message in the same write.
 */
import type { CapState, DailyCapStore, SubscriberStatusStore, WindowUse } from "./ports.ts";

/** The skip reason of a recipient who had their day's paid posts already. */
export const DAILY_CAP = "daily cap";
export const DAILY_CAP_WINDOW_MS = 24 * 3600_000;
/**
 * The highest cap: each slot is ~60 bytes of the subscriber's item, and 10 keep it under 1 KB, so
 * every write to it stays one write unit.
 */
export const MAX_DAILY_CAP = 10;

/** Writes a recipient tries before leaving it to the queue's retry: each refusal means the item changed. */
const MAX_TAKES = 4;

/** The cap the sender applies, when MAX_POSTS_PER_SUBSCRIBER_PER_DAY is set. */
export interface DailyCapSettings {
  readonly store: DailyCapStore;
  readonly limit: number;
}

/**
 * What the cap lets a recipient's first call be: its channel (`custom` when a window message was
 * taken), `capped`, `in_doubt` (an earlier delivery used the window for this broadcast and may have
 * delivered), or `busy` (the item kept changing under the writes; the queue tries again).
 */
export type CapAdmission = "custom" | "template" | "capped" | "in_doubt" | "busy";

/** The channel a window use leaves the first call, or its doubt. */
export function windowAdmission(use: WindowUse): CapAdmission {
  return use === "taken" ? "custom" : use === "none" ? "template" : "in_doubt";
}

const EMPTY: CapState = { slots: [], windowCalls: [] };

/** The slot holding `broadcastId`, or -1. */
function ownSlot(state: CapState, broadcastId: string): number {
  return state.slots.findIndex((slot) => slot?.broadcastId === broadcastId);
}

/** A free slot among the first `limit`: an empty one first, else the oldest expired one; undefined if none. */
export function freeSlot(state: CapState, limit: number, now: number): number | undefined {
  let oldest: number | undefined;
  for (let i = 0; i < limit; i += 1) {
    const slot = state.slots[i];
    if (!slot) return i;
    if (
      slot.at <= now - DAILY_CAP_WINDOW_MS &&
      (oldest === undefined || slot.at < (state.slots[oldest]?.at ?? 0))
    )
      oldest = i;
  }
  return oldest;
}

/** Whether the tracked window has a message left at `now`. */
function windowOpen(state: CapState, now: number): boolean {
  return (state.windowUntil ?? 0) > now && (state.windowRemaining ?? 0) > 0;
}

/**
 * One chunk's recipients under the cap: their items are read once (the first time one is asked
 * about), and each recipient's slot is then taken, or found, with one conditional write.
 */
export class DailyCapGate {
  private states: Promise<ReadonlyMap<string, CapState>> | undefined;
  /** The slot this broadcast holds, per recipient, as taken or found. */
  private readonly held = new Map<string, number>();

  constructor(
    private readonly settings: DailyCapSettings,
    private readonly windows: Pick<SubscriberStatusStore, "consumeWindow">,
    private readonly broadcastId: string,
    /** The chunk's recipients this delivery may send to. */
    private readonly openids: readonly string[],
  ) {}

  /** Takes (or finds) the recipient's slot and, `windowed`, a window message; or says why not. */
  async admit(openid: string, windowed: boolean, now: number): Promise<CapAdmission> {
    const { store, limit } = this.settings;
    let state = (await this.load()).get(openid) ?? EMPTY;
    for (let take = 0; take < MAX_TAKES; take += 1) {
      const own = ownSlot(state, this.broadcastId);
      if (own >= 0) {
        // Taken by an earlier delivery of this chunk: counted already. Its window message, if it
        // took one, is the window's own business (a note, or in doubt).
        this.held.set(openid, own);
        const noted = state.windowCalls.includes(this.broadcastId);
        return windowed && (noted || windowOpen(state, now)) ? this.useWindow(openid, now) : "template";
      }
      const index = freeSlot(state, limit, now);
      if (index === undefined) return "capped";
      const window = windowed && windowOpen(state, now) && !state.windowCalls.includes(this.broadcastId);
      const answer = await store.take(openid, this.broadcastId, {
        index,
        slots: limit,
        now,
        freeBefore: now - DAILY_CAP_WINDOW_MS,
        window,
      });
      if (answer === "taken") {
        this.held.set(openid, index);
        if (window) return "custom";
        // A note for this broadcast without its slot: the window's own rule says whether it is in doubt.
        return windowed && state.windowCalls.includes(this.broadcastId)
          ? this.useWindow(openid, now)
          : "template";
      }
      // No item to count on: the audience read it a moment ago, so it is not expected; send uncapped.
      if (answer === "missing") return "template";
      state = answer;
    }
    return "busy";
  }

  /** WeChat refused the recipient's message for good (nothing delivered): its slot is free again. */
  async giveBack(openid: string): Promise<void> {
    const index = this.held.get(openid);
    if (index === undefined) return;
    this.held.delete(openid);
    await this.settings.store.giveBack(openid, this.broadcastId, index);
  }

  private load(): Promise<ReadonlyMap<string, CapState>> {
    this.states ??= this.settings.store.read(this.openids, this.settings.limit);
    return this.states;
  }

  private async useWindow(openid: string, now: number): Promise<CapAdmission> {
    return windowAdmission(await this.windows.consumeWindow(openid, this.broadcastId, now));
  }
}
