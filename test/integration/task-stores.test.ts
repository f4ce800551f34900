import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { DynamoBroadcastStore } from "../../functions/adapters/dynamodb/broadcast-store.ts";
import { DynamoCreditStore } from "../../functions/adapters/dynamodb/credit-store.ts";
import { DynamoDeliveryStore } from "../../functions/adapters/dynamodb/delivery-store.ts";
import {
  DynamoTaskRecipientReader,
  DynamoTaskStore,
  RECIPIENT_BATCH,
} from "../../functions/adapters/dynamodb/task-store.ts";
import { ValidationError } from "../../functions/core/errors.ts";
import type { DeliveryRecord, TaskDraft } from "../../functions/core/model.ts";
import { TaskNotDraftError } from "../../functions/core/ports.ts";
import { type PushTask, prepareTaskMessage, taskBroadcastId } from "../../functions/core/push-task.ts";
import { csvRows, importRecipients } from "../../functions/core/recipient-list.ts";
import { useEmulators } from "../fixtures/emulator-clients.ts";
import { sampleTaskDraft } from "../fixtures/task-draft.ts";

const aws = useEmulators();
let db: DynamoDBDocumentClient;
let tasks: DynamoTaskStore;
let credits: DynamoCreditStore;
let broadcasts: DynamoBroadcastStore;
let deliveries: DynamoDeliveryStore;

beforeAll(() => {
  db = aws.db;
  tasks = new DynamoTaskStore(db, {
    tasks: aws.table("TABLE_TASKS"),
    recipients: aws.table("TABLE_TASK_RECIPIENTS"),
    broadcasts: aws.table("TABLE_BROADCASTS"),
  });
  credits = new DynamoCreditStore(db, aws.table("TABLE_CREDITS"));
  broadcasts = new DynamoBroadcastStore(db, aws.table("TABLE_BROADCASTS"));
  deliveries = new DynamoDeliveryStore(db, aws.table("TABLE_DELIVERIES"));
});

const draft: TaskDraft = {
  ...sampleTaskDraft,
  caption: "新品八折",
  tips: "数量有限",
  data: { thing1: "{{topic}}", amount2: "¥{{goods.price}}" },
  page: undefined,
};

function newTask(taskId: string, overrides: Partial<PushTask> = {}): PushTask {
  return {
    ...draft,
    taskId,
    status: "draft",
    recipients: 0,
    message: prepareTaskMessage(draft),
    createdAt: Date.now(),
    ...overrides,
  };
}
/** Times near now: DynamoDB Local's TTL sweeper deletes items whose `expiresAt` has passed. */
const T0 = Date.now();
const ids = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `o${prefix}${String(i).padStart(12, "0")}`);
const dispatch = (task: PushTask) => ({
  taskId: task.taskId,
  audience: task.audience,
  message: task.message,
});

