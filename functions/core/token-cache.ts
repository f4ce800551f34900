import type { AccessTokenProvider, CachedToken, Clock, TokenFetcher, TokenStore } from "./ports.ts";

export interface TokenCacheOptions {
  readonly store: TokenStore;
  readonly fetcher: TokenFetcher;
  readonly clock: Clock;
  /** Identifies this container as the lock holder. */
  readonly owner: string;
  /** A token this close to expiry is treated as expired (stable_token pre-rotates 5 min ahead). */
  readonly refreshMarginMs?: number;
  /** How long a refresh may hold the lock; longer than any token fetch. */
  readonly lockMs?: number;
  /** How long to wait for another container's refresh before giving up. */
  readonly waitMs?: number;
}

/** Raised when no access token could be had: every send of the invocation is retried later. */
export class TokenUnavailableError extends Error {
  override readonly name = "TokenUnavailableError";
}

/**
 * The access token shared by every sender: memoised per container, cached in a shared store, and
 * refreshed by one container at a time (the others wait for its result) so a thundering herd of cold
 * senders makes one stable_token call.
 */
export class TokenCache implements AccessTokenProvider {
  private memo: CachedToken | undefined;
  private loading: Promise<CachedToken> | undefined;
  private readonly refreshMarginMs: number;
  private readonly lockMs: number;
  private readonly waitMs: number;
  /** stable_token calls made by this container: a figure the benchmark and the demo report. */
  fetches = 0;

  constructor(private readonly opts: TokenCacheOptions) {
    this.refreshMarginMs = opts.refreshMarginMs ?? 120_000;
    this.lockMs = opts.lockMs ?? 10_000;
    this.waitMs = opts.waitMs ?? 15_000;
  }

  async get(): Promise<string> {
    if (this.memo && this.usable(this.memo)) return this.memo.accessToken;
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    this.memo = await this.loading;
    return this.memo.accessToken;
  }

  async invalidate(accessToken: string): Promise<void> {
    if (this.memo?.accessToken === accessToken) this.memo = undefined;
    await this.opts.store.discard(accessToken);
  }

  private usable(token: CachedToken): boolean {
    return token.expiresAt - this.refreshMarginMs > this.opts.clock.now();
  }

  private async load(): Promise<CachedToken> {
    const { store, fetcher, clock, owner } = this.opts;
    const deadline = clock.now() + this.waitMs;
    let pause = 50;
    while (clock.now() < deadline) {
      const cached = await store.read();
      if (cached && this.usable(cached)) return cached;
      const now = clock.now();
      if (await store.tryLock(owner, now + this.lockMs, now, now + this.refreshMarginMs)) {
        this.fetches += 1;
        const fetched = await fetcher.fetch();
        const token = {
          accessToken: fetched.accessToken,
          expiresAt: clock.now() + fetched.expiresInSeconds * 1000,
        };
        await store.write(token);
        return token;
      }
      await clock.sleep(pause);
      pause = Math.min(pause * 2, 1000);
    }
    throw new TokenUnavailableError("timed out waiting for another container's token refresh");
  }
}
