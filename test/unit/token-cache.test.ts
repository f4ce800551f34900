import { describe, expect, it } from "vitest";
import type { TokenFetcher } from "../../functions/core/ports.ts";
import { TokenCache, TokenUnavailableError } from "../../functions/core/token-cache.ts";
import { FakeClock, MemoryTokenStore } from "./fakes.ts";

class SlowFetcher implements TokenFetcher {
  calls = 0;
  constructor(private readonly expiresInSeconds = 7200) {}
  async fetch() {
    this.calls += 1;
    await new Promise((r) => setTimeout(r, 5));
    return { accessToken: `TOKEN-${this.calls}`, expiresInSeconds: this.expiresInSeconds };
  }
}

function cache(store: MemoryTokenStore, fetcher: TokenFetcher, clock = new FakeClock(), owner = "c1") {
  return new TokenCache({ store, fetcher, clock, owner });
}

describe("TokenCache", () => {
  it("fetches once for many concurrent callers in one container", async () => {
    const fetcher = new SlowFetcher();
    const tokens = cache(new MemoryTokenStore(), fetcher);
    const got = await Promise.all(Array.from({ length: 50 }, () => tokens.get()));
    expect(new Set(got)).toEqual(new Set(["TOKEN-1"]));
    expect(fetcher.calls).toBe(1);
  });

  it("shares one fetch between containers through the store", async () => {
    const store = new MemoryTokenStore();
    const fetcher = new SlowFetcher();
    const clock = new FakeClock();
    const a = cache(store, fetcher, clock, "a");
    const b = cache(store, fetcher, clock, "b");
    expect(await a.get()).toBe("TOKEN-1");
    expect(await b.get()).toBe("TOKEN-1");
    expect(fetcher.calls).toBe(1);
  });

  it("waits for another container's refresh instead of fetching too", async () => {
    const clock = new FakeClock();
    // Another container holds the lock; its token lands in the store by the third look.
    class RefreshedElsewhere extends MemoryTokenStore {
      reads = 0;
      override async read() {
        this.reads += 1;
        return this.reads >= 3
          ? { accessToken: "FROM-OTHER", expiresAt: clock.now() + 7_200_000 }
          : undefined;
      }
    }
    const store = new RefreshedElsewhere();
    await store.tryLock("other", clock.now() + 10_000, clock.now(), clock.now());
    const fetcher = new SlowFetcher();
    expect(await cache(store, fetcher, clock).get()).toBe("FROM-OTHER");
    expect(fetcher.calls).toBe(0);
  });

  it("does not fetch again when another container stored a token between its look and its lock", async () => {
    const clock = new FakeClock();
    // The other container's refresh lands right after this one found the store empty.
    class RefreshedMeanwhile extends MemoryTokenStore {
      override async read() {
        const seen = this.token;
        this.token ??= { accessToken: "FROM-OTHER", expiresAt: clock.now() + 7_200_000 };
        return seen;
      }
    }
    const fetcher = new SlowFetcher();
    expect(await cache(new RefreshedMeanwhile(), fetcher, clock).get()).toBe("FROM-OTHER");
    expect(fetcher.calls).toBe(0);
  });

  it("gives up when another container's refresh never finishes", async () => {
    const store = new MemoryTokenStore();
    const clock = new FakeClock();
    await store.tryLock("stuck", clock.now() + 3_600_000, clock.now(), clock.now());
    await expect(cache(store, new SlowFetcher(), clock).get()).rejects.toBeInstanceOf(TokenUnavailableError);
  });

  it("refreshes a token near expiry and after invalidation", async () => {
    const store = new MemoryTokenStore();
    const clock = new FakeClock();
    const fetcher = new SlowFetcher(600);
    const tokens = cache(store, fetcher, clock);
    expect(await tokens.get()).toBe("TOKEN-1");
    clock.t += 500_000;
    expect(await tokens.get()).toBe("TOKEN-2");
    await tokens.invalidate("TOKEN-2");
    expect(await tokens.get()).toBe("TOKEN-3");
    await tokens.invalidate("TOKEN-1");
    expect(await tokens.get()).toBe("TOKEN-3");
    expect(fetcher.calls).toBe(3);
  });
});
