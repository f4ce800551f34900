import type {
  AccessTokenProvider,
  Clock,
  FetchedToken,
  StoredToken,
  TokenFetcher,
  TokenReader,
  TokenRefreshRequester,
  TokenStore,
} from "./ports.ts";

/**
 * The refresher fetches inside stable_token's last 5 minutes, when WeChat hands out the successor
 * (a call earlier returns the same token again); 10 s short of them for clock differences.
 */
export const REFRESH_AHEAD_MS = 290_000;
/** A token this close to expiry is not used for a new call. */
export const MIN_REMAINING_MS = 60_000;
/** An externally pushed token this close to expiry, with no newer push, is stale (alarm `TokenStale`). */
export const STALE_AHEAD_MS = 600_000;
/** Longer than one stable_token call, so a refresh never overlaps another. */
const REFRESH_LOCK_MS = 15_000;

/** Raised when no usable access token appeared in time: the recipients stay pending. */
export class TokenUnavailableError extends Error {
  override readonly name = "TokenUnavailableError";
}

export interface SharedTokenOptions {
  readonly store: TokenReader;
  readonly refresh: TokenRefreshRequester;
  readonly clock: Clock;
  /** How long a token read from the store is used before it is read again. */
  readonly memoMs?: number;
  /** How long `get` waits without a `waitUntil`. */
  readonly defaultWaitMs?: number;
  /** At most one refresh request per this interval from one container while it waits. */
  readonly requestIntervalMs?: number;
}

/**
 * The sender's side of the shared access token: read from the token table and memoised briefly,
 * never fetched from WeChat. A token WeChat refuses is dropped at once, so the container starts no
 * further call with it (only the calls already in flight can still be refused), and it waits for a
 * newer token; the first container to report the refusal asks for a refresh.
 */
export class SharedToken implements AccessTokenProvider {
  private memo: { readonly token: StoredToken; readonly readAt: number } | undefined;
  private loading: Promise<StoredToken> | undefined;
  /** Tokens WeChat refused to this container, whatever the table says. */
  private readonly refused = new Set<string>();
  private lastRequestAt = Number.NEGATIVE_INFINITY;
  private readonly memoMs: number;
  private readonly defaultWaitMs: number;
  private readonly requestIntervalMs: number;
  /** Tokens this container reported refused: a figure for metrics. */
  rejections = 0;

  constructor(private readonly opts: SharedTokenOptions) {
    this.memoMs = opts.memoMs ?? 15_000;
    this.defaultWaitMs = opts.defaultWaitMs ?? 10_000;
    this.requestIntervalMs = opts.requestIntervalMs ?? 10_000;
  }

  async get(waitUntil?: number): Promise<string> {
    const now = this.opts.clock.now();
    const memo = this.memo;
    if (memo && now - memo.readAt < this.memoMs && this.usable(memo.token, now))
      return memo.token.accessToken;
    this.loading ??= this.load(waitUntil ?? now + this.defaultWaitMs).finally(() => {
      this.loading = undefined;
    });
    return (await this.loading).accessToken;
  }

  async reject(accessToken: string): Promise<void> {
    this.refused.add(accessToken);
    if (this.memo?.token.accessToken === accessToken) this.memo = undefined;
    const { store, refresh, clock } = this.opts;
    if (!(await store.markRejected(accessToken, clock.now()))) return;
    this.rejections += 1;
    this.lastRequestAt = clock.now();
    await refresh.request();
  }

  private usable(token: StoredToken, now: number): boolean {
    return (
      !token.rejected && !this.refused.has(token.accessToken) && token.expiresAt - MIN_REMAINING_MS > now
    );
  }

  private async load(waitUntil: number): Promise<StoredToken> {
    const { store, refresh, clock } = this.opts;
    let pause = 100;
    for (;;) {
      const stored = await store.read();
      const now = clock.now();
      if (stored && this.usable(stored, now)) {
        this.memo = { token: stored, readAt: now };
        return stored;
      }
      if (now - this.lastRequestAt >= this.requestIntervalMs) {
        this.lastRequestAt = now;
        await refresh.request();
      }
      if (now + pause > waitUntil)
        throw new TokenUnavailableError(`no usable access token: ${describeToken(stored, now)}`);
      await clock.sleep(pause);
      pause = Math.min(pause * 2, 1000);
    }
  }
}

/** Why a stored token cannot be used, in words for logs. */
export function describeToken(token: StoredToken | undefined, now: number): string {
  if (!token) return "none stored yet";
  if (token.rejected) return "the stored one was refused by WeChat";
  const seconds = Math.round((token.expiresAt - now) / 1000);
  return seconds > 0 ? `the stored one expires in ${seconds} s` : `the stored one expired ${-seconds} s ago`;
}

export type RefreshResult =
  | { readonly kind: "fresh" }
  | { readonly kind: "locked" }
  | { readonly kind: "refreshed"; readonly expiresInSeconds: number };

/** Raised when WeChat hands the refresher back the very token a sender reported refused. */
export class TokenStillRefusedError extends Error {
  override readonly name = "TokenStillRefusedError";
}

/**
 * The refresher's use case: fetch a new token when the stored one is missing, refused or inside its
 * last minutes, one refresher at a time (the table's lock), in stable_token normal mode.
 */
export async function refreshToken(deps: {
  readonly store: TokenStore;
  readonly fetcher: TokenFetcher;
  readonly clock: Clock;
  /** Identifies this invocation as the lock holder. */
  readonly owner: string;
}): Promise<RefreshResult> {
  const { store, fetcher, clock, owner } = deps;
  const now = clock.now();
  const stored = await store.read();
  if (stored && !needsRefresh(stored, now)) return { kind: "fresh" };
  if (!(await store.tryLock(owner, now + REFRESH_LOCK_MS, now, now + REFRESH_AHEAD_MS)))
    return { kind: "locked" };
  let fetched: FetchedToken;
  try {
    fetched = await fetcher.fetch();
    if (stored?.rejected && fetched.accessToken === stored.accessToken)
      throw new TokenStillRefusedError(
        "WeChat returned the token a sender reported refused; kept refused, tried again on the next schedule",
      );
  } catch (error) {
    await store.unlock(owner);
    throw error;
  }
  const at = clock.now();
  await store.write(
    { accessToken: fetched.accessToken, expiresAt: at + fetched.expiresInSeconds * 1000 },
    at,
  );
  return { kind: "refreshed", expiresInSeconds: fetched.expiresInSeconds };
}

function needsRefresh(token: StoredToken, now: number): boolean {
  return token.rejected || token.expiresAt - now <= REFRESH_AHEAD_MS;
}

/**
 * For a stage whose token the account's central server pushes: stale when there is none, it was
 * refused, or it is within STALE_AHEAD_MS of expiry (no newer push came).
 */
export function isStale(token: StoredToken | undefined, now: number): boolean {
  return !token || token.rejected || token.expiresAt - now <= STALE_AHEAD_MS;
}
