import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { DynamoBroadcastStore } from "../../functions/adapters/dynamodb/broadcast-store.ts";
import { DynamoCallbackStore } from "../../functions/adapters/dynamodb/callback-store.ts";
import { DynamoDeliveryStore } from "../../functions/adapters/dynamodb/delivery-store.ts";
import { DynamoPostStore } from "../../functions/adapters/dynamodb/post-store.ts";
import { DynamoSubscriberStore } from "../../functions/adapters/dynamodb/subscriber-store.ts";
import { DynamoTokenStore } from "../../functions/adapters/dynamodb/token-store.ts";
import type { DeliveryRecord, Post } from "../../functions/core/model.ts";
import type { PaymentNotice } from "../../functions/core/payment.ts";
import { taskBroadcastId } from "../../functions/core/push-task.ts";
import { useEmulators } from "../fixtures/emulator-clients.ts";

const aws = useEmulators();
let db: DynamoDBDocumentClient;

beforeAll(() => {
  db = aws.db;
});

const table = (name: string) => aws.table(name);
/** Times near now: DynamoDB Local's TTL sweeper deletes items whose `expiresAt` has passed. */
const T0 = Date.now();
const notice = (outTradeNo: string): PaymentNotice => ({
  appId: "wxAPP",
  mchId: "1900000001",
  outTradeNo,
  transactionId: `42${outTradeNo}`,
  tradeState: "SUCCESS",
  amountTotal: 100,
  currency: "CNY",
});
const post = (outTradeNo: string): Post => ({
  postId: `p-${outTradeNo}`,
  outTradeNo,
  amount: 100,
  content: "求购钢材",
  status: "PENDING",
  createdAt: 1,
});
const message = { customText: "hi", template: { templateId: "TPL", data: { thing1: { value: "hi" } } } };

describe("DynamoPostStore", () => {
  it("registers a post once", async () => {
    const posts = new DynamoPostStore(db, table("TABLE_POSTS"), table("TABLE_BROADCASTS"));
    expect(await posts.create(post("P0000001"))).toBe(true);
    expect(await posts.create(post("P0000001"))).toBe(false);
    expect(await posts.get("P0000001")).toMatchObject({ status: "PENDING", amount: 100 });
  });

  it("marks a post paid and creates its broadcast exactly once under concurrent notifies", async () => {
    const posts = new DynamoPostStore(db, table("TABLE_POSTS"), table("TABLE_BROADCASTS"));
    const broadcasts = new DynamoBroadcastStore(db, table("TABLE_BROADCASTS"));
    const p = post("P0000002");
    await posts.create(p);
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        posts.markPaidAndCreateBroadcast(
          p,
          notice(p.outTradeNo),
          { broadcastId: "post-P0000002", message },
          5,
        ),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await posts.get("P0000002")).toMatchObject({
      status: "PAID",
      broadcastId: "post-P0000002",
      paidAt: 5,
    });
    expect(await broadcasts.get("post-P0000002")).toMatchObject({ total: 0, fanoutPage: 0, message });
  });
});