describe("DynamoTaskStore", () => {
  it("stores each openid once and keeps the count equal to the stored recipients", async () => {
    await tasks.create(newTask("T-up"));
    const first = await tasks.addRecipients("T-up", ids("A", 10));
    expect(first).toEqual({ added: 10, duplicates: 0 });
    const second = await tasks.addRecipients("T-up", [...ids("A", 4), ...ids("B", 3)]);
    expect(second).toEqual({ added: 3, duplicates: 4 });
    expect((await tasks.get("T-up"))?.recipients).toBe(13);
  });

  it("counts concurrent uploads of overlapping lists exactly", async () => {
    await tasks.create(newTask("T-conc"));
    const lists = [ids("C", 60), ids("C", 60).slice(30), [...ids("C", 10), ...ids("D", 20)]];
    const results = await Promise.all(lists.map((list) => tasks.addRecipients("T-conc", list)));
    expect(results.reduce((n, r) => n + r.added, 0)).toBe(80);
    expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(60 + 30 + 30 - 80);
    expect((await tasks.get("T-conc"))?.recipients).toBe(80);
  });

  it("imports a large CSV in batches as it parses, reading it back page by page", async () => {
    await tasks.create(newTask("T-big"));
    const list = ids("E", 1200);
    const csv = `openid\n${list.join("\n")}\n${list.slice(0, 50).join("\n")}\nbad id\n`;
    const report = await importRecipients(csvRows(csv), (b) => tasks.addRecipients("T-big", b), {
      batchSize: RECIPIENT_BATCH,
    });
    expect(report).toMatchObject({ added: 1200, duplicates: 50, invalidCount: 1 });
    expect(report.invalid).toEqual([{ line: 1252, reason: expect.stringContaining("openid") }]);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await new DynamoTaskRecipientReader(db, aws.table("TABLE_TASK_RECIPIENTS")).readTaskPage(
        "T-big",
        cursor,
        500,
      );
      seen.push(...page.openids);
      cursor = page.next;
      pages += 1;
    } while (cursor);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(new Set(seen).size).toBe(1200);
  });

  it("refuses recipients for a missing task or one that is no longer a draft", async () => {
    await expect(tasks.addRecipients("T-none", ids("F", 2))).rejects.toMatchObject({ missing: true });
    await tasks.create(newTask("T-sent", { status: "sending" }));
    await expect(tasks.addRecipients("T-sent", ids("F", 2))).rejects.toBeInstanceOf(TaskNotDraftError);
  });

  it("starts a send once: concurrent presses, then the reasons a send is refused", async () => {
    const task = newTask("T-send");
    await tasks.create(task);
    expect(await tasks.startSend(task, dispatch(task), T0 + 1)).toBe("no_recipients");
    expect((await tasks.get("T-send"))?.status).toBe("draft");
    await tasks.addRecipients("T-send", ids("G", 3));
    const presses = await Promise.all(
      Array.from({ length: 6 }, () => tasks.startSend(task, dispatch(task), T0 + 2)),
    );
    expect(presses.filter((p) => p === true)).toHaveLength(1);
    expect(presses.filter((p) => p === "not_draft")).toHaveLength(5);
    expect(await tasks.get("T-send")).toMatchObject({ status: "sending", sentAt: T0 + 2 });
    expect(await broadcasts.get(taskBroadcastId("T-send"))).toMatchObject({
      task: { taskId: "T-send", audience: "uploaded" },
      total: 0,
      fanoutPage: 0,
    });

    const off = newTask("T-off", { goods: { ...draft.goods, onShelf: false } });
    await tasks.create(off);
    await tasks.addRecipients("T-off", ids("H", 1));
    expect(await tasks.startSend(off, dispatch(off), T0 + 3)).toBe("off_shelf");
    expect((await tasks.get("T-off"))?.status).toBe("draft");
    const all = newTask("T-all", { audience: "all" });
    await tasks.create(all);
    expect(await tasks.startSend(all, dispatch(all), T0 + 4)).toBe(true);
    expect(await tasks.startSend(newTask("T-ghost"), dispatch(all), T0 + 5)).toBe("missing");
  });

  it("lists tasks newest first with a cursor", async () => {
    const base = Date.now() + 1_000_000;
    for (let i = 0; i < 5; i += 1) await tasks.create(newTask(`T-list${i}`, { createdAt: base + i }));
    const first = await tasks.list(3, null);
    expect(first.items.map((t) => t.taskId)).toEqual(["T-list4", "T-list3", "T-list2"]);
    expect(first.next).not.toBeNull();
    const second = await tasks.list(2, first.next);
    expect(second.items.map((t) => t.taskId)).toEqual(["T-list1", "T-list0"]);
    await expect(tasks.list(2, "not-a-cursor")).rejects.toBeInstanceOf(ValidationError);
  });

  it("lets one retry round begin at a time", async () => {
    await tasks.create(newTask("T-retry", { status: "sending" }));
    const starts = await Promise.all([1, 2, 3].map(() => tasks.beginRetry("T-retry", 1, 10)));
    expect(starts.filter(Boolean)).toHaveLength(1);
    await tasks.finishRetry("T-retry", { round: 1, chunks: 2, requeued: 150, at: 10 });
    expect(await tasks.beginRetry("T-retry", 1, 11)).toBe(false);
    expect(await tasks.beginRetry("T-retry", 2, 11)).toBe(true);
    expect(await tasks.chunksDone("B-none", ["r1-0"])).toBe(false);
    await broadcasts.claimChunk(taskBroadcastId("T-send"), "r1-0", 1000, T0);
    expect(await tasks.chunksDone(taskBroadcastId("T-send"), ["r1-0"])).toBe(false);
    await broadcasts.completeChunk(taskBroadcastId("T-send"), "r1-0", {
      sent: 1,
      failed: 0,
      unknown: 0,
      skipped: 0,
      byChannel: { template: 1 },
      byErrcode: {},
    });
    expect(await tasks.chunksDone(taskBroadcastId("T-send"), ["r1-0"])).toBe(true);
    expect(await tasks.chunksDone(taskBroadcastId("T-send"), [])).toBe(true);
  });
});

