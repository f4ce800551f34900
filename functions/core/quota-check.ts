/**
 * A quota pause (45009) ends when WeChat's daily quota is back: when to ask WeChat (`quota/get`),
 * which API to ask about, and what its answer means. The quota resets at midnight Beijing time.
 */
import { TokenUnavailableError } from "./access-token.ts";
import { classifyErrcode, TRANSPORT_ERRCODE } from "./errcodes.ts";
import type { Broadcast } from "./model.ts";
import { type AccessTokenProvider, type ApiQuota, type QuotaReader, WeChatTransportError } from "./ports.ts";

const DAY_MS = 86_400_000;
/** Beijing time has no daylight saving: a fixed offset is exact. */
const BEIJING_OFFSET_MS = 8 * 3_600_000;

/** The quota day `at` falls in: WeChat's daily quotas reset at 00:00 Asia/Shanghai. */
export function quotaDay(at: number): number {
  return Math.floor((at + BEIJING_OFFSET_MS) / DAY_MS);
}

export const TEMPLATE_SEND_PATH = "/cgi-bin/message/template/send";
export const SUBSCRIBE_SEND_PATH = "/cgi-bin/message/subscribe/send";

/**
 * The API whose quota a paused broadcast waits for: a subscribe-message task's own, else the template
 * message's (a paid post's customer-service messages go to the few with a window; its template
 * messages are what runs out).
 */
export function quotaPath(broadcast: Broadcast): string {
  return broadcast.task?.message.channel === "subscribe" ? SUBSCRIBE_SEND_PATH : TEMPLATE_SEND_PATH;
}

/** Whether to ask WeChat again: never asked, asked `intervalMs` ago, or a quota day began since. */
export function quotaCheckDue(checkedAt: number | undefined, now: number, intervalMs: number): boolean {
  if (checkedAt === undefined) return true;
  return now - checkedAt >= intervalMs || quotaDay(checkedAt) !== quotaDay(now);
}

/** WeChat's answer, or `no_token` when no usable access token could be had to ask with. */
export type QuotaAnswer = ApiQuota | "no_token";

/**
 * Whether a paused broadcast may go on: WeChat says some quota is left, or, when it would not say
 * (an errcode, no answer), a quota day has begun since the pause.
 */
export function quotaBack(answer: ApiQuota, pausedAt: number | undefined, now: number): boolean {
  if ("remain" in answer) return answer.remain > 0;
  return pausedAt !== undefined && quotaDay(pausedAt) < quotaDay(now);
}

/** Asks WeChat for an API's quota at most once per run, whatever number of broadcasts wait for it. */
export class QuotaAsker {
  private readonly answers = new Map<string, Promise<QuotaAnswer>>();
  /** quota/get calls made. */
  calls = 0;

  constructor(
    private readonly quota: QuotaReader,
    private readonly tokens: AccessTokenProvider,
    /** How long to wait for an access token (epoch ms). */
    private readonly tokenWaitUntil: number,
  ) {}

  ask(cgiPath: string): Promise<QuotaAnswer> {
    let answer = this.answers.get(cgiPath);
    if (!answer) {
      answer = this.fetch(cgiPath);
      this.answers.set(cgiPath, answer);
    }
    return answer;
  }

  private async fetch(cgiPath: string): Promise<QuotaAnswer> {
    let token: string;
    try {
      token = await this.tokens.get(this.tokenWaitUntil);
    } catch (error) {
      if (error instanceof TokenUnavailableError) return "no_token";
      throw error;
    }
    this.calls += 1;
    try {
      const answer = await this.quota.apiQuota(token, cgiPath);
      if ("refused" in answer && classifyErrcode(answer.refused.errcode) === "token") {
        await this.tokens.reject(token);
        return "no_token";
      }
      return answer;
    } catch (error) {
      if (error instanceof WeChatTransportError)
        return { refused: { errcode: TRANSPORT_ERRCODE, errmsg: error.message } };
      throw error;
    }
  }
}