describe("DynamoBroadcastStore", () => {
  async function freshBroadcast(id: string) {
    const posts = new DynamoPostStore(db, table("TABLE_POSTS"), table("TABLE_BROADCASTS"));
    await posts.create(post(id));
    await posts.markPaidAndCreateBroadcast(post(id), notice(id), { broadcastId: `post-${id}`, message }, T0);
    return new DynamoBroadcastStore(db, table("TABLE_BROADCASTS"));
  }

  it("records each audience page once", async () => {
    const store = await freshBroadcast("B0000001");
    expect(await store.recordPage("post-B0000001", 0, 10, false)).toBe(true);
    expect(await store.recordPage("post-B0000001", 0, 10, false)).toBe(false);
    expect(await store.recordPage("post-B0000001", 1, 5, true)).toBe(true);
    expect(await store.get("post-B0000001")).toMatchObject({ total: 15, fanoutPage: 2, fanoutDone: true });
  });

  it("claims a chunk for one holder, lets it go on release, and reports done once completed", async () => {
    const store = await freshBroadcast("B0000002");
    const id = "post-B0000002";
    expect(await store.claimChunk(id, "0-0", 60_000, T0 + 1_000)).toBe("first");
    expect(await store.claimChunk(id, "0-0", 60_000, T0 + 2_000)).toBe("busy");
    expect(await store.claimChunk(id, "0-0", 60_000, T0 + 70_000)).toBe("claimed");
    await store.releaseChunk(id, "0-0");
    expect(await store.claimChunk(id, "0-0", 60_000, T0 + 70_001)).toBe("claimed");
    const tally = {
      sent: 2,
      failed: 1,
      unknown: 1,
      skipped: 0,
      byChannel: { template: 2 },
      byErrcode: { "43004": 1, "-2": 1 },
    };
    await store.completeChunk(id, "0-0", tally);
    expect(await store.claimChunk(id, "0-0", 60_000, T0 + 999_999_999)).toBe("done");
    await store.completeChunk(id, "0-0", tally);
    expect(await store.get(id)).toMatchObject({
      sent: 2,
      failed: 1,
      unknown: 1,
      byChannel: { template: 2 },
      byErrcode: { "43004": 1, "-2": 1 },
    });
  });

  it("adds every chunk's tally when many complete at once (transaction conflicts are retried)", async () => {
    const store = await freshBroadcast("B0000003");
    const id = "post-B0000003";
    const chunks = Array.from({ length: 24 }, (_, i) => `0-${i}`);
    await Promise.all(chunks.map((c) => store.claimChunk(id, c, 60_000, T0)));
    await Promise.all(
      chunks.map((c, i) =>
        store.completeChunk(id, c, {
          sent: 3,
          failed: 1,
          unknown: 0,
          skipped: 0,
          byChannel: i % 2 ? { custom: 1, template: 2 } : { template: 3 },
          byErrcode: { "-1": 1 },
        }),
      ),
    );
    expect(await store.get(id)).toMatchObject({
      sent: 72,
      failed: 24,
      byChannel: { custom: 12, template: 60 },
      byErrcode: { "-1": 24 },
    });
  });
});

describe("DynamoDeliveryStore", () => {
  const record = (broadcastId: string, openid: string, i: number): DeliveryRecord => ({
    broadcastId,
    openid,
    outcome: i % 10 ? "sent" : "failed",
    channel: "template",
    errcode: i % 10 ? 0 : 43004,
    errmsg: i % 10 ? "ok" : "require subscribe",
    ...(i % 10 ? { msgid: 5_000_000_000 + i } : {}),
    attempts: 1,
    at: T0 + i,
  });

  it("keeps a paid post's records a group per flush, found again by chunk and paged by the tally", async () => {
    const store = new DynamoDeliveryStore(db, table("TABLE_DELIVERIES"));
    const broadcastId = "post-G1";
    const chunk = { broadcastId, chunkId: "0-0" };
    const records = Array.from({ length: 130 }, (_, i) => record(broadcastId, `oG${i}`, i));
    for (let i = 0; i < records.length; i += 25) await store.putMany(chunk, records.slice(i, i + 25));
    // Another chunk's records, with msgids of their own.
    const others = Array.from({ length: 1100 }, (_, i) => record(broadcastId, `oH${i}`, 1000 + i));
    for (let i = 0; i < others.length; i += 25)
      await store.putMany({ broadcastId, chunkId: `1-${i / 25}` }, others.slice(i, i + 25));

    const found = await store.getSettled(chunk, [...records.map((r) => r.openid), "oH1", "oG-missing"]);
    expect(found.size).toBe(130);
    expect(found.get("oG10")).toEqual(records[10]);
    expect(found.get("oG11")).toEqual(records[11]);
    expect(found.has("oH1")).toBe(false);
    expect((await store.getSettled({ broadcastId, chunkId: "1-3" }, ["oH75", "oH100"])).size).toBe(1);

    const msgids: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { msgids: number[]; next: string | null } = await store.readMsgids(broadcastId, cursor);
      msgids.push(...page.msgids);
      cursor = page.next;
      pages += 1;
    } while (cursor);
    const expected = [...records, ...others].flatMap((r) => (r.msgid === undefined ? [] : [r.msgid]));
    expect(msgids.sort()).toEqual(expected.sort());
    expect(pages).toBeGreaterThan(1);
  });

  it("keeps a push task's records one per recipient, beyond one BatchWrite (25) and one BatchGet (100)", async () => {
    const store = new DynamoDeliveryStore(db, table("TABLE_DELIVERIES"));
    const broadcastId = taskBroadcastId("D1");
    const records = Array.from({ length: 130 }, (_, i) => record(broadcastId, `oD${i}`, i));
    await store.putMany({ broadcastId, chunkId: "0-0" }, records);
    const asked = [...records.map((r) => r.openid), "oD-missing"];
    // A retry round's chunk finds the records the first round wrote.
    const found = await store.getSettled({ broadcastId, chunkId: "r1-0" }, asked);
    expect(found.size).toBe(130);
    expect(found.get("oD10")).toMatchObject({ outcome: "failed", errcode: 43004 });
    expect(found.has("oD-missing")).toBe(false);
    const page = await store.listPage(broadcastId, { limit: 3, outcome: "failed" });
    expect(page.items.map((r) => r.openid)).toEqual(["oD0", "oD10", "oD100"]);
  });
});

