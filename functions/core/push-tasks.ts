/**
 * The push-task use cases: create a task, upload its recipients, send it once, re-send its
 * transient failures, and restart a send whose first fan-out message was lost (scheduled sends:
 * scheduled-sends.ts). Ports in, results out: the routes only parse, call one of these and shape the answer.
 */
import { CHUNK_SIZE } from "../../common/definitions.ts";
import { ConflictError, NotFoundError, type RefusedError, ValidationError } from "./errors.ts";
import type { ChunkMessage, RetriedFailure, TaskDraft } from "./model.ts";
import {
  type BroadcastStore,
  type Clock,
  type FanoutQueue,
  type SendQueue,
  type SendRefusal,
  type TaskDeliveryReader,
  TaskNotDraftError,
  type TaskStore,
} from "./ports.ts";
import {
  isRetryableFailure,
  type PushTask,
  prepareTaskMessage,
  type RetryRound,
  retryChunkId,
  taskBroadcastId,
  taskProgress,
} from "./push-task.ts";
import { importRecipients, type RecipientRow, type UploadReport } from "./recipient-list.ts";

/** A retry round still being queued after this long was cut short (a crash); another may start. */
const RETRY_QUEUEING_MS = 5 * 60_000;
/** A sent task whose fan-out has not begun after this long had its first message lost: re-send it. */
const FANOUT_START_GRACE_MS = 60_000;
/** Retry chunks queued per SendMessageBatch round trip. */
const CHUNKS_PER_SEND = 10;

export interface PushTaskDeps {
  readonly tasks: TaskStore;
  readonly broadcasts: Pick<BroadcastStore, "get">;
  readonly deliveries: TaskDeliveryReader;
  readonly fanoutQueue: Pick<FanoutQueue, "sendPage">;
  readonly sendQueue: SendQueue;
  readonly clock: Clock;
  /** A new task id for a task created at `now`: sortable by time and hard to guess. */
  readonly newTaskId: (now: number) => string;
}

/** A task exactly as stored, or NotFoundError. */
export async function loadTask(taskId: string, deps: Pick<PushTaskDeps, "tasks">): Promise<PushTask> {
  const task = await deps.tasks.get(taskId);
  if (!task) throw new NotFoundError("no task with this id");
  return task;
}

/** Creates a draft: its message rendered and checked against WeChat's value rules once, now. */
export async function createTask(draft: TaskDraft, deps: PushTaskDeps): Promise<PushTask> {
  const message = prepareTaskMessage(draft);
  const now = deps.clock.now();
  const task: PushTask = {
    ...draft,
    taskId: deps.newTaskId(now),
    status: "draft",
    recipients: 0,
    message,
    createdAt: now,
  };
  await deps.tasks.create(task);
  return task;
}

/**
 * Adds an upload's rows to a draft's list in batches of `batchSize` as they are read: duplicates and
 * invalid rows are counted, and a send that begins meanwhile stops the upload (nothing joins a sent task).
 */
export async function uploadRecipients(
  taskId: string,
  rows: Iterable<RecipientRow>,
  deps: PushTaskDeps,
  batchSize: number,
): Promise<UploadReport> {
  const task = await loadTask(taskId, deps);
  if (task.audience !== "uploaded")
    throw new ValidationError("this task goes to all active subscribers; it takes no recipient list");
  if (task.status === "scheduled")
    throw new ConflictError("the task is scheduled; cancel the schedule to change its recipients");
  if (task.status !== "draft") throw new ConflictError("the task was sent; its recipients are fixed");
  try {
    return await importRecipients(rows, (batch) => deps.tasks.addRecipients(task.taskId, batch), {
      batchSize,
    });
  } catch (error) {
    if (!(error instanceof TaskNotDraftError)) throw error;
    if (error.missing) throw new NotFoundError("no task with this id", { cause: error });
    throw new ConflictError("the task was sent during the upload; rows after that were not added", {
      cause: error,
    });
  }
}

/** Why a task that is not a draft can be neither sent nor scheduled now. */
export function notDraft(task: PushTask): ConflictError {
  return task.status === "scheduled"
    ? new ConflictError(
        `the task is scheduled for ${new Date(task.sendAt ?? 0).toISOString()}; cancel the schedule first`,
      )
    : new ConflictError("the task was sent already; it is never sent twice");
}

/** The refusal of a conditional send or schedule, as the operator reads it. */
export function refusalError(refusal: SendRefusal, task: PushTask): RefusedError {
  switch (refusal) {
    case "missing":
      return new NotFoundError("no task with this id");
    case "not_draft":
      return new ConflictError("the task was sent or scheduled meanwhile; it is never sent twice");
    case "no_recipients":
      return new ValidationError("the task has no recipients: upload some first (it stays a draft)");
    case "off_shelf":
      return new ValidationError(`goods ${task.goods.id} is off the shelf: put it on sale first`);
  }
}

/**
 * Sends a draft once: its state moves to sending and its broadcast is created in one conditional
 * write, refused (changing nothing) without recipients or with the goods off the shelf; then the
 * fan-out starts. A second press is a conflict, and restarts a fan-out whose first message was lost.
 */
