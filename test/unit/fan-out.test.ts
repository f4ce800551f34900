import { beforeEach, describe, expect, it } from "vitest";
import { chunkRecipients, fanOutPage, PageNotReadyError } from "../../functions/core/fan-out.ts";
import { ArrayAudience, FakeClock, MemoryBroadcastStore, newBroadcast, RecordingQueues } from "./fakes.ts";
import { MemoryParkStore } from "./parking-fakes.ts";

const B = "post-T1";
const audience = Array.from({ length: 25 }, (_, i) => `o${String(i).padStart(2, "0")}`);
let broadcasts: MemoryBroadcastStore;
let queues: RecordingQueues;
const deps = () => ({
  broadcasts,
  audience: new ArrayAudience(audience),
  sendQueue: queues,
  fanoutQueue: queues,
  clock: new FakeClock(),
  parking: new MemoryParkStore(broadcasts),
});
const opts = { pageSize: 10, chunkSize: 4 };

beforeEach(() => {
  broadcasts = new MemoryBroadcastStore();
  broadcasts.items.set(B, newBroadcast(B));
  queues = new RecordingQueues();
});

describe("fanOutPage", () => {
  it("walks the whole audience one page per message, every recipient in exactly one chunk", async () => {
    await fanOutPage({ broadcastId: B, page: 0, cursor: null }, deps(), opts);
    for (let i = 0; i < queues.pages.length; i += 1) {
      const next = queues.pages[i];
      if (next) await fanOutPage(next, deps(), opts);
    }
    expect(queues.pages.map((p) => p.page)).toEqual([1, 2]);
    expect(queues.chunks.flatMap((c) => c.openids)).toEqual(audience);
    expect(queues.chunks.every((c) => c.openids.length <= 4)).toBe(true);
    expect(await broadcasts.get(B)).toMatchObject({ total: 25, fanoutDone: true, fanoutPage: 3 });
  });

  it("does nothing for a page already done", async () => {
    await fanOutPage({ broadcastId: B, page: 0, cursor: null }, deps(), opts);
    const chunks = queues.chunks.length;
    expect(await fanOutPage({ broadcastId: B, page: 0, cursor: null }, deps(), opts)).toEqual({
      kind: "duplicate",
    });
    expect(queues.chunks).toHaveLength(chunks);
    expect((await broadcasts.get(B))?.total).toBe(10);
  });
});

describe("fanOutPage ordering", () => {
  it("waits for the previous page's record when the next page arrives first", async () => {
    let gets = 0;
    const racing = Object.assign(Object.create(broadcasts), {
      get: async (id: string) => {
        gets += 1;
        // Page 0 is recorded by its own invocation while page 1 is already waiting.
        if (gets === 3) await broadcasts.recordPage(id, 0, 10, false);
        return broadcasts.get(id);
      },
    });
    const result = await fanOutPage(
      { broadcastId: B, page: 1, cursor: "o09" },
      { ...deps(), broadcasts: racing },
      opts,
    );
    expect(result).toMatchObject({ kind: "page", recipients: 10 });
    expect(await broadcasts.get(B)).toMatchObject({ fanoutPage: 2, total: 20 });
  });

  it("gives up, for the queue to retry, when the previous page never gets recorded", async () => {
    await expect(fanOutPage({ broadcastId: B, page: 1, cursor: "o09" }, deps(), opts)).rejects.toBeInstanceOf(
      PageNotReadyError,
    );
    expect(queues.chunks).toHaveLength(0);
  });
});

describe("chunkRecipients", () => {
  it("carries into each chunk the recipients that had an open window", () => {
    const chunks = chunkRecipients(B, 0, audience.slice(0, 8), 4, ["o01", "o06"]);
    expect(chunks.map((c) => c.windowed)).toEqual([["o01"], ["o06"]]);
    expect(chunkRecipients(B, 0, audience.slice(0, 4), 4, ["o06"])[0]?.windowed).toBeUndefined();
  });

  it("derives chunk ids from the page, so a repeated page repeats them", () => {
    const a = chunkRecipients(B, 3, audience.slice(0, 9), 4);
    expect(a.map((c) => c.chunkId)).toEqual(["3-0", "3-1", "3-2"]);
    expect(chunkRecipients(B, 3, audience.slice(0, 9), 4)).toEqual(a);
    expect(chunkRecipients(B, 0, [], 4)).toEqual([]);
  });
});
