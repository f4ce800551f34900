import { type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import {
  DynamoBroadcastStore,
  putStartingBroadcast,
} from "../../functions/adapters/dynamodb/broadcast-store.ts";
import { DynamoDeliveryLookup } from "../../functions/adapters/dynamodb/delivery-lookup.ts";
import { DynamoDeliveryStore } from "../../functions/adapters/dynamodb/delivery-store.ts";
import { DynamoGroupedDeliveryReader } from "../../functions/adapters/dynamodb/grouped-deliveries.ts";
import { memberFilter } from "../../functions/core/member-filter.ts";
import { type DeliveryRecord, startingBroadcast } from "../../functions/core/model.ts";
import { taskBroadcastId } from "../../functions/core/push-task.ts";
import { useEmulators } from "../fixtures/emulator-clients.ts";

/**
 * The subscriber lookup's and the post listing's reads of delivery records, against DynamoDB Local:
 * a paid post's grouped records found through its chunks' openid filters (and without them), a
 * task's by key, and a post's records paged inside their groups.
 */

const aws = useEmulators();
let db: DynamoDBDocumentClient;
let broadcasts: DynamoBroadcastStore;
let deliveries: DynamoDeliveryStore;
let lookup: DynamoDeliveryLookup;

beforeAll(() => {
  db = aws.db;
  broadcasts = new DynamoBroadcastStore(db, aws.table("TABLE_BROADCASTS"));
  deliveries = new DynamoDeliveryStore(db, aws.table("TABLE_DELIVERIES"));
  lookup = new DynamoDeliveryLookup(db, {
    deliveries: aws.table("TABLE_DELIVERIES"),
    broadcasts: aws.table("TABLE_BROADCASTS"),
  });
});

const NOW = Date.now();
const id = (chunk: number, i: number) => `oLk${String(chunk).padStart(3, "0")}${String(i).padStart(22, "0")}`;
const record = (broadcastId: string, openid: string, i: number): DeliveryRecord => ({
  broadcastId,
  openid,
  outcome: i % 10 === 0 ? "failed" : "sent",
  channel: "template",
  errcode: i % 10 === 0 ? 43004 : 0,
  ...(i % 10 === 0 ? { errmsg: "require subscribe" } : {}),
  attempts: 1,
  at: NOW + i,
});
const tally = { sent: 0, failed: 0, unknown: 0, skipped: 0, byChannel: {}, byErrcode: {} };

/** A post broadcast of `chunks` settled chunks of 100, records flushed 25 at a time as the sender does. */
async function postBroadcast(
  broadcastId: string,
  chunks: number,
  opts: { filters: boolean; claims: boolean },
) {
  const table = aws.table("TABLE_BROADCASTS");
  await db.send(new PutCommand(putStartingBroadcast(table, startingBroadcast(broadcastId, NOW, {})).Put));
  for (let c = 0; c < chunks; c += 1) {
    const openids = Array.from({ length: 100 }, (_, i) => id(c, i));
    const chunk = { broadcastId, chunkId: `0-${c}` };
    for (let f = 0; f < 4; f += 1)
      await deliveries.putMany(
        chunk,
        openids.slice(f * 25, f * 25 + 25).map((o, i) => record(broadcastId, o, f * 25 + i)),
      );
    if (!opts.claims) continue;
    expect(await broadcasts.claimChunk(broadcastId, chunk.chunkId, 60_000, NOW)).toBe("first");
    await broadcasts.completeChunk(
      broadcastId,
      chunk.chunkId,
      tally,
      opts.filters ? { members: memberFilter(openids) } : {},
    );
  }
}

describe("finding one user's record in a broadcast", () => {
  it("reads only the chunks whose filter may hold the user, and finds them", async () => {
    const filtered = "post-LOOKUP0001";
    const unfiltered = "post-LOOKUP0002";
    await postBroadcast(filtered, 20, { filters: true, claims: true });
    await postBroadcast(unfiltered, 20, { filters: false, claims: true });
    const target = id(13, 40);
    const viaFilters = await lookup.find(filtered, target);
    expect(viaFilters.record).toMatchObject({
      openid: target,
      outcome: "failed",
      errcode: 43004,
      errmsg: "require subscribe",
    });
    const whole = await lookup.find(unfiltered, target);
    expect(whole.record).toEqual(viaFilters.record && { ...viaFilters.record, broadcastId: unfiltered });
    // The filters spare the reads of the chunks that cannot hold the user.
    expect(viaFilters.readUnits).toBeLessThan(whole.readUnits / 2);
    const absent = await lookup.find(filtered, "oNotThere000000000000000000001");
    expect(absent.record).toBeUndefined();
    expect(absent.readUnits).toBeLessThan(whole.readUnits / 2);
  });

  it("reads every grouped record of a broadcast whose chunk claims are gone", async () => {
    const old = "post-LOOKUP0003";
    await postBroadcast(old, 3, { filters: false, claims: false });
    expect((await lookup.find(old, id(2, 99))).record).toMatchObject({ openid: id(2, 99), outcome: "sent" });
    expect((await lookup.find(old, "oNotThere000000000000000000001")).record).toBeUndefined();
  });

  it("gets a task's record by its key", async () => {
    const task = taskBroadcastId("LOOKTASK1");
    await broadcasts.claimChunk(task, "0-0", 60_000, NOW);
    await deliveries.putMany({ broadcastId: task, chunkId: "0-0" }, [
      record(task, "oTaskUser0000000000001", 1),
    ]);
    const found = await lookup.find(task, "oTaskUser0000000000001");
    expect(found.record).toEqual(record(task, "oTaskUser0000000000001", 1));
    expect(found.readUnits).toBeGreaterThan(0);
    expect((await lookup.find(task, "oOtherUser000000000001")).record).toBeUndefined();
  });
});

describe("listing a post's grouped records", () => {
  it("pages through every record, resuming inside a group, with and without a status filter", async () => {
    const broadcastId = "post-LIST00001";
    await postBroadcast(broadcastId, 3, { filters: true, claims: true });
    const reader = new DynamoGroupedDeliveryReader(db, aws.table("TABLE_DELIVERIES"));
    const read = async (limit: number, outcome?: "failed") => {
      const seen: DeliveryRecord[] = [];
      let after: Parameters<typeof reader.listPage>[1]["after"];
      let pages = 0;
      do {
        const page = await reader.listPage(broadcastId, {
          limit,
          ...(after ? { after } : {}),
          ...(outcome ? { outcome } : {}),
        });
        seen.push(...page.items);
        after = page.next ?? undefined;
        pages += 1;
      } while (after);
      return { seen, pages };
    };
    const all = await read(33);
    expect(all.seen).toHaveLength(300);
    expect(new Set(all.seen.map((r) => r.openid)).size).toBe(300);
    expect(all.pages).toBe(Math.ceil(300 / 33));
    const failed = await read(4, "failed");
    expect(failed.seen.map((r) => r.openid).sort()).toEqual(
      [0, 1, 2].flatMap((c) => Array.from({ length: 10 }, (_, k) => id(c, k * 10))).sort(),
    );
    // A page that ends on a group's last entry says there is more, or none if it was the last.
    const exact = await reader.listPage(broadcastId, { limit: 300 });
    expect(exact.items).toHaveLength(300);
    expect(exact.next).toBeNull();
  });
});