describe("DynamoCreditStore", () => {
  it("uses a credit once per task and user, however often the chunk comes back", async () => {
    expect(await credits.grant("oUser0001", "SUB", 2, T0 + 1)).toEqual({ credits: 2, replayed: false });
    expect(await credits.reserve("oUser0001", "SUB", "task-a", T0 + 2)).toBe("taken");
    expect(await credits.credits("oUser0001", "SUB")).toBe(1);
    // Redelivered while the first call's outcome is unknown: no second credit, no second call.
    expect(await credits.reserve("oUser0001", "SUB", "task-a", T0 + 3)).toBe("in_doubt");
    // WeChat answered without delivering: the held credit is used by the next try.
    await credits.hold("oUser0001", "task-a");
    expect(await credits.reserve("oUser0001", "SUB", "task-a", T0 + 4)).toBe("held");
    expect(await credits.credits("oUser0001", "SUB")).toBe(1);
    expect(await credits.reserve("oUser0001", "SUB", "task-b", T0 + 5)).toBe("taken");
    expect(await credits.reserve("oUser0001", "SUB", "task-c", T0 + 6)).toBe("none");
    expect(await credits.reserve("oNobody01", "SUB", "task-a", T0 + 6)).toBe("none");
    expect(await credits.credits("oUser0001", "SUB")).toBe(0);
  });

  it("never uses more credits than granted under concurrent tasks", async () => {
    await credits.grant("oUser0002", "SUB", 3, T0 + 1);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => credits.reserve("oUser0002", "SUB", `task-${i}`, T0 + 2)),
    );
    expect(results.filter((r) => r === "taken")).toHaveLength(3);
    expect(results.filter((r) => r === "none")).toHaveLength(5);
    expect(await credits.credits("oUser0002", "SUB")).toBe(0);
  });

  it("adds a grant with an idempotency key once, and refuses the key for another grant", async () => {
    await credits.grant("oUser0005", "SUB", 1, T0 + 1);
    const grants = await Promise.all(
      Array.from({ length: 4 }, () => credits.grant("oUser0005", "SUB", 2, T0 + 2, "report-1")),
    );
    expect(grants.filter((g) => !g.replayed)).toHaveLength(1);
    expect(grants.every((g) => g.credits === 3)).toBe(true);
    expect(await credits.credits("oUser0005", "SUB")).toBe(3);
    await expect(credits.grant("oUser0005", "SUB", 1, T0 + 3, "report-1")).rejects.toThrow(/Idempotency-Key/);
    await expect(credits.grant("oUser0005", "SUB2", 2, T0 + 3, "report-1")).rejects.toThrow(
      /Idempotency-Key/,
    );
    // Keys are the user's own: another user's report with the same key is a grant of its own.
    expect(await credits.grant("oUser0006", "SUB", 2, T0 + 3, "report-1")).toEqual({
      credits: 2,
      replayed: false,
    });
    expect(await credits.credits("oUser0005", "SUB")).toBe(3);
  });

  it("drops the count to zero when WeChat says the user has none (43101)", async () => {
    await credits.grant("oUser0003", "SUB", 4, T0 + 1);
    await credits.revoke("oUser0003", "SUB");
    expect(await credits.credits("oUser0003", "SUB")).toBe(0);
    await credits.revoke("oUser0004", "SUB");
    expect(await credits.credits("oUser0004", "SUB")).toBe(0);
  });
});

describe("DynamoDeliveryStore.listPage", () => {
  it("pages a broadcast's records in openid order, optionally by outcome", async () => {
    const records: DeliveryRecord[] = ids("L", 30).map((openid, i) => ({
      broadcastId: "task-list",
      openid,
      outcome: i % 3 === 0 ? "failed" : "sent",
      ...(i % 3 === 0 ? { errcode: -1, errmsg: "system busy" } : {}),
      attempts: 1,
      at: T0 + i,
    }));
    await deliveries.putMany({ broadcastId: "task-list", chunkId: "0-0" }, records);
    const failed: DeliveryRecord[] = [];
    let after: string | undefined;
    do {
      const page = await deliveries.listPage("task-list", {
        limit: 4,
        outcome: "failed",
        ...(after ? { after } : {}),
      });
      expect(page.items.length).toBeLessThanOrEqual(4);
      failed.push(...page.items);
      after = page.next ?? undefined;
    } while (after);
    expect(failed.map((r) => r.openid)).toEqual(
      records.filter((r) => r.outcome === "failed").map((r) => r.openid),
    );
    const all = await deliveries.listPage("task-list", { limit: 100 });
    expect(all.items).toHaveLength(30);
    expect(all.next).toBeNull();
  });
});
