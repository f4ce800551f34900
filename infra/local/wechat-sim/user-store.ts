import { ensureCapacity } from "./growable.ts";

export type WindowKind = "message" | "event";

/** §2.1: a user message opens 5 sends for 48 h; follow/menu/scan events open 3 sends for 1 min. */
export const WINDOWS: Readonly<Record<WindowKind, { readonly sends: number; readonly ms: number }>> = {
  message: { sends: 5, ms: 48 * 3_600_000 },
  event: { sends: 3, ms: 60_000 },
};

export type WindowUse = "ok" | "closed" | "used-up";

const INITIAL = 1024;
const FOLLOWED = 1;

/**
 * Users as dense indices into typed columns: per user one Map entry plus ~18 bytes of columns, so a
 * million users cost tens of megabytes. Subscription credits are sparse and kept in a side map.
 */
export class UserStore {
  private readonly index = new Map<string, number>();
  private openids: string[] = [];
  private flags = new Uint8Array(INITIAL);
  /** Window deadline in epoch ms; 0 = none. */
  private windowEnds = new Float64Array(INITIAL);
  private windowLeft = new Uint8Array(INITIAL);
  private readonly credits = new Map<number, Map<string, number>>();

  get size(): number {
    return this.openids.length;
  }

  find(openid: string): number | undefined {
    return this.index.get(openid);
  }

  /** Index of `openid`, registering it as a follower without a window if new. */
  ensure(openid: string): number {
    const known = this.index.get(openid);
    if (known !== undefined) return known;
    const idx = this.openids.length;
    this.openids.push(openid);
    this.index.set(openid, idx);
    this.flags = ensureCapacity(this.flags, idx);
    this.windowEnds = ensureCapacity(this.windowEnds, idx);
    this.windowLeft = ensureCapacity(this.windowLeft, idx);
    this.flags[idx] = FOLLOWED;
    return idx;
  }

  openidOf(idx: number): string {
    return this.openids[idx] ?? "";
  }

  isFollowed(idx: number): boolean {
    return ((this.flags[idx] ?? 0) & FOLLOWED) !== 0;
  }

  setFollowed(idx: number, followed: boolean): void {
    const flags = this.flags[idx] ?? 0;
    this.flags[idx] = followed ? flags | FOLLOWED : flags & ~FOLLOWED;
    // The window belongs to the interaction that opened it; an unfollow ends it for good.
    if (!followed) this.windowEnds[idx] = 0;
  }

  /**
   * Quotas reset rather than add up (§2.1): each action restores the full count. An event during a
   * longer message window keeps the longer deadline and never lowers the remaining count.
   */
  openWindow(idx: number, kind: WindowKind, now: number): void {
    const rule = WINDOWS[kind];
    const end = this.windowEnds[idx] ?? 0;
    const left = this.windowLeft[idx] ?? 0;
    const live = end > now;
    const newEnd = now + rule.ms;
    if (live && end > newEnd) {
      this.windowLeft[idx] = Math.max(left, rule.sends);
      return;
    }
    this.windowEnds[idx] = newEnd;
    this.windowLeft[idx] = rule.sends;
  }

  /** Takes one send from the user's window if it is open and not used up. */
  useWindow(idx: number, now: number): WindowUse {
    const end = this.windowEnds[idx] ?? 0;
    if (end <= now) return "closed";
    const left = this.windowLeft[idx] ?? 0;
    if (left === 0) return "used-up";
    this.windowLeft[idx] = left - 1;
    return "ok";
  }

  addCredits(idx: number, templateId: string, count: number): void {
    let perTemplate = this.credits.get(idx);
    if (perTemplate === undefined) {
      perTemplate = new Map();
      this.credits.set(idx, perTemplate);
    }
    perTemplate.set(templateId, (perTemplate.get(templateId) ?? 0) + count);
  }

  creditsOf(idx: number, templateId: string): number {
    return this.credits.get(idx)?.get(templateId) ?? 0;
  }

  hasCredit(idx: number, templateId: string): boolean {
    return (this.credits.get(idx)?.get(templateId) ?? 0) > 0;
  }

  /** Takes one one-time subscription credit; false when the user has none left for the template. */
  useCredit(idx: number, templateId: string): boolean {
    const perTemplate = this.credits.get(idx);
    const left = perTemplate?.get(templateId) ?? 0;
    if (perTemplate === undefined || left <= 0) return false;
    if (left === 1) perTemplate.delete(templateId);
    else perTemplate.set(templateId, left - 1);
    return true;
  }

  clear(): void {
    this.index.clear();
    this.openids = [];
    this.flags = new Uint8Array(INITIAL);
    this.windowEnds = new Float64Array(INITIAL);
    this.windowLeft = new Uint8Array(INITIAL);
    this.credits.clear();
  }
}
