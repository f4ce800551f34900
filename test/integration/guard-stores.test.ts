/** The suppression and daily-cap stores on the subscribers' items, against DynamoDB Local. */
import { type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { DynamoCallbackStore } from "../../functions/adapters/dynamodb/callback-store.ts";
import { DynamoDailyCapStore } from "../../functions/adapters/dynamodb/daily-cap-store.ts";
import { DynamoSubscriberStore } from "../../functions/adapters/dynamodb/subscriber-store.ts";
import { DynamoSuppressionStore } from "../../functions/adapters/dynamodb/suppression-store.ts";
import { DAILY_CAP_WINDOW_MS } from "../../functions/core/daily-cap.ts";
import type { CapState } from "../../functions/core/ports.ts";
import { useEmulators } from "../fixtures/emulator-clients.ts";

const aws = useEmulators();
let db: DynamoDBDocumentClient;
let subscribersTable: string;
let inboxTable: string;
const now = Date.now();

beforeAll(() => {
  db = aws.db;
  subscribersTable = aws.table("TABLE_SUBSCRIBERS");
  inboxTable = aws.table("TABLE_INBOX");
});

const put = (openid: string, fields: Record<string, unknown> = {}) =>
  db.send(
    new PutCommand({
      TableName: subscribersTable,
      Item: { openid, optedIn: true, followed: true, createdAt: now - 1000, ...fields },
    }),
  );
const item = (openid: string) => aws.item(subscribersTable, { openid });

describe("DynamoSuppressionStore", () => {
  it("suppresses with the reason and since, unless the user spoke or followed after WeChat's word", async () => {
    const store = new DynamoSuppressionStore(db, subscribersTable);
    await put("oSupA01");
    await put("oSupA02", { lastInteractionAt: now + 5 });
    await put("oSupA03", { followedAt: now + 5 });
    await store.suppress(
      ["oSupA01", "oSupA02", "oSupA03", "oSupNone"].map((openid) => ({ openid, at: now })),
      "user block",
    );
    expect(await item("oSupA01")).toMatchObject({
      suppressed: "user block",
      suppressedAt: now,
      optedIn: true,
    });
    expect(await item("oSupA02")).not.toHaveProperty("suppressed");
    expect(await item("oSupA03")).not.toHaveProperty("suppressed");
    // Unknown openids are not created.
    expect(await item("oSupNone")).toBeUndefined();
    // A later refusal keeps the first time it was seen.
    await store.suppress([{ openid: "oSupA01", at: now + 10 }], "43101");
    expect(await item("oSupA01")).toMatchObject({ suppressed: "43101", suppressedAt: now });

    const among = await store.suppressedAmong(["oSupA01", "oSupA02", "oSupNone"]);
    expect([...among]).toEqual([["oSupA01", "43101"]]);

    expect(await store.unsuppress("oSupA01")).toBe("43101");
    expect(await store.unsuppress("oSupA01")).toBeNull();
    expect(await store.unsuppress("oSupNone")).toBeUndefined();
    expect(await item("oSupA01")).not.toHaveProperty("suppressedAt");
    expect(await item("oSupNone")).toBeUndefined();
  });

  it("never touches a user's own 0: suppressing and lifting leave them opted out", async () => {
    const store = new DynamoSuppressionStore(db, subscribersTable);
    await put("oSupOut1", { optedIn: false });
    await store.suppress([{ openid: "oSupOut1", at: now }], "user block");
    expect(await item("oSupOut1")).toMatchObject({ suppressed: "user block", optedIn: false });
    expect(await store.unsuppress("oSupOut1")).toBe("user block");
    expect(await item("oSupOut1")).toMatchObject({ optedIn: false });
    expect(await item("oSupOut1")).not.toHaveProperty("suppressed");
  });

  it("the user's message and a re-follow lift it; the audience read carries it; a 43004 marks it", async () => {
    const store = new DynamoSuppressionStore(db, subscribersTable);
    const callback = new DynamoCallbackStore(db, { inbox: inboxTable, subscribers: subscribersTable });
    await put("oSupB01");
    await put("oSupB02");
    await store.suppress(
      ["oSupB01", "oSupB02"].map((openid) => ({ openid, at: now })),
      "user block",
    );
    const window = { until: now + 60_000, remaining: 3 };
    await callback.apply({ kind: "interaction", openid: "oSupB01", at: now + 1, window });
    await callback.apply({ kind: "follow", openid: "oSupB02", at: now + 1, window });
    expect(await item("oSupB01")).not.toHaveProperty("suppressed");
    expect(await item("oSupB02")).not.toHaveProperty("suppressed");
    // A report from before their message, handled after it, does not suppress them again.
    await callback.apply({ kind: "suppress", openid: "oSupB01", reason: "user block", at: now });
    expect(await item("oSupB01")).not.toHaveProperty("suppressed");

    const subscribers = new DynamoSubscriberStore(db, subscribersTable);
    await put("oSupB03");
    await subscribers.markUnfollowed(["oSupB03"], now);
    expect(await item("oSupB03")).toMatchObject({ followed: false, suppressed: "43004" });
    await store.suppress([{ openid: "oSupB01", at: now + 2 }], "43101");
    const seen = new Map<string, string>();
    for (let cursor: string | null = null, first = true; first || cursor; first = false) {
      const page = await subscribers.readPage(cursor, 100, now);
      for (const [openid, reason] of page.suppressed ?? []) seen.set(openid, reason);
      cursor = page.next;
    }
    expect(seen.get("oSupB01")).toBe("43101");
    expect(seen.has("oSupB02")).toBe(false);
  });
});

describe("DynamoDailyCapStore", () => {
  const claim = (index: number, at = now, window = false) => ({
    index,
    slots: 2,
    now: at,
    freeBefore: at - DAILY_CAP_WINDOW_MS,
    window,
  });

  it("lets one of two broadcasts take the same free slot, and a broadcast no second slot", async () => {
    const store = new DynamoDailyCapStore(db, subscribersTable);
    await put("oCapS01");
    const answers = await Promise.all(["post-A", "post-B"].map((b) => store.take("oCapS01", b, claim(0))));
    expect(answers.filter((a) => a === "taken")).toHaveLength(1);
    const refused = answers.find((a) => a !== "taken") as CapState;
    // The refusal carries the stored item: the loser tries the next slot without a read.
    expect(refused.slots[0]?.broadcastId).toMatch(/^post-[AB]$/);
    const winner = refused.slots[0]?.broadcastId as string;
    expect(await store.take("oCapS01", winner, claim(1))).not.toBe("taken");
    const loser = winner === "post-A" ? "post-B" : "post-A";
    expect(await store.take("oCapS01", loser, claim(1))).toBe("taken");
    const [state] = (await store.read(["oCapS01", "oCapMissing"], 2)).values();
    expect(state?.slots.map((s) => s?.broadcastId).sort()).toEqual(["post-A", "post-B"]);
    expect(await store.take("oCapMissing", "post-A", claim(0))).toBe("missing");
  });

  it("frees a slot after 24 h and on a give-back by its own broadcast only", async () => {
    const store = new DynamoDailyCapStore(db, subscribersTable);
    await put("oCapS02", { capSlot0: { broadcastId: "post-OLD", at: now - DAILY_CAP_WINDOW_MS } });
    expect(await store.take("oCapS02", "post-NEW", claim(0))).toBe("taken");
    await store.giveBack("oCapS02", "post-OTHER", 0);
    expect((await item("oCapS02"))?.capSlot0).toEqual({ broadcastId: "post-NEW", at: now });
    await store.giveBack("oCapS02", "post-NEW", 0);
    expect(await item("oCapS02")).not.toHaveProperty("capSlot0");
  });

  it("uses a window message in the slot's write, only while the window is open", async () => {
    const store = new DynamoDailyCapStore(db, subscribersTable);
    await put("oCapS03", { windowUntil: now + 60_000, windowRemaining: 1 });
    expect(await store.take("oCapS03", "post-W1", claim(0, now, true))).toBe("taken");
    expect(await item("oCapS03")).toMatchObject({ windowRemaining: 0, windowCalls: new Set(["post-W1"]) });
    // No message left: the write is refused whole, the slot stays free.
    expect(await store.take("oCapS03", "post-W2", claim(1, now, true))).not.toBe("taken");
    expect(await item("oCapS03")).not.toHaveProperty("capSlot1");
  });
});
