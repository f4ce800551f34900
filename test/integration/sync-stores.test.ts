/** The follower sync's DynamoDB adapters against DynamoDB Local: the Syncs table and the importer. */
import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { DynamoFollowerImporter } from "../../functions/adapters/dynamodb/follower-import.ts";
import { DynamoSubscriberStore } from "../../functions/adapters/dynamodb/subscriber-store.ts";
import { DynamoSyncStore } from "../../functions/adapters/dynamodb/sync-store.ts";
import { startingSync } from "../../functions/core/follower-sync.ts";
import { useEmulators } from "../fixtures/emulator-clients.ts";

const aws = useEmulators();
let db: DynamoDBDocumentClient;
let subscribersTable: string;
let syncs: DynamoSyncStore;
let importer: DynamoFollowerImporter;

beforeAll(() => {
  db = aws.db;
  subscribersTable = aws.table("TABLE_SUBSCRIBERS");
  syncs = new DynamoSyncStore(db, aws.table("TABLE_SYNCS"));
  importer = new DynamoFollowerImporter(db, subscribersTable);
});

const subscriber = (openid: string) => aws.item(subscribersTable, { openid });

describe("DynamoFollowerImporter", () => {
  it("creates new followers opted in and marked, and keeps a stored subscriber's optedIn", async () => {
    const store = new DynamoSubscriberStore(db, subscribersTable);
    await store.upsert([{ openid: "oImpKnown001", optedIn: false }], 1);
    const counts = await importer.importFollowers(
      ["oImpNew00001", "oImpNew00002", "oImpKnown001"],
      { syncId: "syncA", page: 0 },
      100,
      200,
    );
    expect(counts).toEqual({ imported: 2, alreadyKnown: 1 });
    expect(await subscriber("oImpNew00001")).toMatchObject({
      followed: true,
      optedIn: true,
      createdAt: 200,
      createdBySync: "syncA",
      createdOnPage: 0,
    });
    const known = await subscriber("oImpKnown001");
    expect(known).toMatchObject({ followed: true, optedIn: false, optedInBy: "operator" });
    expect(known?.createdBySync).toBeUndefined();
  });

  it("counts a page again exactly as the first time, and another page's or sync's creations as known", async () => {
    const openids = ["oImpRerun001", "oImpRerun002", "oImpKnown001"];
    const importAs = (syncId: string, page: number, listedAt: number, now: number) =>
      importer.importFollowers(openids, { syncId, page }, listedAt, now);
    expect(await importAs("syncB", 3, 100, 200)).toEqual({ imported: 2, alreadyKnown: 1 });
    // The same page of the same sync after a crash before it was recorded.
    expect(await importAs("syncB", 3, 300, 400)).toEqual({ imported: 2, alreadyKnown: 1 });
    expect(await importAs("syncB", 4, 300, 400)).toEqual({ imported: 0, alreadyKnown: 3 });
    expect(await importAs("syncC", 3, 300, 400)).toEqual({ imported: 0, alreadyKnown: 3 });
    expect(await subscriber("oImpRerun001")).toMatchObject({ createdBySync: "syncB", createdAt: 200 });
  });

  it("follows again one who unfollowed before the list was read, not one who unfollowed after", async () => {
    const store = new DynamoSubscriberStore(db, subscribersTable);
    await store.upsert(
      [{ openid: "oImpLeft0001" }, { openid: "oImpLeft0002", optedIn: false }, { openid: "oImpLeft0003" }],
      1,
    );
    await store.markUnfollowed(["oImpLeft0001", "oImpLeft0002"], 500);
    await store.markUnfollowed(["oImpLeft0003"], 900);
    // The user answered "0" once, without a follow event: no `followed` stored at all.
    await db.send(
      new UpdateCommand({
        TableName: subscribersTable,
        Key: { openid: "oImpUser0001" },
        UpdateExpression: "SET optedIn = :no, optedInBy = :user, createdAt = :t",
        ExpressionAttributeValues: { ":no": false, ":user": "user", ":t": 1 },
      }),
    );
    const counts = await importer.importFollowers(
      ["oImpLeft0001", "oImpLeft0002", "oImpLeft0003", "oImpUser0001"],
      { syncId: "syncD", page: 0 },
      800,
      1000,
    );
    expect(counts).toEqual({ imported: 0, alreadyKnown: 4 });
    const again = await subscriber("oImpLeft0001");
    expect(again).toMatchObject({ followed: true, optedIn: true });
    expect(again?.unfollowedAt).toBeUndefined();
    expect(await subscriber("oImpLeft0002")).toMatchObject({ followed: true, optedIn: false });
    expect(await subscriber("oImpLeft0003")).toMatchObject({ followed: false, unfollowedAt: 900 });
    expect(await subscriber("oImpUser0001")).toMatchObject({
      followed: true,
      optedIn: false,
      optedInBy: "user",
    });
  });
});

