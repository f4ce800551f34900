/**
 * One subscriber as an operator looks them up: their own choice and whose it is, following,
 * membership, the tracked customer-service window, subscribe credits, and their most recent
 * deliveries. Deliveries are found by reading, not by a write per delivery: the lookup walks the
 * recent broadcasts newest first and asks each one for the user's record, under a read budget, and
 * says when it stopped before the records' retention.
 */
import type { DeliveryRecord, Post } from "./model.ts";
import { postBroadcastId } from "./model.ts";
import type { Clock, NewestFirstPages, RecipientRecordFinder } from "./ports.ts";
import { type PushTask, taskBroadcastId } from "./push-task.ts";
import { asSuppressionReason, type SuppressionReason } from "./suppression.ts";

/** A subscriber's item as the Subscribers table holds it: the fields a lookup shows. */
export interface StoredSubscriber {
  readonly openid: string;
  readonly optedIn?: boolean;
  /** Whose choice `optedIn` is; absent on subscribers nobody ever opted in or out. */
  readonly optedInBy?: "user" | "operator";
  readonly optedInChangedAt?: number;
  /** Absent: following (the audience counts it so). */
  readonly followed?: boolean;
  readonly followedAt?: number;
  readonly unfollowedAt?: number;
  readonly membershipExpiresAt?: number;
  readonly windowUntil?: number;
  readonly windowRemaining?: number;
  readonly lastInteractionAt?: number;
  readonly createdAt?: number;
  readonly updatedAt?: number;
  /** Why WeChat's word keeps broadcasts from them, and since when (core/suppression.ts). */
  readonly suppressed?: string;
  readonly suppressedAt?: number;
}

/** Subscribe-message credits for one template, as the mini program reported them less those used. */
export interface CreditBalance {
  readonly templateId: string;
  readonly credits: number;
  readonly updatedAt?: number;
}

/** What a subscriber's state means for the next broadcast, all times epoch ms. */
export interface SubscriberState {
  readonly optedIn: boolean;
  /**
   * Whose choice it is: `user` (their own 0 or 1, which only they undo), `operator` (an import), or
   * null for the default of a new subscriber.
   */
  readonly optedInBy: "user" | "operator" | null;
  /** When the current choice was made; for a subscriber never changed, when they were first stored. */
  readonly optedInSince: number | null;
  readonly followed: boolean;
  /** When they last followed, or unfollowed (whichever `followed` says). */
  readonly followedChangedAt: number | null;
  readonly membershipExpiresAt: number | null;
  readonly membershipActive: boolean;
  /** The 48-hour (or 1-minute event) customer-service window Fanout tracks; null if none ever opened. */
  readonly window: { readonly until: number; readonly remaining: number; readonly open: boolean } | null;
  /** Whether a broadcast starting now would include them (opted in, following, membership valid). */
  readonly inAudience: boolean;
  /**
   * WeChat said they refuse the account's messages (`user block`, `43101`) or do not follow (`43004`):
   * broadcasts skip them until their own message, a re-follow or an operator lifts it. Null if not.
   */
  readonly suppressed: { readonly reason: SuppressionReason; readonly since: number | null } | null;
}

/** A subscriber's state at `now`, read off their item by the rules the audience and the sender use. */
export function subscriberState(s: StoredSubscriber, now: number): SubscriberState {
  const optedIn = s.optedIn !== false;
  // A 0 from before `optedInBy` was kept came from the user's own reply (subscriber-store.ts).
  const optedInBy = s.optedInBy ?? (s.optedIn === false ? "user" : null);
  const followed = s.followed !== false;
  const membershipActive = s.membershipExpiresAt === undefined || s.membershipExpiresAt > now;
  const window =
    s.windowUntil === undefined
      ? null
      : {
          until: s.windowUntil,
          remaining: Math.max(0, s.windowRemaining ?? 0),
          open: s.windowUntil > now && (s.windowRemaining ?? 0) > 0,
        };
  return {
    optedIn,
    optedInBy,
    optedInSince: s.optedInChangedAt ?? s.createdAt ?? null,
    followed,
    followedChangedAt: (followed ? s.followedAt : s.unfollowedAt) ?? null,
    membershipExpiresAt: s.membershipExpiresAt ?? null,
    membershipActive,
    window,
    inAudience: optedIn && followed && membershipActive,
    suppressed: suppressionOf(s),
  };
}

function suppressionOf(s: StoredSubscriber): SubscriberState["suppressed"] {
  const reason = asSuppressionReason(s.suppressed);
  return reason ? { reason, since: s.suppressedAt ?? null } : null;
}

// ——— Recent deliveries

/** A broadcast a lookup may search: a paid post's or a sent task's. */
export interface BroadcastSource {
  readonly kind: "post" | "task";
  /** The post's outTradeNo or the task's id. */
  readonly id: string;
  /** The task's name, or the start of the post's content. */
  readonly title: string;
  readonly broadcastId: string;
  /** When the post or task was created (epoch ms): the order both lists keep. */
  readonly createdAt: number;
}

export interface RecentDeliveriesDeps {
  readonly posts: NewestFirstPages<Post>;
  readonly tasks: NewestFirstPages<PushTask>;
  readonly finder: RecipientRecordFinder;
  readonly clock: Clock;
}

