/**
 * The parking store as the DynamoDB adapter keeps it (park-store.ts), over the in-memory broadcasts:
 * a park settles the chunk, puts the hold on the broadcast and parks the rest in one step, or does
 * nothing; `failNext` makes the next park throw before it writes (a crash or a DynamoDB error).
 */
import type { Broadcast, ChunkMessage, Hold } from "../../functions/core/model.ts";
import type {
  ChunkSettlement,
  ParkedBroadcast,
  ParkedStore,
  ParkingStore,
  ParkOutcome,
} from "../../functions/core/ports.ts";
import type { MemoryBroadcastStore } from "./fakes.ts";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class MemoryParkStore implements ParkingStore, ParkedStore {
  /** Parked chunks by broadcast, then chunk id. */
  readonly parked = new Map<string, Map<string, ChunkMessage>>();
  readonly entries = new Map<string, { parks: number; checkedAt?: number }>();
  failNext = false;

  constructor(private readonly broadcasts: MemoryBroadcastStore) {}

  /** Every parked chunk of a broadcast. */
  chunksOf(broadcastId: string): ChunkMessage[] {
    return [...(this.parked.get(broadcastId)?.values() ?? [])];
  }

  async parkRemainder(settled: ChunkSettlement, remainder: ChunkMessage, hold: Hold, now: number) {
    this.crashIfAsked();
    const claim = this.broadcasts.chunks.get(`${settled.broadcastId}/${settled.chunkId}`);
    if (claim?.state !== "claimed") return "chunk_done" satisfies ParkOutcome;
    const broadcast = this.meta(settled.broadcastId);
    if (!this.holds(broadcast, hold)) return "hold_gone";
    await this.broadcasts.completeChunk(settled.broadcastId, settled.chunkId, settled.tally, settled.extras);
    this.apply(broadcast, hold, now);
    this.put(remainder, now);
    return "parked";
  }

  async parkChunks(broadcastId: string, chunks: readonly ChunkMessage[], hold: Hold, now: number) {
    this.crashIfAsked();
    const broadcast = this.meta(broadcastId);
    if (!this.holds(broadcast, hold)) return "hold_gone" as const;
    this.apply(broadcast, hold, now);
    for (const chunk of chunks) this.put(chunk, now);
    return "parked" as const;
  }

  async parkedBroadcasts(): Promise<ParkedBroadcast[]> {
    return [...this.entries].map(([broadcastId, e]) => ({ broadcastId, ...e }));
  }

  async parkedChunks(broadcastId: string, limit: number) {
    return this.chunksOf(broadcastId).slice(0, limit);
  }

  async unpark(broadcastId: string, chunkIds: readonly string[]) {
    for (const id of chunkIds) this.parked.get(broadcastId)?.delete(id);
  }

  async forget(entry: ParkedBroadcast) {
    if (this.entries.get(entry.broadcastId)?.parks !== entry.parks) return false;
    this.entries.delete(entry.broadcastId);
    return true;
  }

  async markChecked(broadcastId: string, at: number) {
    const entry = this.entries.get(broadcastId);
    if (entry) entry.checkedAt = at;
  }

  async clearPause(broadcastId: string, pausedAt?: number) {
    const b = this.meta(broadcastId);
    if (!b.paused || (pausedAt !== undefined && b.pausedAt !== pausedAt)) return false;
    b.paused = false;
    delete b.pausedAt;
    return true;
  }

  async clearDeferral(broadcastId: string, deferredUntil: number) {
    const b = this.meta(broadcastId);
    if (b.deferredUntil !== deferredUntil) return false;
    delete b.deferredUntil;
    delete b.deferredAt;
    return true;
  }

  async markAnnounced(broadcastId: string, event: "paused" | "deferred", occasion: number) {
    const b = this.meta(broadcastId);
    if (event === "paused") b.pauseAnnounced = occasion;
    else b.deferAnnounced = occasion;
  }

  private crashIfAsked(): void {
    if (!this.failNext) return;
    this.failNext = false;
    throw new Error("the park's write failed");
  }

  private meta(broadcastId: string): Mutable<Broadcast> {
    const b = this.broadcasts.items.get(broadcastId);
    if (!b) throw new Error(`no broadcast ${broadcastId}`);
    return b;
  }

  /** A chunk joining a pause under way parks only while the broadcast is still paused. */
  private holds(b: Broadcast, hold: Hold): boolean {
    return hold.kind === "quiet" || hold.hit || b.paused;
  }

  private apply(b: Mutable<Broadcast>, hold: Hold, now: number): void {
    if (hold.kind === "quiet") {
      b.deferredUntil = hold.until;
      b.deferredAt ??= now;
    } else {
      b.paused = true;
      if (hold.hit) b.pausedAt ??= now;
    }
  }

  private put(chunk: ChunkMessage, now: number): void {
    const parked = this.parked.get(chunk.broadcastId) ?? new Map<string, ChunkMessage>();
    parked.set(chunk.chunkId, structuredClone(chunk));
    this.parked.set(chunk.broadcastId, parked);
    const entry = this.entries.get(chunk.broadcastId);
    this.entries.set(chunk.broadcastId, { ...entry, parks: (entry?.parks ?? 0) + 1 });
    void now;
  }
}
