/**
 * The template message's daily quota (WECHAT_FACTS §4: 100,000 a day by default, reset at 00:00
 * Beijing time), what `POST /cgi-bin/openapi/quota/get` reports of it, and the control that lets a
 * test use it up or give it back (`/__sim/quota`).
 */
import { chinaDay } from "./clock.ts";
import { type WxBody, wxError } from "./errors.ts";

/** What quota/get answers for one API: `daily_limit`, `used` and `remain` today. */
export interface QuotaState {
  readonly dailyLimit: number;
  readonly used: number;
  readonly remain: number;
}

/** One API's calls today against a daily limit that a test may lower or raise while running. */
export class DailyQuota {
  private day = -1;
  private usedToday = 0;

  constructor(
    private limit: number,
    private readonly now: () => number,
  ) {}

  /** Whether a call may go now; counts it when it may. */
  take(): boolean {
    this.roll();
    if (this.usedToday >= this.limit) return false;
    this.usedToday += 1;
    return true;
  }

  state(): QuotaState {
    this.roll();
    return { dailyLimit: this.limit, used: this.usedToday, remain: Math.max(0, this.limit - this.usedToday) };
  }

  /** Sets today's limit (for a test: the quota runs out, or comes back as after clear_quota). */
  setLimit(limit: number): void {
    this.roll();
    this.limit = limit;
  }

  /** Leaves exactly `remain` calls for today. */
  setRemain(remain: number): void {
    this.roll();
    this.limit = this.usedToday + remain;
  }

  reset(limit: number): void {
    this.day = -1;
    this.usedToday = 0;
    this.limit = limit;
  }

  private roll(): void {
    const day = chinaDay(this.now());
    if (day !== this.day) {
      this.day = day;
      this.usedToday = 0;
    }
  }
}

/** The APIs whose quota quota/get reports, by the `cgi_path` it is asked with. */
export type QuotaPaths = Readonly<Record<string, DailyQuota>>;

/** quota/get's answer for a parsed body: the API's quota, 76021 for a path it does not know. */
export function quotaAnswer(paths: QuotaPaths, body: Record<string, unknown>): WxBody {
  const cgiPath = typeof body.cgi_path === "string" ? body.cgi_path : "";
  if (cgiPath === "") return wxError(44002);
  const quota = paths[cgiPath];
  if (!quota) return wxError(76021);
  const { dailyLimit, used, remain } = quota.state();
  return { errcode: 0, errmsg: "ok", quota: { daily_limit: dailyLimit, used, remain } };
}

/**
 * `POST /__sim/quota` `{"templateRemain"?: n, "templateDailyQuota"?: n}`: leaves n template sends for
 * today, or sets today's limit; the answer, like `GET`, is the template quota's state.
 */
export function configureTemplateQuota(
  quota: DailyQuota,
  body: Record<string, unknown>,
): QuotaState | string {
  const known = new Set(["templateRemain", "templateDailyQuota"]);
  for (const key of Object.keys(body)) if (!known.has(key)) return `unknown quota setting "${key}"`;
  for (const key of known) {
    const v = body[key];
    if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < 0))
      return `${key} must be an integer ≥ 0`;
  }
  if (typeof body.templateDailyQuota === "number") quota.setLimit(body.templateDailyQuota);
  if (typeof body.templateRemain === "number") quota.setRemain(body.templateRemain);
  return quota.state();
}
