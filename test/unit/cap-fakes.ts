/**
 * The subscribers' items as the daily-cap, suppression and window adapters keep them, in memory:
 * each conditional write checks and writes in one step, as DynamoDB does for one item, so races
 * between broadcasts play out as they would on the table.
 */
import type { SuppressionReason } from "../../functions/contracts/messages.ts";
import type { BroadcastMessage } from "../../functions/core/model.ts";
import type {
  CapClaim,
  CapSlot,
  CapState,
  DailyCapStore,
  SubscriberStatusStore,
  SuppressionReader,
  SuppressionStore,
  WeChatMessenger,
  WeChatResult,
  WindowUse,
} from "../../functions/core/ports.ts";

export interface MemorySubscriber {
  slots: (CapSlot | undefined)[];
  windowUntil?: number;
  windowRemaining?: number;
  windowCalls: Set<string>;
  followed: boolean;
  lastInteractionAt?: number;
  followedAt?: number;
  suppressed?: SuppressionReason;
  suppressedAt?: number;
}

export class MemorySubscribers
  implements DailyCapStore, SubscriberStatusStore, SuppressionStore, SuppressionReader
{
  readonly items = new Map<string, MemorySubscriber>();
  /** Writes by kind: each is one UpdateItem on the table; `refused` ones consume a unit too. */
  readonly writes = { taken: 0, refused: 0, givenBack: 0, windows: 0 };
  reads = 0;

  add(openid: string, fields: Partial<MemorySubscriber> = {}): MemorySubscriber {
    const item: MemorySubscriber = { slots: [], windowCalls: new Set(), followed: true, ...fields };
    this.items.set(openid, item);
    return item;
  }

  /** The broadcasts holding a live slot of `openid` at `now`. */
  live(openid: string, now: number): string[] {
    const slots = this.items.get(openid)?.slots ?? [];
    return slots.flatMap((s) => (s && s.at > now - 24 * 3600_000 ? [s.broadcastId] : []));
  }

  private state(item: MemorySubscriber, slots: number): CapState {
    return {
      slots: Array.from({ length: slots }, (_, i) => (item.slots[i] ? { ...item.slots[i] } : undefined)),
      ...(item.windowUntil === undefined ? {} : { windowUntil: item.windowUntil }),
      ...(item.windowRemaining === undefined ? {} : { windowRemaining: item.windowRemaining }),
      windowCalls: [...item.windowCalls],
    };
  }

  async read(openids: readonly string[], slots: number): Promise<ReadonlyMap<string, CapState>> {
    this.reads += 1;
    const states = new Map<string, CapState>();
    for (const openid of openids) {
      const item = this.items.get(openid);
      if (item) states.set(openid, this.state(item, slots));
    }
    return states;
  }

  async take(openid: string, broadcastId: string, claim: CapClaim): Promise<"taken" | "missing" | CapState> {
    const item = this.items.get(openid);
    if (!item) return "missing";
    const slot = item.slots[claim.index];
    const free = !slot || slot.at <= claim.freeBefore;
    const holds = item.slots.slice(0, claim.slots).some((s) => s?.broadcastId === broadcastId);
    const window =
      !claim.window ||
      ((item.windowRemaining ?? 0) > 0 &&
        (item.windowUntil ?? 0) > claim.now &&
        !item.windowCalls.has(broadcastId));
    if (!free || holds || !window) {
      this.writes.refused += 1;
      return this.state(item, claim.slots);
    }
    this.writes.taken += 1;
    item.slots[claim.index] = { broadcastId, at: claim.now };
    if (claim.window) {
      item.windowRemaining = (item.windowRemaining ?? 0) - 1;
      item.windowCalls.add(broadcastId);
    }
    return "taken";
  }

  async giveBack(openid: string, broadcastId: string, index: number): Promise<void> {
    const item = this.items.get(openid);
    if (item?.slots[index]?.broadcastId !== broadcastId) return;
    this.writes.givenBack += 1;
    item.slots[index] = undefined;
  }

  async consumeWindow(openid: string, broadcastId: string, now: number): Promise<WindowUse> {
    const item = this.items.get(openid);
    if (!item) return "none";
    this.writes.windows += 1;
    if (
      (item.windowRemaining ?? 0) > 0 &&
      (item.windowUntil ?? 0) > now &&
      !item.windowCalls.has(broadcastId)
    ) {
      item.windowRemaining = (item.windowRemaining ?? 0) - 1;
      item.windowCalls.add(broadcastId);
      return "taken";
    }
    return item.windowCalls.has(broadcastId) ? "in_doubt" : "none";
  }

  async releaseWindow(openid: string, broadcastId: string, refund: boolean): Promise<void> {
    const item = this.items.get(openid);
    if (!item?.windowCalls.delete(broadcastId)) return;
    if (refund) item.windowRemaining = (item.windowRemaining ?? 0) + 1;
  }

  async markUnfollowed(openids: readonly string[], now: number): Promise<void> {
    for (const openid of openids) {
      const item = this.items.get(openid);
      if (!item) continue;
      item.followed = false;
      item.suppressed = "43004";
      item.suppressedAt ??= now;
    }
  }

  async suppress(marks: readonly { openid: string; at: number }[], reason: SuppressionReason): Promise<void> {
    for (const { openid, at } of marks) {
      const item = this.items.get(openid);
      if (!item || (item.lastInteractionAt ?? 0) > at || (item.followedAt ?? 0) > at) continue;
      item.suppressed = reason;
      item.suppressedAt ??= at;
    }
  }

  async suppressedAmong(openids: readonly string[]): Promise<ReadonlyMap<string, SuppressionReason>> {
    this.reads += 1;
    return new Map(
      openids.flatMap((openid) => {
        const reason = this.items.get(openid)?.suppressed;
        return reason ? [[openid, reason] as const] : [];
      }),
    );
  }
}

/** WeChat answering each call by a script over (channel, openid); template messages get msgids. */
export class ScriptedMessenger implements WeChatMessenger {
  readonly calls: { channel: "custom" | "template"; openid: string }[] = [];
  private msgid = 5000;
  constructor(private readonly script: (channel: "custom" | "template", openid: string) => WeChatResult) {}
  private answer(channel: "custom" | "template", openid: string): WeChatResult {
    this.calls.push({ channel, openid });
    const r = this.script(channel, openid);
    return r.errcode === 0 && channel === "template" ? { ...r, msgid: this.msgid++ } : r;
  }
  async sendCustomText(_token: string, openid: string) {
    return this.answer("custom", openid);
  }
  async sendTemplate(_token: string, openid: string, _t: BroadcastMessage["template"], _id: string) {
    return this.answer("template", openid);
  }
  /** Calls to `openid` so far. */
  to(openid: string): number {
    return this.calls.filter((c) => c.openid === openid).length;
  }
}

export const OK: WeChatResult = { errcode: 0, errmsg: "ok" };
export const fixedTokens = { get: async () => "TOKEN", reject: async () => {} };
