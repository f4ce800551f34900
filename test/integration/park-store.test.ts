/**
 * The parking store against DynamoDB Local: a park settles the chunk, puts the hold on the broadcast
 * and parks the rest in one transaction or not at all, and the resumer's reads, removals and
 * conditional clears behave as core/resume-parked.ts relies on.
 */
import { type DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DynamoBroadcastStore,
  putStartingBroadcast,
} from "../../functions/adapters/dynamodb/broadcast-store.ts";
import { createDocumentClient } from "../../functions/adapters/dynamodb/client.ts";
import { DynamoParkStore } from "../../functions/adapters/dynamodb/park-store.ts";
import { broadcastProgress, type ChunkMessage, startingBroadcast } from "../../functions/core/model.ts";
import type { ChunkSettlement } from "../../functions/core/ports.ts";
import { type Emulators, startEmulators } from "../../infra/local/emulators.ts";

let emulators: Emulators;
let db: DynamoDBDocumentClient;
let broadcasts: DynamoBroadcastStore;
let park: DynamoParkStore;
// Now, not a fixed past instant: the chunk claims expire 31 days after it (TTL), and an expired
// claim may be deleted by DynamoDB Local in the middle of the test.
const T0 = Date.now();
const message = { customText: "hi", template: { templateId: "TPL", data: { thing1: { value: "hi" } } } };

beforeAll(async () => {
  emulators = await startEmulators();
  Object.assign(process.env, emulators.awsEnv);
  db = createDocumentClient();
  const table = emulators.awsEnv.TABLE_BROADCASTS as string;
  broadcasts = new DynamoBroadcastStore(db, table);
  park = new DynamoParkStore(db, table);
});
afterAll(async () => {
  db?.destroy();
  await emulators?.stop();
});

async function startBroadcast(broadcastId: string, total: number) {
  const table = emulators.awsEnv.TABLE_BROADCASTS as string;
  const b = {
    ...startingBroadcast(broadcastId, T0, { outTradeNo: broadcastId, message }),
    total,
    fanoutDone: true,
  };
  await db.send(new TransactWriteCommand({ TransactItems: [putStartingBroadcast(table, b)] }));
}
const settlement = (broadcastId: string, chunkId: string, sent: number): ChunkSettlement => ({
  broadcastId,
  chunkId,
  tally: { sent, failed: 0, unknown: 0, skipped: 0, byChannel: { template: sent }, byErrcode: {} },
  extras: {},
});

describe("DynamoParkStore", () => {
  it("parks a chunk's rest atomically with its settled part and the pause, once", async () => {
    const id = "post-PK1";
    await startBroadcast(id, 5);
    expect(await broadcasts.claimChunk(id, "0-0", 60_000, T0)).toBe("first");
    const rest: ChunkMessage = { broadcastId: id, chunkId: "0-0~1", openids: ["o3", "o4", "o5"] };
    const hold = { kind: "quota", hit: true } as const;
    expect(await park.parkRemainder(settlement(id, "0-0", 2), rest, hold, T0 + 1)).toBe("parked");
    const paused = await broadcasts.get(id);
    expect(paused).toMatchObject({ paused: true, pausedAt: T0 + 1, sent: 2 });
    expect(broadcastProgress(paused ?? ({} as never))).toMatchObject({
      status: "paused",
      sent: 2,
      pending: 3,
    });
    // The same chunk parked again (a redelivery after a crash) adds nothing and parks nothing twice.
    expect(await park.parkRemainder(settlement(id, "0-0", 2), rest, hold, T0 + 2)).toBe("chunk_done");
    expect((await broadcasts.get(id))?.sent).toBe(2);
    expect(await park.parkedChunks(id, 10)).toEqual([rest]);
    expect(await broadcasts.claimChunk(id, "0-0", 60_000, T0 + 3)).toBe("done");
  });

  it("joins a pause only while it lasts, and the resumer forgets a broadcast only if nothing was parked since", async () => {
    const id = "post-PK2";
    await startBroadcast(id, 4);
    const join = { kind: "quota", hit: false } as const;
    const chunks = [
      { broadcastId: id, chunkId: "0-0", openids: ["o1", "o2"] },
      { broadcastId: id, chunkId: "0-1", openids: ["o3", "o4"] },
    ];
    // Not paused: a chunk that meant to join the pause goes on instead.
    expect(await park.parkChunks(id, chunks, join, T0)).toBe("hold_gone");
    expect(await park.parkedChunks(id, 10)).toEqual([]);

    expect(await park.parkChunks(id, chunks.slice(0, 1), { kind: "quota", hit: true }, T0)).toBe("parked");
    const [entry] = (await park.parkedBroadcasts()).filter((e) => e.broadcastId === id);
    expect(entry).toMatchObject({ broadcastId: id, parks: 1 });
    expect(await park.parkChunks(id, chunks.slice(1), join, T0 + 1)).toBe("parked");
    // A park since the entry was read: it is not forgotten.
    expect(await park.forget(entry ?? { broadcastId: id, parks: 1 })).toBe(false);
    expect((await park.parkedChunks(id, 10)).map((c) => c.chunkId)).toEqual(["0-0", "0-1"]);

    await park.markChecked(id, T0 + 5);
    const [checked] = (await park.parkedBroadcasts()).filter((e) => e.broadcastId === id);
    expect(checked).toMatchObject({ parks: 2, checkedAt: T0 + 5 });
    // Only the pause that began at pausedAt is cleared, once.
    expect(await park.clearPause(id, T0 + 99)).toBe(false);
    expect(await park.clearPause(id, T0)).toBe(true);
    expect(await park.clearPause(id)).toBe(false);
    expect((await broadcasts.get(id))?.pausedAt).toBeUndefined();

    await park.unpark(id, ["0-0", "0-1"]);
    expect(await park.parkedChunks(id, 10)).toEqual([]);
    expect(await park.forget(checked ?? { broadcastId: id, parks: 2 })).toBe(true);
    expect((await park.parkedBroadcasts()).some((e) => e.broadcastId === id)).toBe(false);
  });

  it("defers in quiet hours with resumesAt, announces each occasion once, and clears only that deferral", async () => {
    const id = "post-PK3";
    await startBroadcast(id, 1);
    const until = T0 + 3_600_000;
    const chunk = { broadcastId: id, chunkId: "0-0", openids: ["o1"] };
    expect(await park.parkChunks(id, [chunk], { kind: "quiet", until }, T0)).toBe("parked");
    const deferred = await broadcasts.get(id);
    expect(deferred).toMatchObject({ deferredUntil: until, deferredAt: T0 });
    expect(broadcastProgress(deferred ?? ({} as never))).toMatchObject({
      status: "deferred",
      resumesAt: new Date(until).toISOString(),
    });
    await park.markAnnounced(id, "deferred", until);
    expect((await broadcasts.get(id))?.deferAnnounced).toBe(until);
    expect(await park.clearDeferral(id, until + 1)).toBe(false);
    expect(await park.clearDeferral(id, until)).toBe(true);
    expect(broadcastProgress((await broadcasts.get(id)) ?? ({} as never)).status).toBe("sending");
  });
});
