import { Pool } from "undici";
import type { BroadcastEvent } from "../../contracts/messages.ts";
import type { Clock, WebhookAttempt, WebhookPoster } from "../../core/ports.ts";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, webhookSignature } from "./signature.ts";

export interface WebhookClientOptions {
  /** https://…, or http:// to a loopback address (config.ts checks it). */
  readonly url: string;
  readonly secret: string;
  /** Per try: no answer by then is a failed try. */
  readonly timeoutMs: number;
  readonly clock: Clock;
}

/**
 * POSTs broadcast events to the business app, signed: keep-alive connections to its origin, no
 * redirects followed (a 3xx is a failed try, like any answer but a 2xx).
 */
export class WebhookClient implements WebhookPoster {
  private readonly pool: Pool;
  private readonly path: string;

  constructor(private readonly opts: WebhookClientOptions) {
    const url = new URL(opts.url);
    this.path = `${url.pathname}${url.search}`;
    this.pool = new Pool(url.origin, {
      connections: 4,
      keepAliveTimeout: 30_000,
      connectTimeout: Math.min(opts.timeoutMs, 5_000),
    });
  }

  async post(event: BroadcastEvent): Promise<WebhookAttempt> {
    const body = JSON.stringify(event);
    const timestamp = Math.floor(this.opts.clock.now() / 1000);
    try {
      const res = await this.pool.request({
        path: this.path,
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "wechat-fanout-webhook",
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: webhookSignature(this.opts.secret, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) return { delivered: true };
      return { delivered: false, reason: `the webhook answered HTTP ${res.statusCode}` };
    } catch (error) {
      // undici's messages name the error kind, not the URL (which may carry the receiver's token).
      return {
        delivered: false,
        reason: `the webhook did not answer: ${(error as Error).name}: ${(error as Error).message}`,
      };
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
