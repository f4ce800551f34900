import { Pool } from "undici";
import type { FollowerListAnswer } from "../../core/follower-sync.ts";
import type { BroadcastMessage } from "../../core/model.ts";
import {
  type ApiQuota,
  type FetchedToken,
  type FollowerLister,
  type QuotaReader,
  type TaskMessenger,
  type TemplateLister,
  type TemplateListing,
  type TokenFetcher,
  type WeChatMessenger,
  type WeChatResult,
  WeChatTransportError,
} from "../../core/ports.ts";
import type { TaskRequest } from "../../core/task-request.ts";

export interface WeChatApiOptions {
  /** e.g. https://api.weixin.qq.com, or a simulator's URL (a path prefix is kept). */
  readonly baseUrl: string;
  /**
   * Tried once when a call to `baseUrl` fails in transport (WeChat's disaster-recovery twin
   * api2.weixin.qq.com), only for calls WeChat can de-duplicate or that change nothing.
   */
  readonly fallbackBaseUrl?: string;
  /** WeChat calls in flight at once from this container; also the number of keep-alive connections. */
  readonly maxInFlight: number;
  /** Per call, fallback included: no answer by then is a transient failure. */
  readonly timeoutMs: number;
}

const TASK_PATHS: Readonly<Record<TaskRequest["api"], string>> = {
  template: "/cgi-bin/message/template/send",
  subscribe: "/cgi-bin/message/subscribe/send",
};

/** Raised when WeChat refuses to issue an access token (wrong secret, IP not whitelisted…). */
export class TokenFetchError extends Error {
  override readonly name = "TokenFetchError";
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
  ) {
    super(`stable_token refused: errcode ${errcode} ${errmsg}`);
  }
}

/** Whether a call may be repeated on the fallback domain: WeChat de-duplicates it, or it changes nothing. */
type Repeatable = "repeatable" | "once";

interface Endpoint {
  readonly pool: Pool;
  readonly prefix: string;
}

function endpoint(baseUrl: string, opts: WeChatApiOptions): Endpoint {
  const url = new URL(baseUrl);
  return {
    prefix: url.pathname.replace(/\/+$/, ""),
    pool: new Pool(url.origin, {
      connections: opts.maxInFlight,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connectTimeout: Math.min(opts.timeoutMs, 5_000),
    }),
  };
}

/**
 * A small typed client for the WeChat endpoints Fanout uses. A pool of keep-alive connections per
 * domain bounds the calls in flight.
 */
