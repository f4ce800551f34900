import type { ChunkTally, DeliveryRecord } from "./model.ts";
import type { ChunkRef, DeliveryStore } from "./ports.ts";

/** Buffers delivery records and writes them in groups, so progress survives a crash mid-chunk. */
export class RecordWriter {
  private buffer: DeliveryRecord[] = [];
  private writes: Promise<void>[] = [];

  constructor(
    private readonly store: DeliveryStore,
    private readonly chunk: ChunkRef,
    private readonly groupSize: number,
  ) {}

  add(record: DeliveryRecord): void {
    this.buffer.push(record);
    if (this.buffer.length >= this.groupSize) this.startWrite();
  }

  async flush(): Promise<void> {
    if (this.buffer.length > 0) this.startWrite();
    await Promise.all(this.writes);
  }

  private startWrite(): void {
    const group = this.buffer;
    this.buffer = [];
    const write = this.store.putMany(this.chunk, group);
    // Observed by flush(); without this a failed write would be an unhandled rejection until then.
    write.catch(() => {});
    this.writes.push(write);
  }
}

/** Adds up the settled records of a chunk into counter increments. */
export function tallyOf(records: Iterable<DeliveryRecord>): ChunkTally {
  const counts = { sent: 0, failed: 0, unknown: 0, skipped: 0 };
  const byChannel: Record<string, number> = {};
  const byErrcode: Record<string, number> = {};
  for (const r of records) {
    counts[r.outcome] += 1;
    if (r.outcome === "sent") {
      if (r.channel) byChannel[r.channel] = (byChannel[r.channel] ?? 0) + 1;
    } else {
      const key = String(r.errcode ?? "none");
      byErrcode[key] = (byErrcode[key] ?? 0) + 1;
    }
  }
  return { ...counts, byChannel, byErrcode };
}