describe("DynamoSyncStore", () => {
  it("keeps one latest sync: created only over the latest it saw", async () => {
    expect(await syncs.latest()).toBeUndefined();
    expect(await syncs.create(startingSync("sync0001", "l1", 5_000, 1_000), null)).toBe(true);
    expect(await syncs.create(startingSync("sync0002", "l2", 5_000, 1_000), null)).toBe(false);
    expect(await syncs.latest()).toMatchObject({ syncId: "sync0001", status: "running", cursor: "" });
    expect(await syncs.get("#latest")).toBeUndefined();
    expect(await syncs.get("sync0002")).toBeUndefined();
  });

  it("hands the lease on, and takes a page's record once, only at its cursor and under its lease", async () => {
    expect(await syncs.claim("sync0001", "wrong", "l9", 9_000, 2_000)).toBeUndefined();
    const claimed = await syncs.claim("sync0001", "l1", "l3", 9_000, 2_000);
    expect(claimed).toMatchObject({ lease: "l3", leaseUntil: 9_000, pages: 0 });
    // A duplicate of the first message now finds the lease taken.
    expect(await syncs.claim("sync0001", "l1", "l4", 9_000, 2_000)).toBeUndefined();
    const page = { next: "oNext1", imported: 2, alreadyKnown: 1 };
    expect(await syncs.recordPage("sync0001", "l1", { cursor: "", page: 0 }, page, false, 3_000)).toBe(false);
    expect(await syncs.recordPage("sync0001", "l3", { cursor: "x", page: 0 }, page, false, 3_000)).toBe(
      false,
    );
    expect(await syncs.recordPage("sync0001", "l3", { cursor: "", page: 0 }, page, false, 3_000)).toBe(true);
    expect(await syncs.recordPage("sync0001", "l3", { cursor: "", page: 0 }, page, false, 3_000)).toBe(false);
    expect(await syncs.handOver("sync0001", "l3", "l5", 20_000)).toBe(true);
    expect(await syncs.handOver("sync0001", "l3", "l6", 20_000)).toBe(false);
    // Once the lease has run out anyone may take it: the worker is gone.
    expect(await syncs.claim("sync0001", "stale", "l7", 30_000, 21_000)).toMatchObject({
      cursor: "oNext1",
      pages: 1,
      imported: 2,
      alreadyKnown: 1,
    });
  });

  it("pauses with the reason, resumes it (the reason gone), and ends it done with the last page", async () => {
    expect(await syncs.resume("sync0001", "l8", 40_000, 22_000)).toBe(false);
    expect(await syncs.finish("sync0001", "l7", { status: "paused", error: "45009: quota" }, 23_000)).toBe(
      true,
    );
    expect(await syncs.get("sync0001")).toMatchObject({ status: "paused", error: "45009: quota" });
    expect((await syncs.get("sync0001"))?.lease).toBeUndefined();
    expect(await syncs.resume("sync0001", "l8", 40_000, 24_000)).toBe(true);
    const resumed = await syncs.get("sync0001");
    expect(resumed).toMatchObject({ status: "running", lease: "l8" });
    expect(resumed?.error).toBeUndefined();
    const claimed = await syncs.claim("sync0001", "l8", "l9", 50_000, 25_000);
    expect(claimed).toBeDefined();
    const last = { next: "oNext1", imported: 0, alreadyKnown: 1 };
    expect(await syncs.recordPage("sync0001", "l9", { cursor: "oNext1", page: 1 }, last, true, 26_000)).toBe(
      true,
    );
    expect(await syncs.get("sync0001")).toMatchObject({
      status: "done",
      pages: 2,
      imported: 2,
      alreadyKnown: 2,
    });
    expect(await syncs.claim("sync0001", "l9", "l10", 60_000, 27_000)).toBeUndefined();
    expect(await syncs.create(startingSync("sync0003", "l11", 5_000, 28_000), "sync0001")).toBe(true);
    expect(await syncs.latest()).toMatchObject({ syncId: "sync0003" });
  });
});