describe("DynamoSubscriberStore", () => {
  it("pages through exactly the active audience", async () => {
    const store = new DynamoSubscriberStore(db, table("TABLE_SUBSCRIBERS"));
    const now = Date.now();
    const active = Array.from({ length: 45 }, (_, i) => `oActive${i}`);
    await store.upsert(
      [
        ...active.map((openid) => ({ openid })),
        { openid: "oOptedOut", optedIn: false },
        { openid: "oExpired", membershipExpiresAt: now - 1000 },
        { openid: "oMember", membershipExpiresAt: now + 86_400_000 },
        { openid: "oGone" },
      ],
      now,
    );
    await store.markUnfollowed(["oGone", "oNeverImported"], now);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await store.readPage(cursor, 10, now);
      seen.push(...page.openids);
      cursor = page.next;
      pages += 1;
    } while (cursor);
    expect(pages).toBeGreaterThan(4);
    expect(seen.sort()).toEqual([...active, "oMember"].sort());
  });

  it("keeps an earlier opt-out when an import leaves optedIn out, and applies an explicit one", async () => {
    const store = new DynamoSubscriberStore(db, table("TABLE_SUBSCRIBERS"));
    await store.upsert([{ openid: "oSteer1", optedIn: false }], 1);
    await store.upsert([{ openid: "oSteer1" }], 2);
    expect((await store.readPage(null, 1000, 3)).openids).not.toContain("oSteer1");
    await store.upsert([{ openid: "oSteer1", optedIn: true }], 4);
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await store.readPage(cursor, 1000, 5);
      all.push(...page.openids);
      cursor = page.next;
    } while (cursor);
    expect(all).toContain("oSteer1");
  });
});

describe("DynamoSubscriberStore windows", () => {
  it("reports open windows with the audience and uses their messages up atomically", async () => {
    const store = new DynamoSubscriberStore(db, table("TABLE_SUBSCRIBERS"));
    const now = Date.now();
    await store.upsert([{ openid: "oWin0001" }, { openid: "oWin0002" }, { openid: "oWin0003" }], now);
    const openWindow = (openid: string, until: number, remaining: number) =>
      db.send(
        new UpdateCommand({
          TableName: table("TABLE_SUBSCRIBERS"),
          Key: { openid },
          UpdateExpression: "SET windowUntil = :u, windowRemaining = :r",
          ExpressionAttributeValues: { ":u": until, ":r": remaining },
        }),
      );
    await openWindow("oWin0001", now + 3_600_000, 2);
    await openWindow("oWin0002", now - 1, 5);
    const windowed: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await store.readPage(cursor, 1000, now);
      windowed.push(...page.windowed);
      cursor = page.next;
    } while (cursor);
    expect(windowed).toEqual(["oWin0001"]);

    // Four broadcasts at once share a window with two messages left.
    const uses = await Promise.all(
      ["b1", "b2", "b3", "b4"].map((b) => store.consumeWindow("oWin0001", b, now)),
    );
    expect(uses.filter((u) => u === "taken")).toHaveLength(2);
    expect(uses.filter((u) => u === "none")).toHaveLength(2);
    expect(await store.consumeWindow("oWin0002", "b1", now)).toBe("none");
    expect(await store.consumeWindow("oWin0003", "b1", now)).toBe("none");
  });

  it("notes the broadcast on the window it used until WeChat's answer releases it", async () => {
    const store = new DynamoSubscriberStore(db, table("TABLE_SUBSCRIBERS"));
    const now = Date.now();
    await store.upsert([{ openid: "oNote001" }], now);
    await db.send(
      new UpdateCommand({
        TableName: table("TABLE_SUBSCRIBERS"),
        Key: { openid: "oNote001" },
        UpdateExpression: "SET windowUntil = :u, windowRemaining = :r",
        ExpressionAttributeValues: { ":u": now + 3_600_000, ":r": 3 },
      }),
    );
    const remaining = async () =>
      (await db.send(new GetCommand({ TableName: table("TABLE_SUBSCRIBERS"), Key: { openid: "oNote001" } })))
        .Item?.windowRemaining;
    expect(await store.consumeWindow("oNote001", "b1", now)).toBe("taken");
    // The same broadcast again (its chunk redelivered after a crash): the first call may have delivered.
    expect(await store.consumeWindow("oNote001", "b1", now)).toBe("in_doubt");
    expect(await remaining()).toBe(2);
    // WeChat answered "busy": the note goes and the message comes back, for the queue's retry.
    await store.releaseWindow("oNote001", "b1", true);
    expect(await remaining()).toBe(3);
    await store.releaseWindow("oNote001", "b1", true);
    expect(await remaining()).toBe(3);
    expect(await store.consumeWindow("oNote001", "b1", now)).toBe("taken");
    // 45015 (WeChat closed the window): the note goes, the message stays used.
    await store.releaseWindow("oNote001", "b1", false);
    expect(await remaining()).toBe(2);
    expect(await store.consumeWindow("oNote001", "b2", now)).toBe("taken");
    // The user writes again: a new window without the old notes.
    const callbackTables = { inbox: table("TABLE_INBOX"), subscribers: table("TABLE_SUBSCRIBERS") };
    await new DynamoCallbackStore(db, callbackTables).apply({
      kind: "interaction",
      openid: "oNote001",
      at: now,
      window: { until: now + 7_200_000, remaining: 5 },
    });
    expect(await store.consumeWindow("oNote001", "b2", now)).toBe("taken");
    expect(await remaining()).toBe(4);
  });
});

