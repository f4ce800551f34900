import { chinaDay } from "./clock.ts";
import { type Errcode, type WxBody, wxError } from "./errors.ts";
import type { TokenService } from "./token-service.ts";
import type { UserStore } from "./user-store.ts";

/** WeChat's page: "一次拉取调用最多拉取10000个关注者的OpenID" (WECHAT_FACTS §10.4). */
export const FOLLOWER_PAGE_SIZE = 10_000;
/** user/get's default daily quota. */
export const FOLLOWER_DAILY_QUOTA = 500;

export interface FollowerListSettings {
  /** Openids per page; default 10,000 (tests use a few). */
  pageSize: number;
  /** Calls answered per day (Beijing days); past it, 45009. Default 500. */
  dailyQuota: number;
  /**
   * WeChat's end-of-list quirk: the last page still carries a `next_openid` (its last openid), and
   * the call with it answers `count: 0` without `data`. Default true; false: the last page's is "".
   */
  nextOpenidOnLastPage: boolean;
}

export const DEFAULT_FOLLOWER_LIST: Readonly<FollowerListSettings> = Object.freeze({
  pageSize: FOLLOWER_PAGE_SIZE,
  dailyQuota: FOLLOWER_DAILY_QUOTA,
  nextOpenidOnLastPage: true,
});

/** A call held open by `hold()`: `reached` once it arrived, answered after `release()`. */
export interface HeldCall {
  readonly reached: Promise<void>;
  release(): void;
}

/**
 * `GET /cgi-bin/user/get`: the followers of the simulated account (the user store's users that
 * follow), in the order they were added, `next_openid` the last openid of a page. Checks the token
 * like the send APIs, counts a daily quota, and lets a test fail or hold the next calls.
 */
export class FollowerList {
  private settings: FollowerListSettings = { ...DEFAULT_FOLLOWER_LIST };
  private quotaDay = -1;
  private today = 0;
  private failures: Errcode[] = [];
  private holds: { skip: number; reached: () => void; release: () => void; released: Promise<void> }[] = [];
  /** Calls answered with followers or the end of the list (errors not counted). */
  answered = 0;

  constructor(
    private readonly users: UserStore,
    private readonly tokens: TokenService,
    private readonly now: () => number,
  ) {}

  configure(patch: Partial<FollowerListSettings>): Readonly<FollowerListSettings> {
    this.settings = { ...this.settings, ...patch };
    return this.current();
  }

  current(): Readonly<FollowerListSettings> {
    return { ...this.settings };
  }

  /** The next `times` calls (whose token is good) answer `errcode` instead of followers. */
  failNext(errcode: Errcode, times = 1): void {
    for (let i = 0; i < times; i += 1) this.failures.push(errcode);
  }

  /** Holds the call after the next `skip` ones open until released (a test crashes its caller meanwhile). */
  hold(skip = 0): HeldCall {
    let reached = () => {};
    let release = () => {};
    const reachedPromise = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.holds.push({ skip, reached, release, released });
    return { reached: reachedPromise, release };
  }

  /** Calls used today, as WeChat counts them against the quota. */
  usedToday(): number {
    this.rollDay();
    return this.today;
  }

  /** Answers one call; waits first if a test holds it. */
  async answer(query: URLSearchParams): Promise<WxBody> {
    const held = this.takeHold();
    if (held) {
      held.reached();
      await held.released;
    }
    return this.page(query);
  }

  private takeHold() {
    const index = this.holds.findIndex((h) => h.skip === 0);
    for (const h of this.holds) h.skip -= 1;
    if (index < 0) return undefined;
    const [held] = this.holds.splice(index, 1);
    return held;
  }

  private page(query: URLSearchParams): WxBody {
    const tokenError = this.tokens.check(query.get("access_token"));
    if (tokenError !== 0) return wxError(tokenError);
    this.rollDay();
    if (this.today >= this.settings.dailyQuota) return wxError(45009);
    const failure = this.failures.shift();
    if (failure !== undefined) return wxError(failure);
    const after = query.get("next_openid") ?? "";
    let from = 0;
    if (after !== "") {
      const idx = this.users.find(after);
      if (idx === undefined) return wxError(40003);
      from = idx + 1;
    }
    this.today += 1;
    this.answered += 1;
    const openids: string[] = [];
    let total = 0;
    let lastIdx = -1;
    for (let idx = 0; idx < this.users.size; idx += 1) {
      if (!this.users.isFollowed(idx)) continue;
      total += 1;
      if (idx < from || openids.length >= this.settings.pageSize) continue;
      openids.push(this.users.openidOf(idx));
      lastIdx = idx;
    }
    if (openids.length === 0) return { total, count: 0, next_openid: "" };
    const more = this.followerAfter(lastIdx);
    const last = openids[openids.length - 1] as string;
    const next = more || this.settings.nextOpenidOnLastPage ? last : "";
    return { total, count: openids.length, data: { openid: openids }, next_openid: next };
  }

  private followerAfter(idx: number): boolean {
    for (let i = idx + 1; i < this.users.size; i += 1) if (this.users.isFollowed(i)) return true;
    return false;
  }

  private rollDay(): void {
    const day = chinaDay(this.now());
    if (day !== this.quotaDay) {
      this.quotaDay = day;
      this.today = 0;
    }
  }

  reset(): void {
    this.settings = { ...DEFAULT_FOLLOWER_LIST };
    this.quotaDay = -1;
    this.today = 0;
    this.failures = [];
    for (const h of this.holds.splice(0)) h.release();
    this.answered = 0;
  }
}

const FAILABLE: readonly Errcode[] = [-1, 40001, 42001, 45009, 45011, 48001];

/**
 * `POST /__sim/follower-list`: `{"pageSize"?, "dailyQuota"?, "nextOpenidOnLastPage"?,
 * "failNext"?: {"errcode", "times"?}}`; an error message for a bad body.
 */
export function configureFollowerList(list: FollowerList, body: Record<string, unknown>): string | object {
  const patch: Partial<FollowerListSettings> = {};
  for (const key of ["pageSize", "dailyQuota"] as const) {
    const v = body[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < (key === "pageSize" ? 1 : 0))
      return `${key} must be a whole number${key === "pageSize" ? " ≥ 1" : " ≥ 0"}`;
    patch[key] = v;
  }
  if (body.nextOpenidOnLastPage !== undefined) {
    if (typeof body.nextOpenidOnLastPage !== "boolean") return "nextOpenidOnLastPage must be a boolean";
    patch.nextOpenidOnLastPage = body.nextOpenidOnLastPage;
  }
  const fail = body.failNext as { errcode?: unknown; times?: unknown } | undefined;
  if (fail !== undefined) {
    const times = fail.times ?? 1;
    if (!FAILABLE.includes(fail.errcode as Errcode))
      return `failNext.errcode must be one of ${FAILABLE.join(", ")}`;
    if (typeof times !== "number" || !Number.isInteger(times) || times < 1)
      return "failNext.times must be a positive whole number";
    list.failNext(fail.errcode as Errcode, times);
  }
  return { ...list.configure(patch), usedToday: list.usedToday() };
}
