import type { SignedNotify } from "./wechatpay-signer.ts";

export interface SubscriberInput {
  readonly openid: string;
  readonly membershipExpiresAt?: string | number;
  readonly optedIn?: boolean;
}

export interface PostStatus {
  readonly payment: "PENDING" | "PAID";
  readonly status: string;
  readonly total: number;
  readonly sent: number;
  readonly failed: number;
  readonly skipped: number;
  readonly pending: number;
  readonly byChannel: Record<string, number>;
  readonly byErrcode: Record<string, number>;
  /** Delivery reports received from WeChat: delivered, and refused (user block, system failure). */
  readonly confirmed: number;
  readonly rejected: number;
}

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

/** A small client of the Fanout HTTP API, for the demo, the tests and the benchmark. */
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
    subscribers: readonly SubscriberInput[],
    opts: { batchSize?: number; parallel?: number } = {},
  ): Promise<number> {
    const batchSize = opts.batchSize ?? 2_000;
    const starts = Array.from({ length: Math.ceil(subscribers.length / batchSize) }, (_, i) => i * batchSize);
    let imported = 0;
    const worker = async () => {
      for (let start = starts.shift(); start !== undefined; start = starts.shift()) {
        const res = await this.api<{ imported: number }>("POST", "/api/subscribers", {
          subscribers: subscribers.slice(start, start + batchSize),
        });
        imported += res.imported;
      }
    };
    await Promise.all(Array.from({ length: opts.parallel ?? 3 }, worker));
    return imported;
  }

  registerPost(post: { outTradeNo: string; amount: number; content: string; contactPhone?: string }) {
    return this.api<{ postId: string; outTradeNo: string }>("POST", "/api/posts", post);
  }

  getPost(outTradeNo: string): Promise<PostStatus> {
    return this.api<PostStatus>("GET", `/api/posts/${encodeURIComponent(outTradeNo)}`);
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

  /** Polls the post until its broadcast has nothing pending; `onProgress` sees every poll. */
  /** Has the post's delivery reports counted now (POST /api/posts/{outTradeNo}/tally). */
  tally(outTradeNo: string): Promise<{ broadcastId: string }> {
    return this.api("POST", `/api/posts/${encodeURIComponent(outTradeNo)}/tally`);
  }

  /** Polls until `expected` delivery reports are counted, or returns the last status at the deadline. */
  async waitForReports(outTradeNo: string, expected: number, timeoutMs: number): Promise<PostStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.getPost(outTradeNo);
      if (status.confirmed + status.rejected >= expected || Date.now() > deadline) return status;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  async waitForBroadcast(
    outTradeNo: string,
    opts: { timeoutMs?: number; intervalMs?: number; onProgress?: (s: PostStatus) => void } = {},
  ): Promise<PostStatus> {
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    for (;;) {
      const status = await this.getPost(outTradeNo);
      opts.onProgress?.(status);
      if (status.status === "done") return status;
      if (Date.now() > deadline) throw new Error(`broadcast not done in time: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
    }
  }

  async api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new HttpStatusError(res.status, text);
    return JSON.parse(text) as T;
  }
}
