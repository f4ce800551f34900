/**
 * What a sender's chunk runs with in memory: for the daily-cap and suppression tests an audience of
 * followed subscribers, empty broadcast and delivery stores, a fixed clock and fixed token; for the
 * others the same without windows, suppression or cap.
 */
import type { SendChunkDeps } from "../../functions/core/send-chunk.ts";
import { fixedTokens, MemorySubscribers, type ScriptedMessenger } from "./cap-fakes.ts";
import { FakeClock, MemoryBroadcastStore, MemoryDeliveryStore } from "./fakes.ts";
import { MemoryParkStore } from "./parking-fakes.ts";

export interface ChunkWorld {
  clock: FakeClock;
  subscribers: MemorySubscribers;
  broadcasts: MemoryBroadcastStore;
  deliveries: MemoryDeliveryStore;
}

/** A fresh world in which every openid of `audience` is a followed subscriber. */
export function chunkWorld(audience: readonly string[]): ChunkWorld {
  const subscribers = new MemorySubscribers();
  for (const openid of audience) subscribers.add(openid);
  return {
    clock: new FakeClock(),
    subscribers,
    broadcasts: new MemoryBroadcastStore(),
    deliveries: new MemoryDeliveryStore(),
  };
}

/** The sender's dependencies over `world`, suppressing by its subscribers and parking in memory. */
export function chunkDeps(world: ChunkWorld, wechat: ScriptedMessenger): SendChunkDeps {
  const { broadcasts, deliveries, subscribers, clock } = world;
  return {
    broadcasts,
    deliveries,
    subscribers,
    wechat,
    tokens: fixedTokens,
    clock,
    loadBroadcast: (id) => broadcasts.get(id),
    suppression: subscribers,
    parking: new MemoryParkStore(broadcasts),
  };
}

/** The sender's dependencies with no window, suppression or daily cap in play; unfollows are dropped. */
export function plainChunkDeps(
  stores: Pick<ChunkWorld, "broadcasts" | "deliveries" | "clock">,
  wechat: SendChunkDeps["wechat"],
): SendChunkDeps {
  const { broadcasts, deliveries, clock } = stores;
  return {
    broadcasts,
    deliveries,
    subscribers: {
      markUnfollowed: async () => {},
      consumeWindow: async () => "none",
      releaseWindow: async () => {},
    },
    wechat,
    tokens: { get: async () => "T", reject: async () => {} },
    clock,
    loadBroadcast: (id) => broadcasts.get(id),
    parking: new MemoryParkStore(broadcasts),
  };
}
