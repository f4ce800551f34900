/**
 * The follower-sync use cases: start a sync (or resume the paused or stalled one), and run it from
 * its queue, one page of WeChat's follower list at a time. Ports in, results out: the route and the
 * handler only parse, call one of these and shape the answer.
 *
 * Exactly-once counting: a page's followers are written first, then the page is recorded (cursor and
 * counts) in one conditional write on the sync's lease and cursor. A run that stops in between leaves
 * the page unrecorded; the next run reads it again, and the importer counts the subscribers that page
 * created before as imported again (they carry the sync's and the page's mark), so the counts come
 * out as if it had run once.
 */
import type { SyncView } from "../contracts/api.ts";
import type { SyncMessage } from "../contracts/messages.ts";
import { TokenUnavailableError } from "./access-token.ts";
import { classifyErrcode, TRANSPORT_ERRCODE } from "./errcodes.ts";
import { ConflictError } from "./errors.ts";
import {
  type FollowerListAnswer,
  type FollowerSync,
  isLive,
  isResumable,
  isStalled,
  readPage,
  type SyncStatus,
  startingSync,
  syncError,
} from "./follower-sync.ts";
import {
  type AccessTokenProvider,
  type Clock,
  type FollowerImporter,
  type FollowerLister,
  type SyncQueue,
  type SyncStore,
  WeChatTransportError,
} from "./ports.ts";

/** A message must be picked up within its delay and this long, or its sync counts as stalled. */
export const HANDOVER_MS = 60_000;
/** Waits in a row (for a token, or out of transient failures) before the sync pauses, saying why. */
export const MAX_WAITS = 8;
/** How long one run waits for a usable token before it hands the sync to a later message. */
const TOKEN_WAIT_MS = 10_000;
/** Refusals of the token in one run before it waits for a newer one through the queue. */
const MAX_REFUSALS = 2;

/** Seconds before the next try after `waits` waits in a row: 5, 10, 20… up to SQS's 15 minutes. */
export function waitSeconds(waits: number): number {
  return Math.min(5 * 2 ** waits, 900);
}

export interface StartSyncDeps {
  readonly syncs: SyncStore;
  readonly queue: SyncQueue;
  readonly clock: Clock;
  /** A new sync id for a sync started at `now`: sortable by time and hard to guess. */
  readonly newSyncId: (now: number) => string;
  /** A new, unguessable lease. */
  readonly newLease: () => string;
}

/**
 * Starts a sync, or resumes the latest one from its cursor when it paused or stalled (its worker
 * gone); ConflictError while one runs. One sync at a time.
 */
export async function startSync(deps: StartSyncDeps): Promise<{ syncId: string; resumed: boolean }> {
  const now = deps.clock.now();
  const latest = await deps.syncs.latest();
  const lease = deps.newLease();
  const leaseUntil = now + HANDOVER_MS;
  if (latest && isLive(latest, now))
    throw new ConflictError(
      `follower sync ${latest.syncId} is running: one sync at a time, start again once it has ended`,
    );
  if (latest && isResumable(latest, now)) {
    if (!(await deps.syncs.resume(latest.syncId, lease, leaseUntil, now)))
      throw new ConflictError(`follower sync ${latest.syncId} was resumed by another request just now`);
    await deps.queue.send({ syncId: latest.syncId, lease }, 0);
    return { syncId: latest.syncId, resumed: true };
  }
  const sync = startingSync(deps.newSyncId(now), lease, leaseUntil, now);
  if (!(await deps.syncs.create(sync, latest?.syncId ?? null)))
    throw new ConflictError("another follower sync was started just now");
  await deps.queue.send({ syncId: sync.syncId, lease }, 0);
  return { syncId: sync.syncId, resumed: false };
}

/** A sync as the API shows it: a running one whose worker is gone reads as paused, with the reason. */
export function syncProgress(sync: FollowerSync, now: number): SyncView {
  const stalled = isStalled(sync, now);
  const error = stalled
    ? "interrupted: its worker stopped (a crash or a timeout); it goes on by itself when its message comes back, or at once when the sync is started again"
    : sync.error;
  return {
    status: stalled ? "paused" : sync.status,
    pages: sync.pages,
    imported: sync.imported,
    alreadyKnown: sync.alreadyKnown,
    ...(error ? { error } : {}),
  };
}

export interface RunSyncDeps {
  readonly syncs: SyncStore;
  readonly queue: SyncQueue;
  readonly followers: FollowerLister;
  readonly importer: FollowerImporter;
  readonly tokens: AccessTokenProvider;
  readonly clock: Clock;
  readonly newLease: () => string;
}

export interface RunWindow {
  /** The run's lease lasts until then: the invocation's end and a margin. */
  readonly leaseUntil: number;
  /** A page is started only if it can end by then (the invocation's end, less a WeChat call). */
  readonly finishBy: number;
}

