import { describe, expect, it } from "vitest";
import {
  isStale,
  MIN_REMAINING_MS,
  REFRESH_AHEAD_MS,
  refreshToken,
  SharedToken,
  STALE_AHEAD_MS,
  TokenStillRefusedError,
  TokenUnavailableError,
} from "../../functions/core/access-token.ts";
import type { FetchedToken, TokenFetcher } from "../../functions/core/ports.ts";
import { FakeClock, MemoryTokenStore } from "./fakes.ts";

const HOUR = 3_600_000;

class CountingRequests {
  count = 0;
  async request() {
    this.count += 1;
  }
}

function sharedToken(store: MemoryTokenStore, clock: FakeClock, refresh = new CountingRequests()) {
  return { tokens: new SharedToken({ store, refresh, clock }), refresh };
}

describe("SharedToken (the sender's side)", () => {
  it("reads the stored token once for many concurrent callers and memoises it briefly", async () => {
    const clock = new FakeClock();
    const store = new MemoryTokenStore();
    store.token = { accessToken: "T1", expiresAt: clock.now() + 2 * HOUR, rejected: false };
    const { tokens, refresh } = sharedToken(store, clock);
    expect(await Promise.all(Array.from({ length: 20 }, () => tokens.get()))).toEqual(Array(20).fill("T1"));
    expect(store.reads).toBe(1);
    clock.t += 20_000;
    await tokens.get();
    expect(store.reads).toBe(2);
    expect(refresh.count).toBe(0);
  });

  it("stops using a refused token at once, reports it once, and waits for the newer one", async () => {
    const clock = new FakeClock();
    const store = new MemoryTokenStore();
    store.token = { accessToken: "T1", expiresAt: clock.now() + 2 * HOUR, rejected: false };
    const { tokens, refresh } = sharedToken(store, clock);
    expect(await tokens.get()).toBe("T1");
    // Every call in flight comes back refused; only the first report marks the table and asks.
    await Promise.all([tokens.reject("T1"), tokens.reject("T1"), tokens.reject("T1")]);
    expect(store.token?.rejected).toBe(true);
    expect(refresh.count).toBe(1);
    expect(tokens.rejections).toBe(1);
    const waiting = tokens.get(clock.now() + 5_000);
    await clock.sleep(300);
    store.token = { accessToken: "T2", expiresAt: clock.now() + 2 * HOUR, rejected: false };
    expect(await waiting).toBe("T2");
  });

  it("never hands out a token it was refused, even while the table still holds it unmarked", async () => {
    const clock = new FakeClock();
    const store = new MemoryTokenStore();
    store.token = { accessToken: "T1", expiresAt: clock.now() + 2 * HOUR, rejected: false };
    const { tokens } = sharedToken(store, clock);
    await tokens.reject("T1");
    store.token = { accessToken: "T1", expiresAt: clock.now() + 2 * HOUR, rejected: false };
    await expect(tokens.get(clock.now() + 1_000)).rejects.toThrow(TokenUnavailableError);
  });

  it("asks for a refresh when there is none or it is about to expire, and gives up at the deadline", async () => {
    const clock = new FakeClock();
    const store = new MemoryTokenStore();
    const { tokens, refresh } = sharedToken(store, clock);
    await expect(tokens.get(clock.now() + 3_000)).rejects.toThrow(/none stored yet/);
    expect(refresh.count).toBe(1);
    store.token = { accessToken: "T1", expiresAt: clock.now() + MIN_REMAINING_MS - 1, rejected: false };
    clock.t += 20_000;
    await expect(tokens.get(clock.now() + 1_000)).rejects.toThrow(/expired|expires in/);
    expect(refresh.count).toBe(2);
  });
});

class ScriptedFetcher implements TokenFetcher {
  calls = 0;
  constructor(private readonly answer: () => FetchedToken) {}
  async fetch() {
    this.calls += 1;
    return this.answer();
  }
}

describe("refreshToken (the refresher)", () => {
  const deps = (store: MemoryTokenStore, fetcher: TokenFetcher, clock: FakeClock, owner = "r1") => ({
    store,
    fetcher,
    clock,
    owner,
  });

  it("fetches only when the token is missing, refused or inside its last minutes", async () => {
    const clock = new FakeClock();
    const store = new MemoryTokenStore();
    let n = 0;
    const fetcher = new ScriptedFetcher(() => ({ accessToken: `T${++n}`, expiresInSeconds: 7200 }));
    expect(await refreshToken(deps(store, fetcher, clock))).toEqual({
      kind: "refreshed",
      expiresInSeconds: 7200,
    });
    expect(store.token).toMatchObject({ accessToken: "T1", rejected: false });
    expect(await refreshToken(deps(store, fetcher, clock))).toEqual({ kind: "fresh" });
    clock.t += 2 * HOUR - REFRESH_AHEAD_MS + 1;
    expect((await refreshToken(deps(store, fetcher, clock))).kind).toBe("refreshed");
    await store.markRejected("T2");
    expect((await refreshToken(deps(store, fetcher, clock))).kind).toBe("refreshed");
    expect(fetcher.calls).toBe(3);
  });

  it("lets one refresher fetch at a time", async () => {
    const clock = new FakeClock();
    const store = new MemoryTokenStore();
    const fetcher = new ScriptedFetcher(() => ({ accessToken: "T1", expiresInSeconds: 7200 }));
    await store.tryLock("other", clock.now() + 10_000, clock.now(), clock.now());
    expect(await refreshToken(deps(store, fetcher, clock))).toEqual({ kind: "locked" });
    expect(fetcher.calls).toBe(0);
  });

  it("releases the lock when WeChat refuses, and keeps a refused token refused if WeChat hands it back", async () => {
    const clock = new FakeClock();
    const store = new MemoryTokenStore();
    const refusing = new ScriptedFetcher(() => {
      throw new Error("errcode 40164");
    });
    await expect(refreshToken(deps(store, refusing, clock))).rejects.toThrow(/40164/);
    expect(store.lock).toBeUndefined();
    store.token = { accessToken: "T1", expiresAt: clock.now() + HOUR, rejected: true };
    const same = new ScriptedFetcher(() => ({ accessToken: "T1", expiresInSeconds: 3600 }));
    await expect(refreshToken(deps(store, same, clock))).rejects.toThrow(TokenStillRefusedError);
    expect(store.token).toMatchObject({ accessToken: "T1", rejected: true });
    expect(store.lock).toBeUndefined();
  });
});

describe("isStale (external mode's watch)", () => {
  it("is stale without a token, with a refused one, or within ten minutes of expiry", () => {
    const now = 1_700_000_000_000;
    expect(isStale(undefined, now)).toBe(true);
    expect(isStale({ accessToken: "T", expiresAt: now + HOUR, rejected: true }, now)).toBe(true);
    expect(isStale({ accessToken: "T", expiresAt: now + STALE_AHEAD_MS, rejected: false }, now)).toBe(true);
    expect(isStale({ accessToken: "T", expiresAt: now + STALE_AHEAD_MS + 1, rejected: false }, now)).toBe(
      false,
    );
  });
});
