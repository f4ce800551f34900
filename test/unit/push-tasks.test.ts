import { beforeEach, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "../../functions/core/errors.ts";
import type { TaskDraft } from "../../functions/core/model.ts";
import { TaskNotDraftError } from "../../functions/core/ports.ts";
import { retryChunkId, taskBroadcastId } from "../../functions/core/push-task.ts";
import {
  createTask,
  type PushTaskDeps,
  retryTask,
  sendTask,
  uploadRecipients,
} from "../../functions/core/push-tasks.ts";
import { jsonRows } from "../../functions/core/recipient-list.ts";
import {
  FakeClock,
  MemoryBroadcastStore,
  MemoryDeliveryStore,
  MemoryTaskStore,
  RecordingQueues,
} from "./fakes.ts";

const draft: TaskDraft = {
  name: "秋季上新",
  channel: "template",
  templateId: "TPL_TASK",
  templateName: "活动加入成功提醒",
  topic: "秋季上新",
  caption: "全场新品八折起",
  tips: "",
  data: { thing1: "{{topic}}", amount2: "¥{{goods.price}}" },
  goods: { id: "1989", title: "叉车", price: 250, onShelf: true },
  audience: "uploaded",
};
const openids = (n: number, prefix = "oUser") =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`);

let broadcasts: MemoryBroadcastStore;
let tasks: MemoryTaskStore;
let deliveries: MemoryDeliveryStore;
let queues: RecordingQueues;
let clock: FakeClock;
let deps: PushTaskDeps;

beforeEach(() => {
  broadcasts = new MemoryBroadcastStore();
  tasks = new MemoryTaskStore(broadcasts);
  deliveries = new MemoryDeliveryStore();
  queues = new RecordingQueues();
  clock = new FakeClock();
  let n = 0;
  deps = {
    tasks,
    broadcasts,
    deliveries,
    fanoutQueue: queues,
    sendQueue: queues,
    clock,
    newTaskId: (now) => `task-${now}-${++n}`,
  };
});

async function sentTask(recipients: string[]) {
  const task = await createTask(draft, deps);
  await uploadRecipients(task.taskId, jsonRows(recipients), deps, 99);
  await sendTask(task.taskId, deps);
  return task;
}

describe("createTask", () => {
  it("stores a draft with its message rendered, its id and time from the ports", async () => {
    const task = await createTask(draft, deps);
    expect(task).toMatchObject({
      taskId: `task-${clock.now()}-1`,
      status: "draft",
      recipients: 0,
      createdAt: clock.now(),
    });
    expect(task.message.data).toEqual({ thing1: { value: "秋季上新" }, amount2: { value: "¥250" } });
    expect(await tasks.get(task.taskId)).toEqual(task);
  });

  it("refuses a message WeChat would refuse, storing nothing", async () => {
    await expect(createTask({ ...draft, topic: "一二三四五六七八九十一" }, deps)).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(tasks.tasks.size).toBe(0);
  });
});

describe("uploadRecipients", () => {
  it("adds distinct openids, counts duplicates and invalid rows, in batches", async () => {
    const task = await createTask(draft, deps);
    const rows = jsonRows([...openids(150), "oUser0001", "not valid!"]);
    expect(await uploadRecipients(task.taskId, rows, deps, 99)).toMatchObject({
      added: 150,
      duplicates: 1,
      invalidCount: 1,
    });
    expect((await tasks.get(task.taskId))?.recipients).toBe(150);
  });

  it("refuses a task that goes to everyone, one already sent, and one that is sent during the upload", async () => {
    const everyone = await createTask({ ...draft, audience: "all" }, deps);
    await expect(uploadRecipients(everyone.taskId, jsonRows(openids(1)), deps, 99)).rejects.toBeInstanceOf(
      ValidationError,
    );
    const sent = await sentTask(openids(3));
    await expect(
      uploadRecipients(sent.taskId, jsonRows(openids(1, "oLate")), deps, 99),
    ).rejects.toBeInstanceOf(ConflictError);
    const racing = await createTask(draft, deps);
    const addRecipients = tasks.addRecipients.bind(tasks);
    tasks.addRecipients = async (taskId, batch) => {
      if (batch[0] === "oUser0099") throw new TaskNotDraftError(false);
      return addRecipients(taskId, batch);
    };
    await expect(uploadRecipients(racing.taskId, jsonRows(openids(150)), deps, 99)).rejects.toThrow(
      /sent during the upload/,
    );
    expect((await tasks.get(racing.taskId))?.recipients).toBe(99);
  });

  it("answers NotFoundError for an unknown task", async () => {
    await expect(uploadRecipients("nope", jsonRows(openids(1)), deps, 99)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });
});

describe("sendTask", () => {
  it("starts the broadcast and its fan-out once; a second press is a conflict", async () => {
    const task = await createTask(draft, deps);
    await uploadRecipients(task.taskId, jsonRows(openids(2)), deps, 99);
    expect(await sendTask(task.taskId, deps)).toEqual({ broadcastId: taskBroadcastId(task.taskId) });
    expect(queues.pages).toEqual([{ broadcastId: taskBroadcastId(task.taskId), page: 0, cursor: null }]);
    expect((await tasks.get(task.taskId))?.status).toBe("sending");
    await expect(sendTask(task.taskId, deps)).rejects.toBeInstanceOf(ConflictError);
    expect(queues.pages).toHaveLength(1);
  });

  it("refuses a task without recipients or with its goods off the shelf, which stays a draft", async () => {
    const empty = await createTask(draft, deps);
    await expect(sendTask(empty.taskId, deps)).rejects.toThrow(/no recipients/);
    const offShelf = await createTask({ ...draft, goods: { ...draft.goods, onShelf: false } }, deps);
    await uploadRecipients(offShelf.taskId, jsonRows(openids(1)), deps, 99);
    await expect(sendTask(offShelf.taskId, deps)).rejects.toThrow(/off the shelf/);
    for (const t of [empty, offShelf]) expect((await tasks.get(t.taskId))?.status).toBe("draft");
    expect(queues.pages).toHaveLength(0);
  });

  it("re-sends a lost first fan-out message when pressed again after the grace period, not before", async () => {
    const task = await sentTask(openids(2));
    queues.pages.length = 0;
    clock.t += 30_000;
    await expect(sendTask(task.taskId, deps)).rejects.toBeInstanceOf(ConflictError);
    expect(queues.pages).toHaveLength(0);
    clock.t += 60_000;
    await expect(sendTask(task.taskId, deps)).rejects.toBeInstanceOf(ConflictError);
    expect(queues.pages).toEqual([{ broadcastId: taskBroadcastId(task.taskId), page: 0, cursor: null }]);
  });
});

describe("retryTask", () => {
  /** A sent task whose broadcast settled with these records. */
  async function settledTask(
    records: { openid: string; outcome: "sent" | "failed" | "unknown"; errcode?: number }[],
  ) {
    const task = await sentTask(records.map((r) => r.openid));
    const broadcastId = taskBroadcastId(task.taskId);
    const b = broadcasts.items.get(broadcastId);
    if (b) Object.assign(b, { fanoutDone: true, fanoutPage: 1, total: records.length, sent: records.length });
    for (const r of records)
      deliveries.records.set(`${broadcastId}/${r.openid}`, {
        broadcastId,
        attempts: 1,
        at: clock.now() - 1,
        ...r,
      });
    clock.t += 1000;
    return task;
  }

  it("re-queues only the transient failures and unknown subscribe messages, as one round", async () => {
    const task = await settledTask([
      { openid: "oA0000", outcome: "failed", errcode: -1 },
      { openid: "oB0000", outcome: "failed", errcode: 43004 },
      { openid: "oC0000", outcome: "unknown", errcode: -2 },
      { openid: "oD0000", outcome: "sent", errcode: 0 },
      { openid: "oE0000", outcome: "failed", errcode: 45011 },
    ]);
    const round = await retryTask(task.taskId, deps);
    expect(round).toEqual({ round: 1, chunks: 1, requeued: 3, at: clock.now() });
    expect(queues.chunks).toEqual([
      {
        broadcastId: taskBroadcastId(task.taskId),
        chunkId: retryChunkId(1, 0),
        openids: ["oA0000", "oE0000", "oC0000"],
        retryOf: {
          oA0000: { outcome: "failed", errcode: -1 },
          oE0000: { outcome: "failed", errcode: 45011 },
          oC0000: { outcome: "unknown", errcode: -2 },
        },
        retryAt: clock.now(),
      },
    ]);
    expect((await tasks.get(task.taskId))?.retry).toEqual(round);
  });

  it("runs one round at a time: a second waits until the first round's chunks are done", async () => {
    const task = await settledTask([{ openid: "oA0000", outcome: "failed", errcode: -1 }]);
    await retryTask(task.taskId, deps);
    await expect(retryTask(task.taskId, deps)).rejects.toThrow(/round 1 is still running/);
    tasks.doneChunks.add(`${taskBroadcastId(task.taskId)}/${retryChunkId(1, 0)}`);
    expect((await retryTask(task.taskId, deps)).round).toBe(2);
  });

  it("refuses a draft and a task still sending", async () => {
    const task = await createTask(draft, deps);
    await expect(retryTask(task.taskId, deps)).rejects.toThrow(/has not been sent/);
    const sending = await sentTask(openids(2));
    await expect(retryTask(sending.taskId, deps)).rejects.toThrow(/retry once nothing is pending/);
    expect(queues.chunks).toHaveLength(0);
  });
});