describe("DynamoTokenStore", () => {
  it("gives the refresh lock to one holder, and only while the token needs refreshing", async () => {
    const store = new DynamoTokenStore(db, table("TABLE_TOKENS"), "wxLOCK");
    const now = Date.now();
    const winners = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store.tryLock(`c${i}`, now + 10_000, now, now)),
    );
    expect(winners.filter(Boolean)).toHaveLength(1);
    await store.write({ accessToken: "A1", expiresAt: now + 7_200_000 }, now);
    expect(await store.read()).toEqual({ accessToken: "A1", expiresAt: now + 7_200_000, rejected: false });
    expect(await store.tryLock("c9", now + 10_000, now, now + 60_000)).toBe(false);
    expect(await store.tryLock("c9", now + 10_000, now, now + 7_300_000)).toBe(true);
    await store.unlock("c9");
    expect(await store.tryLock("c8", now + 10_000, now, now + 7_300_000)).toBe(true);
  });

  it("marks a refused token once, only while it is the stored one, and a refresh clears it", async () => {
    const store = new DynamoTokenStore(db, table("TABLE_TOKENS"), "wxREJECT");
    const now = Date.now();
    await store.write({ accessToken: "R1", expiresAt: now + 7_200_000 }, now);
    const marks = await Promise.all(Array.from({ length: 6 }, () => store.markRejected("R1", now)));
    expect(marks.filter(Boolean)).toHaveLength(1);
    expect(await store.read()).toMatchObject({ accessToken: "R1", rejected: true });
    // A refused token may be refreshed at once, fresh or not.
    expect(await store.tryLock("r", now + 10_000, now, now)).toBe(true);
    await store.write({ accessToken: "R2", expiresAt: now + 7_200_000 }, now);
    expect(await store.markRejected("R1", now)).toBe(false);
    expect(await store.read()).toMatchObject({ accessToken: "R2", rejected: false });
  });

  it("takes a pushed token unless a later one is stored, and a re-push keeps a refusal", async () => {
    const store = new DynamoTokenStore(db, table("TABLE_TOKENS"), "wxPUSH");
    const now = Date.now();
    expect(await store.accept({ accessToken: "P1", expiresAt: now + 7_000_000 }, now)).toBe("stored");
    expect(await store.accept({ accessToken: "P0", expiresAt: now + 600_000 }, now)).toBe("superseded");
    expect((await store.read())?.accessToken).toBe("P1");
    await store.markRejected("P1", now);
    expect(await store.accept({ accessToken: "P1", expiresAt: now + 6_900_000 }, now)).toBe("stored");
    expect(await store.read()).toEqual({ accessToken: "P1", expiresAt: now + 6_900_000, rejected: true });
    // A refused token gives way to any new one, even one expiring sooner.
    expect(await store.accept({ accessToken: "P2", expiresAt: now + 3_600_000 }, now)).toBe("stored");
    expect(await store.read()).toEqual({ accessToken: "P2", expiresAt: now + 3_600_000, rejected: false });
  });
});