export class WeChatApiClient
  implements WeChatMessenger, TaskMessenger, TemplateLister, FollowerLister, QuotaReader
{
  private readonly primary: Endpoint;
  private readonly fallback: Endpoint | undefined;

  constructor(private readonly opts: WeChatApiOptions) {
    this.primary = endpoint(opts.baseUrl, opts);
    this.fallback = opts.fallbackBaseUrl ? endpoint(opts.fallbackBaseUrl, opts) : undefined;
  }

  /** Customer-service messages cannot be de-duplicated: never repeated on the fallback domain. */
  sendCustomText(accessToken: string, openid: string, content: string): Promise<WeChatResult> {
    return this.post(
      "/cgi-bin/message/custom/send",
      accessToken,
      { touser: openid, msgtype: "text", text: { content } },
      "once",
    );
  }

  sendTemplate(
    accessToken: string,
    openid: string,
    template: BroadcastMessage["template"],
    clientMsgId: string,
  ): Promise<WeChatResult> {
    return this.post(
      "/cgi-bin/message/template/send",
      accessToken,
      {
        touser: openid,
        template_id: template.templateId,
        ...(template.url ? { url: template.url } : {}),
        client_msg_id: clientMsgId,
        data: template.data,
      },
      "repeatable",
    );
  }

  /** A push task's message as the core rendered it: OA template or mini-program subscribe message. */
  sendTaskMessage(accessToken: string, request: TaskRequest): Promise<WeChatResult> {
    const deduplicated = request.api === "template" && typeof request.body.client_msg_id === "string";
    return this.post(
      TASK_PATHS[request.api],
      accessToken,
      request.body,
      deduplicated ? "repeatable" : "once",
    );
  }

  /** stable_token in normal mode: idempotent while the token is valid; force_refresh is never used. */
  async stableToken(appId: string, appSecret: string): Promise<FetchedToken> {
    const body = await this.call(
      "/cgi-bin/stable_token",
      { grant_type: "client_credential", appid: appId, secret: appSecret, force_refresh: false },
      "repeatable",
    );
    if (typeof body.access_token !== "string" || typeof body.expires_in !== "number")
      throw new TokenFetchError(Number(body.errcode ?? -1), String(body.errmsg ?? ""));
    return { accessToken: body.access_token, expiresInSeconds: body.expires_in };
  }

  /** The account's template-message templates (我的模板), with the keys of their content. */
  async privateTemplates(accessToken: string): Promise<TemplateListing> {
    const body = await this.call(
      `/cgi-bin/template/get_all_private_template?access_token=${encodeURIComponent(accessToken)}`,
      undefined,
      "repeatable",
    );
    if (!Array.isArray(body.template_list))
      return { errcode: Number(body.errcode ?? -1), errmsg: String(body.errmsg ?? ""), templates: [] };
    const templates = (body.template_list as Record<string, unknown>[]).flatMap((t) =>
      typeof t.template_id === "string"
        ? [
            {
              templateId: t.template_id,
              title: String(t.title ?? ""),
              keys: templateKeys(String(t.content ?? "")),
            },
          ]
        : [],
    );
    return { errcode: 0, errmsg: "ok", templates };
  }

  /** user/get: the followers after `nextOpenid`. It changes nothing, so the fallback domain may repeat it. */
  async followerPage(accessToken: string, nextOpenid: string): Promise<FollowerListAnswer> {
    const query = new URLSearchParams({ access_token: accessToken, next_openid: nextOpenid });
    const body = await this.call(`/cgi-bin/user/get?${query}`, undefined, "repeatable");
    const data = body.data as { openid?: unknown } | undefined;
    const openids = Array.isArray(data?.openid)
      ? data.openid.filter((id): id is string => typeof id === "string")
      : undefined;
    return {
      errcode: typeof body.errcode === "number" ? body.errcode : 0,
      errmsg: typeof body.errmsg === "string" ? body.errmsg : "",
      ...(openids ? { openids } : {}),
      ...(typeof body.count === "number" ? { count: body.count } : {}),
      nextOpenid: typeof body.next_openid === "string" ? body.next_openid : "",
    };
  }

  /** quota/get: one API's daily limit, used and remaining calls. It changes nothing, so it may be repeated. */
  async apiQuota(accessToken: string, cgiPath: string): Promise<ApiQuota> {
    const body = await this.call(
      `/cgi-bin/openapi/quota/get?access_token=${encodeURIComponent(accessToken)}`,
      { cgi_path: cgiPath },
      "repeatable",
    );
    const quota = body.quota as Record<string, unknown> | undefined;
    const errcode = typeof body.errcode === "number" ? body.errcode : 0;
    if (errcode !== 0 || typeof quota?.remain !== "number")
      return { refused: { errcode: errcode === 0 ? -1 : errcode, errmsg: String(body.errmsg ?? "") } };
    return {
      dailyLimit: Number(quota.daily_limit ?? 0),
      used: Number(quota.used ?? 0),
      remain: quota.remain,
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.primary.pool.close(), this.fallback?.pool.close()]);
  }

  private async post(
    path: string,
    accessToken: string,
    payload: object,
    repeatable: Repeatable,
  ): Promise<WeChatResult> {
    const body = await this.call(
      `${path}?access_token=${encodeURIComponent(accessToken)}`,
      payload,
      repeatable,
    );
    return {
      errcode: typeof body.errcode === "number" ? body.errcode : 0,
      errmsg: typeof body.errmsg === "string" ? body.errmsg : "",
      ...msgidOf(body.msgid),
    };
  }

  /**
   * One call within the timeout (a GET without a payload); a repeatable one that failed in transport
   * goes once to the fallback.
   */
  private async call(
    pathAndQuery: string,
    payload: object | undefined,
    repeatable: Repeatable,
  ): Promise<Record<string, unknown>> {
    const signal = AbortSignal.timeout(this.opts.timeoutMs);
    const body = payload === undefined ? undefined : JSON.stringify(payload);
    try {
      return await this.exchange(this.primary, pathAndQuery, body, signal);
    } catch (error) {
      if (!(error instanceof WeChatTransportError) || repeatable === "once" || !this.fallback) throw error;
      if (signal.aborted) throw error;
      return this.exchange(this.fallback, pathAndQuery, body, signal);
    }
  }

  private async exchange(
    { pool, prefix }: Endpoint,
    pathAndQuery: string,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    let statusCode: number;
    let text: string;
    try {
      const res = await pool.request({
        path: `${prefix}${pathAndQuery}`,
        signal,
        ...(body === undefined
          ? { method: "GET" }
          : { method: "POST", headers: { "content-type": "application/json" }, body }),
      });
      statusCode = res.statusCode;
      text = await res.body.text();
    } catch (error) {
      // undici's messages name the error kind, never the URL, so the access token stays out of logs.
      throw new WeChatTransportError(
        `WeChat unreachable: ${(error as Error).name}: ${(error as Error).message}`,
      );
    }
    if (statusCode !== 200) throw new WeChatTransportError(`WeChat answered HTTP ${statusCode}`);
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new WeChatTransportError("WeChat answered with a body that is not JSON");
    }
  }
}

/** The refresher's token source: stable_token in normal mode with the account's AppSecret. */
export class StableTokenFetcher implements TokenFetcher {
  constructor(
    private readonly client: WeChatApiClient,
    private readonly appId: string,
    private readonly appSecret: string,
  ) {}

  fetch(): Promise<FetchedToken> {
    return this.client.stableToken(this.appId, this.appSecret);
  }
}

/** The keys a template's content fills, in order: `{{thing1.DATA}}` → thing1. */
export function templateKeys(content: string): string[] {
  return [
    ...new Set([...content.matchAll(/\{\{\s*([A-Za-z0-9_]+)\.DATA\s*\}\}/g)].map((m) => m[1] as string)),
  ];
}

/** WeChat's msgid is a number; some gateways re-encode it as a decimal string, which names the same message. */
function msgidOf(value: unknown): { msgid?: number } {
  if (typeof value === "number") return { msgid: value };
  if (typeof value === "string" && /^\d{1,15}$/.test(value)) return { msgid: Number(value) };
  return {};
}