export interface RecentDeliveriesOptions {
  /** Deliveries wanted (the newest). */
  readonly limit: number;
  /** Read units after which no further broadcast is searched (those under way finish). */
  readonly readBudget: number;
  /** Broadcasts searched at once. */
  readonly concurrency: number;
  /** How long records are kept: older broadcasts have none left. */
  readonly retentionMs: number;
  /** Epoch ms after which no further broadcast is searched. */
  readonly stopAt: number;
}

/**
 * Why the search ended: `found` (limit reached), `retention` (every broadcast young enough to have
 * records was searched), `end` (every broadcast was searched), or cut short by the `budget` of read
 * units or by `time`.
 */
export type SearchEnd = "found" | "retention" | "end" | "budget" | "time";

export interface RecentDelivery {
  readonly source: BroadcastSource;
  readonly record: DeliveryRecord;
}

export interface RecentDeliveries {
  /** Newest first. */
  readonly items: readonly RecentDelivery[];
  readonly searchedBroadcasts: number;
  readonly readUnits: number;
  readonly stoppedBy: SearchEnd;
  /** Nothing newer than the oldest item shown (or within the retention) was left unsearched. */
  readonly complete: boolean;
}

const TITLE_CHARS = 30;
const LIST_PAGE = 20;

const postSource = (p: Post): BroadcastSource | undefined =>
  p.status === "PAID"
    ? {
        kind: "post",
        id: p.outTradeNo,
        title: Array.from(p.content).slice(0, TITLE_CHARS).join(""),
        broadcastId: postBroadcastId(p.outTradeNo),
        createdAt: p.createdAt,
      }
    : undefined;

const taskSource = (t: PushTask): BroadcastSource | undefined =>
  t.status === "draft"
    ? undefined
    : {
        kind: "task",
        id: t.taskId,
        title: t.name,
        broadcastId: taskBroadcastId(t.taskId),
        createdAt: t.createdAt,
      };

/** A newest-first list read lazily, a page at a time, its unsent posts and drafts left out. */
class Stream<T> {
  private buffer: BroadcastSource[] = [];
  private cursor: string | null = null;
  private done = false;

  constructor(
    private readonly pages: NewestFirstPages<T>,
    private readonly toSource: (item: T) => BroadcastSource | undefined,
  ) {}

  async peek(): Promise<BroadcastSource | undefined> {
    while (this.buffer.length === 0 && !this.done) {
      const page = await this.pages(this.cursor, LIST_PAGE);
      this.buffer = page.items.flatMap((item) => this.toSource(item) ?? []);
      this.cursor = page.next;
      this.done = page.next === null;
    }
    return this.buffer[0];
  }

  take(): BroadcastSource | undefined {
    return this.buffer.shift();
  }
}

/**
 * The user's newest deliveries, walking paid posts and sent tasks newest first (both lists merged
 * by creation time) and searching `concurrency` broadcasts at a time, until `limit` are found, no
 * broadcast young enough to have records is left, or the read budget or time runs out.
 */
export async function recentDeliveries(
  openid: string,
  deps: RecentDeliveriesDeps,
  opts: RecentDeliveriesOptions,
): Promise<RecentDeliveries> {
  const streams = [new Stream(deps.posts, postSource), new Stream(deps.tasks, taskSource)];
  const oldest = deps.clock.now() - opts.retentionMs;
  const found: RecentDelivery[] = [];
  let searched = 0;
  let readUnits = 0;
  let beyondRetention = false;

  /** The newest broadcast left in either list, or undefined when none is young enough. */
  const next = async (): Promise<BroadcastSource | undefined> => {
    const heads = await Promise.all(streams.map((s) => s.peek()));
    let pick = -1;
    heads.forEach((head, i) => {
      if (head && (pick < 0 || head.createdAt > (heads[pick]?.createdAt ?? 0))) pick = i;
    });
    const head = heads[pick];
    if (!head) return undefined;
    if (head.createdAt < oldest) {
      beyondRetention = true;
      return undefined;
    }
    return streams[pick]?.take();
  };

  let stoppedBy: SearchEnd | undefined;
  while (stoppedBy === undefined) {
    const batch: BroadcastSource[] = [];
    while (batch.length < opts.concurrency) {
      const source = await next();
      if (!source) break;
      batch.push(source);
    }
    if (batch.length === 0) {
      stoppedBy = beyondRetention ? "retention" : "end";
      break;
    }
    const results = await Promise.all(batch.map((source) => deps.finder.find(source.broadcastId, openid)));
    searched += batch.length;
    results.forEach(({ record, readUnits: units }, i) => {
      readUnits += units;
      const source = batch[i];
      if (record && source) found.push({ source, record });
    });
    if (found.length >= opts.limit) stoppedBy = "found";
    else if (readUnits >= opts.readBudget) stoppedBy = "budget";
    else if (deps.clock.now() >= opts.stopAt) stoppedBy = "time";
  }
  const items = found.sort((a, b) => b.record.at - a.record.at).slice(0, opts.limit);
  return {
    items,
    searchedBroadcasts: searched,
    readUnits,
    stoppedBy,
    complete: stoppedBy === "found" || stoppedBy === "retention" || stoppedBy === "end",
  };
}
