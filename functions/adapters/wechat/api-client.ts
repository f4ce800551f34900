import { Pool } from "undici";
import type { BroadcastMessage } from "../../core/model.ts";
import {
  type FetchedToken,
  type TaskMessenger,
  type TokenFetcher,
  type WeChatMessenger,
  type WeChatResult,
  WeChatTransportError,
} from "../../core/ports.ts";
import type { TaskRequest } from "../../core/push-task.ts";

export interface WeChatApiOptions {
  /** e.g. https://api.weixin.qq.com, or a simulator's URL (a path prefix is kept). */
  readonly baseUrl: string;
  readonly appId: string;
  readonly appSecret: string;
  /** WeChat calls in flight at once from this container; also the number of keep-alive connections. */
  readonly maxInFlight: number;
  /** Per call: no answer by then is a transient failure. */
  readonly timeoutMs: number;
}

const TASK_PATHS: Readonly<Record<TaskRequest["api"], string>> = {
  template: "/cgi-bin/message/template/send",
  subscribe: "/cgi-bin/message/subscribe/send",
};

/** Raised when WeChat refuses to issue an access token (wrong secret, IP not allow-listed…). */
export class TokenFetchError extends Error {
  override readonly name = "TokenFetchError";
}

/**
 * A small typed client for the WeChat endpoints Fanout uses. A pool of keep-alive connections bounds
 * the calls in flight: extra calls queue in the pool instead of opening more connections.
 */
export class WeChatApiClient implements WeChatMessenger, TaskMessenger, TokenFetcher {
  private readonly pool: Pool;
  private readonly prefix: string;

  constructor(private readonly opts: WeChatApiOptions) {
    const url = new URL(opts.baseUrl);
    this.prefix = url.pathname.replace(/\/+$/, "");
    this.pool = new Pool(url.origin, {
      connections: opts.maxInFlight,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      connectTimeout: Math.min(opts.timeoutMs, 5_000),
    });
  }

  sendCustomText(accessToken: string, openid: string, content: string): Promise<WeChatResult> {
    return this.post("/cgi-bin/message/custom/send", accessToken, {
      touser: openid,
      msgtype: "text",
      text: { content },
    });
  }

  sendTemplate(
    accessToken: string,
    openid: string,
    template: BroadcastMessage["template"],
    clientMsgId: string,
  ): Promise<WeChatResult> {
    return this.post("/cgi-bin/message/template/send", accessToken, {
      touser: openid,
      template_id: template.templateId,
      ...(template.url ? { url: template.url } : {}),
      client_msg_id: clientMsgId,
      data: template.data,
    });
  }

  /** A push task's message as the core rendered it: OA template or mini-program subscribe message. */
  sendTaskMessage(accessToken: string, request: TaskRequest): Promise<WeChatResult> {
    return this.post(TASK_PATHS[request.api], accessToken, request.body);
  }

  /** stable_token in normal mode: idempotent while the token is valid; force_refresh is never used. */
  async fetch(): Promise<FetchedToken> {
    const body = await this.call("/cgi-bin/stable_token", {
      grant_type: "client_credential",
      appid: this.opts.appId,
      secret: this.opts.appSecret,
      force_refresh: false,
    });
    if (typeof body.access_token !== "string" || typeof body.expires_in !== "number") {
      throw new TokenFetchError(
        `stable_token refused: errcode ${String(body.errcode)} ${String(body.errmsg ?? "")}`,
      );
    }
    return { accessToken: body.access_token, expiresInSeconds: body.expires_in };
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async post(path: string, accessToken: string, payload: object): Promise<WeChatResult> {
    const body = await this.call(`${path}?access_token=${encodeURIComponent(accessToken)}`, payload);
    return {
      errcode: typeof body.errcode === "number" ? body.errcode : 0,
      errmsg: typeof body.errmsg === "string" ? body.errmsg : "",
      ...msgidOf(body.msgid),
    };
  }

  private async call(pathAndQuery: string, payload: object): Promise<Record<string, unknown>> {
    let statusCode: number;
    let text: string;
    try {
      const res = await this.pool.request({
        method: "POST",
        path: `${this.prefix}${pathAndQuery}`,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(payload),
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

/** WeChat's msgid is a number; some gateways re-encode it as a decimal string, which names the same message. */
function msgidOf(value: unknown): { msgid?: number } {
  if (typeof value === "number") return { msgid: value };
  if (typeof value === "string" && /^\d{1,15}$/.test(value)) return { msgid: Number(value) };
  return {};
}