export type SyncRun =
  /** A stale duplicate message, or the sync is not running: nothing done. */
  | { readonly kind: "dropped" }
  /** The run lost its lease (taken over after it stalled): the new holder goes on. */
  | { readonly kind: "lost"; readonly pages: number }
  | {
      readonly kind: "ended";
      readonly status: Exclude<SyncStatus, "running">;
      readonly pages: number;
      readonly error?: string;
      /** WeChat's errcode that stopped it. */
      readonly errcode?: number;
    }
  /** Handed to a message delivered after `delaySeconds`: out of time, or waiting for a token or WeChat. */
  | {
      readonly kind: "continued";
      readonly pages: number;
      readonly delaySeconds: number;
      readonly reason: "deadline" | "token" | "transient";
      readonly detail?: string;
    };

/**
 * Runs a sync from its queue message: claims it, then reads, imports and records pages until the
 * list ends, the invocation's time is up, or WeChat says stop. 45009 (user/get's daily quota) pauses
 * it; a refused token is reported (a refresh is asked for) and the run goes on with the next token;
 * transient failures and a missing token wait through the queue, and pause it after MAX_WAITS.
 */
export async function runSync(message: SyncMessage, deps: RunSyncDeps, window: RunWindow): Promise<SyncRun> {
  const { syncs, clock } = deps;
  const { syncId } = message;
  const lease = deps.newLease();
  const claimed = await syncs.claim(syncId, message.lease, lease, window.leaseUntil, clock.now());
  if (!claimed) return { kind: "dropped" };
  let { cursor, pages } = claimed;
  let read = 0;
  let slowestMs = 0;
  let refusals = 0;
  let waits = message.waits ?? 0;

  const end = async (
    status: Exclude<SyncStatus, "running">,
    error?: string,
    errcode?: number,
  ): Promise<SyncRun> => {
    const ended = await syncs.finish(syncId, lease, { status, ...(error ? { error } : {}) }, clock.now());
    if (!ended) return { kind: "lost", pages: read };
    return {
      kind: "ended",
      status,
      pages: read,
      ...(error ? { error } : {}),
      ...(errcode === undefined ? {} : { errcode }),
    };
  };
  const handOver = async (
    reason: "deadline" | "token" | "transient",
    delaySeconds: number,
    detail?: string,
  ): Promise<SyncRun> => {
    const next = deps.newLease();
    const until = clock.now() + delaySeconds * 1000 + HANDOVER_MS;
    if (!(await syncs.handOver(syncId, lease, next, until))) return { kind: "lost", pages: read };
    await deps.queue.send({ syncId, lease: next, ...(waits > 0 ? { waits } : {}) }, delaySeconds);
    return { kind: "continued", pages: read, delaySeconds, reason, ...(detail ? { detail } : {}) };
  };
  const wait = (reason: "token" | "transient", error: string, errcode?: number): Promise<SyncRun> => {
    if (waits >= MAX_WAITS) return end("paused", error, errcode);
    const delay = waitSeconds(waits);
    waits += 1;
    return handOver(reason, delay, error);
  };

  for (;;) {
    const startedAt = clock.now();
    if (read > 0 && startedAt + slowestMs > window.finishBy) return handOver("deadline", 0);
    let token: string;
    try {
      token = await deps.tokens.get(Math.min(window.finishBy, startedAt + TOKEN_WAIT_MS));
    } catch (error) {
      if (!(error instanceof TokenUnavailableError)) throw error;
      return wait("token", error.message);
    }
    const reading = readPage(await listPage(deps.followers, token, cursor));
    if (reading.kind === "end") return end("done");
    if (reading.kind === "error") {
      const { errcode, errmsg } = reading;
      switch (classifyErrcode(errcode)) {
        case "token":
          await deps.tokens.reject(token);
          refusals += 1;
          if (refusals < MAX_REFUSALS) continue;
          return wait("token", syncError(errcode, `WeChat refused the access token: ${errmsg}`), errcode);
        case "transient":
          return wait("transient", syncError(errcode, errmsg), errcode);
        case "quota":
          return end(
            "paused",
            syncError(
              errcode,
              `user/get's daily quota is used up (500 calls a day unless raised); it resets at midnight ` +
                `Beijing time: start the sync again then to go on from page ${pages + 1} (${errmsg})`,
            ),
            errcode,
          );
        default:
          return end("failed", syncError(errcode, errmsg), errcode);
      }
    }
    const counts = await deps.importer.importFollowers(
      reading.openids,
      { syncId, page: pages },
      startedAt,
      clock.now(),
    );
    const last = reading.next === null;
    const recorded = await syncs.recordPage(
      syncId,
      lease,
      { cursor, page: pages },
      { next: reading.next ?? cursor, ...counts },
      last,
      clock.now(),
    );
    if (!recorded) return { kind: "lost", pages: read };
    read += 1;
    pages += 1;
    waits = 0;
    slowestMs = Math.max(slowestMs, clock.now() - startedAt);
    if (reading.next === null) return { kind: "ended", status: "done", pages: read };
    cursor = reading.next;
  }
}

/** One user/get call; no answer at all reads as WeChat's transport errcode (transient). */
async function listPage(
  followers: FollowerLister,
  token: string,
  cursor: string,
): Promise<FollowerListAnswer> {
  try {
    return await followers.followerPage(token, cursor);
  } catch (error) {
    if (!(error instanceof WeChatTransportError)) throw error;
    return { errcode: TRANSPORT_ERRCODE, errmsg: error.message, nextOpenid: "" };
  }
}