export async function sendTask(
  taskId: string,
  deps: PushTaskDeps,
): Promise<{ readonly broadcastId: string }> {
  const task = await loadTask(taskId, deps);
  const now = deps.clock.now();
  const broadcastId = taskBroadcastId(task.taskId);
  if (task.status === "sending") await restartStalledFanout(broadcastId, now, deps);
  if (task.status !== "draft") throw notDraft(task);
  const started = await deps.tasks.startSend(task, dispatchOf(task), now);
  if (started !== true) throw refusalError(started, task);
  await deps.fanoutQueue.sendPage({ broadcastId, page: 0, cursor: null });
  return { broadcastId };
}

/** What a task's broadcast carries: its audience and its rendered message. */
export const dispatchOf = (task: PushTask) => ({
  taskId: task.taskId,
  audience: task.audience,
  message: task.message,
  ...(task.ignoreQuietHours ? { ignoreQuietHours: true } : {}),
});

/**
 * A send whose first fan-out message was lost (the request failed between its write and the
 * queue) would wait forever; a later press re-sends that message. Harmless if it was not lost:
 * the fan-out recognises a page it has done and the senders a chunk they have settled.
 */
export async function restartStalledFanout(
  broadcastId: string,
  now: number,
  deps: Pick<PushTaskDeps, "broadcasts" | "fanoutQueue">,
): Promise<void> {
  const broadcast = await deps.broadcasts.get(broadcastId);
  const stalled =
    broadcast !== undefined &&
    broadcast.fanoutPage === 0 &&
    !broadcast.fanoutDone &&
    now - broadcast.createdAt > FANOUT_START_GRACE_MS;
  if (stalled) await deps.fanoutQueue.sendPage({ broadcastId, page: 0, cursor: null });
}

/**
 * Re-queues the task's transient failures (WeChat busy, rate-limited, unreachable, token refused)
 * and its unknown subscribe messages as chunks of a new retry round; permanent failures and skipped
 * recipients stay as they are. Only once the task is done and any earlier round has settled, and one
 * round at a time, so no recipient is in two chunks at once.
 */
export async function retryTask(taskId: string, deps: PushTaskDeps): Promise<RetryRound> {
  const task = await loadTask(taskId, deps);
  if (task.status !== "sending") throw new ConflictError("the task has not been sent");
  const broadcastId = taskBroadcastId(task.taskId);
  const progress = taskProgress(task, await deps.broadcasts.get(broadcastId));
  if (progress.status !== "done")
    throw new ConflictError(`the task is ${progress.status}; retry once nothing is pending`);
  const now = deps.clock.now();
  const previous = task.retry;
  if (previous) {
    const queueing = previous.chunks < 0 && now - previous.at < RETRY_QUEUEING_MS;
    const ids = Array.from({ length: Math.max(0, previous.chunks) }, (_, i) =>
      retryChunkId(previous.round, i),
    );
    if (queueing || !(await deps.tasks.chunksDone(broadcastId, ids)))
      throw new ConflictError(`retry round ${previous.round} is still running`);
  }
  const round = (previous?.round ?? 0) + 1;
  if (!(await deps.tasks.beginRetry(task.taskId, round, now)))
    throw new ConflictError("another retry of this task has just started");
  const queued = await queueRetryChunks(broadcastId, round, now, deps);
  const retry = { round, ...queued, at: now };
  await deps.tasks.finishRetry(task.taskId, retry);
  return retry;
}

/** Reads the broadcast's retryable records page by page and queues them in chunks as it goes. */
async function queueRetryChunks(
  broadcastId: string,
  round: number,
  now: number,
  deps: PushTaskDeps,
): Promise<{ chunks: number; requeued: number }> {
  let chunks = 0;
  let requeued = 0;
  let pending: ChunkMessage[] = [];
  let members: Record<string, RetriedFailure> = {};
  const cut = () => {
    const openids = Object.keys(members);
    if (openids.length === 0) return;
    pending.push({
      broadcastId,
      chunkId: retryChunkId(round, chunks),
      openids,
      retryOf: members,
      retryAt: now,
    });
    chunks += 1;
    requeued += openids.length;
    members = {};
  };
  for (const outcome of ["failed", "unknown"] as const) {
    let after: string | undefined;
    do {
      const page = await deps.deliveries.listPage(broadcastId, {
        limit: 500,
        outcome,
        ...(after ? { after } : {}),
      });
      for (const record of page.items) {
        if (!isRetryableFailure(record) || record.at >= now) continue;
        members[record.openid] = { outcome, errcode: record.errcode ?? 0 };
        if (Object.keys(members).length >= CHUNK_SIZE) cut();
      }
      if (pending.length >= CHUNKS_PER_SEND) {
        await deps.sendQueue.sendChunks(pending);
        pending = [];
      }
      after = page.next ?? undefined;
    } while (after);
  }
  cut();
  if (pending.length > 0) await deps.sendQueue.sendChunks(pending);
  return { chunks, requeued };
}
