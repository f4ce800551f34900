import { setTimeout as sleep } from "node:timers/promises";
import type { z } from "zod";
import {
  importSubscribersAnswer,
  type PostView,
  postView,
  type RegisterPostAnswer,
  registerPostAnswer,
  type registerPostBody,
  type SubscriberImport,
  type TallyAnswer,
  tallyAnswer,
} from "../../functions/contracts/api.ts";
import type { SignedNotify } from "./wechatpay-signer.ts";

/** Raised for an HTTP answer the caller did not expect; carries the status and the body. */
export class HttpStatusError extends Error {
  override readonly name = "HttpStatusError";
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}: ${body.slice(0, 200)}`);
  }
}

/**
 * A small client of the Fanout HTTP API, for the demo, the tests and the benchmark. Answers are read
 * through the schemas of functions/contracts/api.ts: an answer that drifted from them throws.
 */
export class FanoutClient {
  constructor(
    readonly baseUrl: string,
    private readonly adminToken: string,
  ) {}

  /**
   * Imports subscribers in requests of `batchSize` (the API takes up to 10,000), a few at once: small
   * requests stay far inside the admin function's timeout on a busy machine.
   */
  async importSubscribers(
    subscribers: readonly SubscriberImport[],
    opts: { batchSize?: number; parallel?: number } = {},
  ): Promise<number> {
    const batchSize = opts.batchSize ?? 2_000;
    const starts = Array.from({ length: Math.ceil(subscribers.length / batchSize) }, (_, i) => i * batchSize);
    let imported = 0;
    const worker = async () => {
      for (let start = starts.shift(); start !== undefined; start = starts.shift()) {
        const answer = await this.api(
          "POST",
          "/api/subscribers",
          { subscribers: subscribers.slice(start, start + batchSize) },
          importSubscribersAnswer,
        );
        imported += answer.imported;
      }
    };
    await Promise.all(Array.from({ length: opts.parallel ?? 3 }, worker));
    return imported;
  }

  registerPost(post: z.input<typeof registerPostBody>): Promise<RegisterPostAnswer> {
    return this.api("POST", "/api/posts", post, registerPostAnswer);
  }

  getPost(outTradeNo: string): Promise<PostView> {
    return this.api("GET", postPath(outTradeNo), undefined, postView);
  }

  /** Posts a payment notify as WeChat Pay would; returns the status and body, whatever they are. */
  async notify(n: SignedNotify): Promise<{ status: number; body: string }> {
    const res = await fetch(`${this.baseUrl}/wechatpay/notify`, {
      method: "POST",
      headers: n.headers,
      body: n.body,
    });
    return { status: res.status, body: await res.text() };
  }

  /** Has the post's delivery reports counted now (POST /api/posts/{outTradeNo}/tally). */
  tally(outTradeNo: string): Promise<TallyAnswer> {
    return this.api("POST", `${postPath(outTradeNo)}/tally`, undefined, tallyAnswer);
  }

  /** Polls until `expected` delivery reports are counted, or returns the last status at the deadline. */
  waitForReports(outTradeNo: string, expected: number, timeoutMs: number): Promise<PostView> {
    const deadline = Date.now() + timeoutMs;
    return this.pollPost(
      outTradeNo,
      500,
      (status) => status.confirmed + status.rejected >= expected || Date.now() > deadline,
    );
  }

  /** Polls the post until its broadcast has nothing pending; `onProgress` sees every poll. */
  waitForBroadcast(
    outTradeNo: string,
    opts: { timeoutMs?: number; intervalMs?: number; onProgress?: (s: PostView) => void } = {},
  ): Promise<PostView> {
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    return this.pollPost(outTradeNo, opts.intervalMs ?? 200, (status) => {
      opts.onProgress?.(status);
      if (status.status === "done") return true;
      if (Date.now() > deadline) throw new Error(`broadcast not done in time: ${JSON.stringify(status)}`);
      return false;
    });
  }

  /**
   * An admin API call: the answer read through `answer` when given, else as it is. Throws
   * HttpStatusError for an answer other than 2xx.
   */
  async api<T>(method: string, path: string, body?: unknown, answer?: z.ZodType<T>): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new HttpStatusError(res.status, text);
    const json: unknown = JSON.parse(text);
    return answer ? answer.parse(json) : (json as T);
  }

  /** Reads the post every `intervalMs` until `done` says so. */
  private async pollPost(
    outTradeNo: string,
    intervalMs: number,
    done: (status: PostView) => boolean,
  ): Promise<PostView> {
    for (;;) {
      const status = await this.getPost(outTradeNo);
      if (done(status)) return status;
      await sleep(intervalMs);
    }
  }
}

function postPath(outTradeNo: string): string {
  return `/api/posts/${encodeURIComponent(outTradeNo)}`;
}
