import { beforeEach, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "../../functions/core/errors.ts";
import type { TaskDraft } from "../../functions/core/model.ts";
import { TaskNotDraftError } from "../../functions/core/ports.ts";
import { MAX_SCHEDULE_AHEAD_MS, retryChunkId, taskBroadcastId } from "../../functions/core/push-task.ts";
import {
  createTask,
  type PushTaskDeps,
  retryTask,
  sendTask,
  uploadRecipients,
} from "../../functions/core/push-tasks.ts";
import { jsonRows } from "../../functions/core/recipient-list.ts";
import { cancelSchedule, scheduleTask, sendDueTasks } from "../../functions/core/scheduled-sends.ts";
import { sampleTaskDraft } from "../fixtures/task-draft.ts";
import {
  FakeClock,
  MemoryBroadcastStore,
  MemoryDeliveryStore,
  MemoryTaskStore,
  RecordingQueues,
} from "./fakes.ts";

const draft: TaskDraft = {
  ...sampleTaskDraft,
  tips: "",
  data: { thing1: "{{topic}}", amount2: "¥{{goods.price}}" },
  page: undefined,
  goods: { ...sampleTaskDraft.goods, title: "叉车" },
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

describe("scheduled sends", () => {
  const MINUTE = 60_000;
  async function draftWith(recipients: string[]) {
    const task = await createTask(draft, deps);
    if (recipients.length > 0) await uploadRecipients(task.taskId, jsonRows(recipients), deps, 99);
    return task;
  }

  it("sends nothing before its time and starts the fan-out once it is due, exactly once", async () => {
    const task = await draftWith(openids(3));
    const at = clock.now() + 10 * MINUTE;
    expect(await scheduleTask(task.taskId, at, deps)).toEqual({ sendAt: at });
    expect(await tasks.get(task.taskId)).toMatchObject({ status: "scheduled", sendAt: at });
    clock.t = at - 1;
    expect((await sendDueTasks(deps)).started).toEqual([]);
    expect(queues.pages).toHaveLength(0);
    clock.t = at + 30_000;
    expect((await sendDueTasks(deps)).started).toEqual([task.taskId]);
    expect(queues.pages).toEqual([{ broadcastId: taskBroadcastId(task.taskId), page: 0, cursor: null }]);
    expect(await tasks.get(task.taskId)).toMatchObject({ status: "sending", sentAt: at + 30_000 });
    expect(await sendDueTasks(deps)).toEqual({ started: [], refused: [] });
    expect(queues.pages).toHaveLength(1);
  });

  it("finishes a run that stopped between the send and its fan-out message", async () => {
    const task = await draftWith(openids(2));
    await scheduleTask(task.taskId, clock.now() + MINUTE, deps);
    clock.t += 2 * MINUTE;
    const sendPage = queues.sendPage.bind(queues);
    queues.sendPage = async () => {
      throw new Error("the queue is unreachable");
    };
    await expect(sendDueTasks(deps)).rejects.toThrow(/unreachable/);
    expect((await tasks.get(task.taskId))?.status).toBe("sending");
    queues.sendPage = sendPage;
    expect((await sendDueTasks(deps)).started).toEqual([task.taskId]);
    expect(queues.pages).toHaveLength(1);
    expect(tasks.dueIds.size).toBe(0);
  });

  it("refuses a time in the past or more than 30 days ahead, and a task without recipients, changing nothing", async () => {
    const task = await draftWith(openids(1));
    await expect(scheduleTask(task.taskId, clock.now() - 1, deps)).rejects.toThrow(/has passed/);
    await expect(scheduleTask(task.taskId, clock.now(), deps)).rejects.toBeInstanceOf(ValidationError);
    await expect(scheduleTask(task.taskId, clock.now() + MAX_SCHEDULE_AHEAD_MS + 1, deps)).rejects.toThrow(
      /30 days/,
    );
    expect(await scheduleTask(task.taskId, clock.now() + MAX_SCHEDULE_AHEAD_MS, deps)).toBeDefined();
    const empty = await draftWith([]);
    await expect(scheduleTask(empty.taskId, clock.now() + MINUTE, deps)).rejects.toThrow(/no recipients/);
    const offShelf = await createTask({ ...draft, goods: { ...draft.goods, onShelf: false } }, deps);
    await uploadRecipients(offShelf.taskId, jsonRows(openids(1)), deps, 99);
    await expect(scheduleTask(offShelf.taskId, clock.now() + MINUTE, deps)).rejects.toThrow(/off the shelf/);
    expect((await tasks.get(empty.taskId))?.status).toBe("draft");
    expect((await tasks.get(offShelf.taskId))?.status).toBe("draft");
  });

  it("is never scheduled or sent twice: a scheduled or sent task is a conflict", async () => {
    const task = await draftWith(openids(2));
    await scheduleTask(task.taskId, clock.now() + MINUTE, deps);
    await expect(scheduleTask(task.taskId, clock.now() + 2 * MINUTE, deps)).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(sendTask(task.taskId, deps)).rejects.toThrow(/scheduled for .*cancel the schedule first/);
    await expect(uploadRecipients(task.taskId, jsonRows(openids(1, "oMore")), deps, 99)).rejects.toThrow(
      /scheduled/,
    );
    const sent = await sentTask(openids(2, "oSent"));
    await expect(scheduleTask(sent.taskId, clock.now() + MINUTE, deps)).rejects.toThrow(/never sent twice/);
    expect(queues.pages).toHaveLength(1);
  });

  it("cancels a scheduled task back to a draft that sends nothing at its time", async () => {
    const task = await draftWith(openids(2));
    const at = clock.now() + MINUTE;
    await scheduleTask(task.taskId, at, deps);
    await cancelSchedule(task.taskId, deps);
    expect(await tasks.get(task.taskId)).toMatchObject({ status: "draft" });
    expect((await tasks.get(task.taskId))?.sendAt).toBeUndefined();
    clock.t = at + MINUTE;
    expect((await sendDueTasks(deps)).started).toEqual([]);
    expect(queues.pages).toHaveLength(0);
    await expect(cancelSchedule(task.taskId, deps)).rejects.toThrow(/not scheduled/);
    const sent = await sentTask(openids(1, "oSent"));
    await expect(cancelSchedule(sent.taskId, deps)).rejects.toThrow(/cannot be cancelled/);
    await expect(cancelSchedule("missing", deps)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("checks the guards again at its time: a refused send goes back to draft with the reason", async () => {
    const task = await draftWith(openids(2));
    await scheduleTask(task.taskId, clock.now() + MINUTE, deps);
    const stored = tasks.tasks.get(task.taskId);
    if (stored) stored.goods = { ...stored.goods, onShelf: false };
    clock.t += 2 * MINUTE;
    const run = await sendDueTasks(deps);
    expect(run.started).toEqual([]);
    expect(run.refused).toEqual([{ taskId: task.taskId, reason: expect.stringMatching(/off the shelf/) }]);
    expect(await tasks.get(task.taskId)).toMatchObject({
      status: "draft",
      scheduleError: expect.stringMatching(/off the shelf/),
    });
    expect(queues.pages).toHaveLength(0);
  });
});
