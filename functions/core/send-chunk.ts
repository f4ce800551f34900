import { createHash } from "node:crypto";
import { classifyErrcode, TRANSPORT_ERRCODE } from "./errcodes.ts";
import type { Broadcast, Channel, ChunkMessage, ChunkTally, DeliveryRecord } from "./model.ts";
import {
  type AccessTokenProvider,
  type BroadcastStore,
  type ChunkRef,
  type Clock,
  type DeliveryStore,
  type SubscriberStatusStore,
  type SubscriptionCreditStore,
  type TaskMessenger,
  type WeChatMessenger,
  type WeChatResult,
  WeChatTransportError,
} from "./ports.ts";
import { NO_CREDIT, type TaskDispatch, type TaskSendSettings, taskRequest } from "./push-task.ts";

export interface SendChunkDeps {
  readonly broadcasts: BroadcastStore;
  readonly deliveries: DeliveryStore;
  readonly subscribers: SubscriberStatusStore;
  readonly wechat: WeChatMessenger;
  readonly tokens: AccessTokenProvider;
  readonly clock: Clock;
  /** Loads the broadcast (its message), usually memoised per container. */
  readonly loadBroadcast: (broadcastId: string) => Promise<Broadcast | undefined>;
  /** Push tasks: subscribe-message credits, the client for task messages and their settings. */
  readonly tasks?: {
    readonly credits: SubscriptionCreditStore;
    readonly wechat: TaskMessenger;
    readonly settings: TaskSendSettings;
  };
}

export interface SendChunkOptions {
  /** This delivery's ApproximateReceiveCount. */
  readonly receiveCount: number;
  /** The queue's maxReceiveCount: on the last receive, transient failures are recorded as failed. */
  readonly maxReceiveCount: number;
  /** How long the chunk claim lasts; at least the function timeout. */
  readonly leaseMs: number;
  /** WeChat calls per recipient for transient errors before leaving it to the queue's retry. */
  readonly attemptsPerReceive?: number;
  readonly backoffBaseMs?: number;
  /** Records written per DeliveryStore.putMany call, so a crash re-sends at most this many. */
  readonly flushEvery?: number;
}

export type SendChunkResult =
  /** Every recipient settled (now or earlier): delete the message. */
  | { readonly kind: "settled"; readonly tally: ChunkTally | null }
  /** Some recipients still pending: let the queue deliver the message again. */
  | { readonly kind: "retry"; readonly reason: "busy" | "transient" | "quota"; readonly pending: number };

/** Raised when a chunk names a broadcast that does not exist: a poison message. */
export class UnknownBroadcastError extends Error {
  override readonly name = "UnknownBroadcastError";
}

/** The template `client_msg_id`: the same for every retry to one recipient, so WeChat sends it once. */
export function clientMsgId(broadcastId: string, openid: string): string {
  return createHash("sha256").update(`${broadcastId}\n${openid}`).digest("base64url").slice(0, 32);
}

/** WeChat's "require subscribe": the user no longer follows the account. */
const UNFOLLOWED = 43004;
/** Subscribe message refused: the user's one-time subscription is used up or was cancelled. */
const NO_SUBSCRIPTION = 43101;
/**
 * Recorded for a customer-service or subscribe message whose call may have been delivered but got no
 * answer: WeChat de-duplicates neither, so it is not sent again.
 */
export const OUTCOME_UNKNOWN =
  "no answer from WeChat, delivery unknown; not re-sent (this message type cannot be de-duplicated)";
const UNKNOWN: WeChatResult = { errcode: TRANSPORT_ERRCODE, errmsg: OUTCOME_UNKNOWN };

type Attempt =
  | { readonly settled: DeliveryRecord }
  | { readonly pending: "transient" | "quota"; readonly last: WeChatResult };

/**
 * Delivers one chunk: skips recipients already settled by an earlier delivery of the same chunk,
 * sends to the rest (a customer-service message to those with a tracked open window, the template
 * message to everyone else and whenever WeChat says the window is gone),
 * records each outcome and, once every recipient is settled, adds the chunk's tally to the broadcast
 * exactly once.
 */
export async function sendChunk(
  chunk: ChunkMessage,
  deps: SendChunkDeps,
  opts: SendChunkOptions,
): Promise<SendChunkResult> {
  const { broadcasts, deliveries, clock } = deps;
  const broadcast = await deps.loadBroadcast(chunk.broadcastId);
  if (!broadcast) throw new UnknownBroadcastError(`broadcast ${chunk.broadcastId} does not exist`);

  const claim = await broadcasts.claimChunk(chunk.broadcastId, chunk.chunkId, opts.leaseMs, clock.now());
  if (claim === "done") return { kind: "settled", tally: null };
  if (claim === "busy") return { kind: "retry", reason: "busy", pending: chunk.openids.length };

  // A chunk nobody claimed before has no records yet (a retry's recipients have theirs elsewhere):
  // skipping the read saves DynamoDB a lookup per recipient on the common path.
  const settled =
    claim === "first" && chunk.retryOf === undefined
      ? new Map<string, DeliveryRecord>()
      : await deliveries.getSettled(chunk, chunk.openids);
  // An operator's retry re-does the failures it re-queued (records from before it), not its own.
  for (const openid of Object.keys(chunk.retryOf ?? {})) {
    const record = settled.get(openid);
    if (record && record.outcome === "failed" && record.at < (chunk.retryAt ?? 0)) settled.delete(openid);
  }
  const todo = chunk.openids.filter((openid) => !settled.has(openid));
  const lastReceive = opts.receiveCount >= opts.maxReceiveCount;
  const run = new ChunkRun(
    broadcast,
    deps,
    opts,
    lastReceive,
    new Set(chunk.windowed),
    chunk.retryOf !== undefined,
  );

  const writer = new RecordWriter(deliveries, chunk, opts.flushEvery ?? 25);
  const outcomes = await Promise.all(
    todo.map(async (openid) => {
      const attempt = await run.deliver(openid);
      if ("settled" in attempt) {
        settled.set(openid, attempt.settled);
        writer.add(attempt.settled);
      }
      return attempt;
    }),
  );
  await writer.flush();
  const unfollowed = outcomes.flatMap((o) =>
    "settled" in o && o.settled.errcode === UNFOLLOWED ? [o.settled.openid] : [],
  );
  if (unfollowed.length > 0) await deps.subscribers.markUnfollowed(unfollowed, clock.now());

  const pending = outcomes.filter((o) => "pending" in o);
  if (run.quotaHit) await broadcasts.setPaused(chunk.broadcastId, true);
  if (pending.length > 0) {
    await broadcasts.releaseChunk(chunk.broadcastId, chunk.chunkId);
    return { kind: "retry", reason: run.quotaHit ? "quota" : "transient", pending: pending.length };
  }
  if (broadcast.paused && todo.length > 0) await broadcasts.setPaused(chunk.broadcastId, false);
  const tally = withoutRetried(tallyOf(settled.values()), chunk.retryOf);
  await broadcasts.completeChunk(chunk.broadcastId, chunk.chunkId, tally);
  return { kind: "settled", tally };
}

/**
 * A retry chunk's tally replaces the failures it re-did: they were counted when first settled, so
 * they come off the counters in the same write that adds their new outcomes.
 */
function withoutRetried(tally: ChunkTally, retryOf: ChunkMessage["retryOf"]): ChunkTally {
  if (!retryOf) return tally;
  const byErrcode: Record<string, number> = { ...tally.byErrcode };
  for (const errcode of Object.values(retryOf))
    byErrcode[String(errcode)] = (byErrcode[String(errcode)] ?? 0) - 1;
  return { ...tally, failed: tally.failed - Object.keys(retryOf).length, byErrcode };
}

/** The per-invocation state of one chunk's delivery. */
class ChunkRun {
  quotaHit = false;
  private readonly attemptsPerReceive: number;
  private readonly backoffBaseMs: number;

  constructor(
    private readonly broadcast: Broadcast,
    private readonly deps: SendChunkDeps,
    opts: SendChunkOptions,
    private readonly lastReceive: boolean,
    private readonly windowed: ReadonlySet<string>,
    /** An operator asked to re-send: a reservation in doubt is used anyway. */
    private readonly operatorRetry = false,
  ) {
    this.attemptsPerReceive = opts.attemptsPerReceive ?? 3;
    this.backoffBaseMs = opts.backoffBaseMs ?? 200;
  }

  /**
   * The customer-service message only while a tracked window has a message left (using it up
   * atomically); otherwise the template message straight away, without a call doomed to 45015.
   * `in_doubt`: an earlier delivery of this chunk took the window for this broadcast and stopped
   * before an answer said the call failed.
   */
  private async firstChannel(openid: string): Promise<Channel | "in_doubt"> {
    if (!this.windowed.has(openid)) return "template";
    const use = await this.deps.subscribers.consumeWindow(
      openid,
      this.broadcast.broadcastId,
      this.deps.clock.now(),
    );
    return use === "taken" ? "custom" : use === "none" ? "template" : "in_doubt";
  }

  /** WeChat answered the customer-service call without delivering it. */
  private releaseWindow(openid: string, refund: boolean): Promise<void> {
    return this.deps.subscribers.releaseWindow(openid, this.broadcast.broadcastId, refund);
  }

  async deliver(openid: string): Promise<Attempt> {
    if (this.broadcast.task) return this.deliverTask(openid, this.broadcast.task);
    const first = await this.firstChannel(openid);
    if (first === "in_doubt") return { settled: this.record(openid, "failed", "custom", UNKNOWN, 0) };
    return this.sendWithRetries(openid, first, {
      call: (channel) => this.call(channel, openid),
      // WeChat closed the window early: the message stays used, the template message goes instead.
      fallback: async (channel) => {
        if (channel !== "custom") return undefined;
        await this.releaseWindow(openid, false);
        return "template";
      },
      // The window message was not used: the retry (or the next broadcast) may use it.
      undelivered: async (channel) => {
        if (channel === "custom") await this.releaseWindow(openid, true);
      },
    });
  }

  /**
   * A push task's message. A subscribe message first uses one of the user's credits (none: skipped,
   * WeChat not called), reserved once per task and user so a retry never uses a second one; its
   * reservation says whether a call may already have delivered it, since WeChat cannot de-duplicate
   * subscribe messages: then the recipient is recorded as unknown rather than messaged twice.
   */
  private async deliverTask(openid: string, task: TaskDispatch): Promise<Attempt> {
    const tasks = this.tasks();
    const { message } = task;
    if (message.channel !== "subscribe")
      return this.sendWithRetries(openid, message.channel, { call: () => this.callTask(openid, message) });
    const { broadcastId } = this.broadcast;
    const credit = await tasks.credits.reserve(
      openid,
      message.templateId,
      broadcastId,
      this.deps.clock.now(),
    );
    if (credit === "none") return { settled: this.skipped(openid, NO_CREDIT) };
    if (credit === "in_doubt" && !this.operatorRetry)
      return { settled: this.record(openid, "failed", "subscribe", UNKNOWN, 0) };
    return this.sendWithRetries(openid, "subscribe", {
      call: () => this.callTask(openid, message),
      // WeChat answered and did not deliver: the reservation waits for the next try.
      undelivered: () => tasks.credits.hold(openid, broadcastId),
      // 43101: WeChat has no credit for this user; ours is used up too, and stays so.
      refused: async (result) => {
        if (result.errcode === NO_SUBSCRIPTION) await tasks.credits.revoke(openid, message.templateId);
      },
    });
  }

  /**
   * Calls WeChat for one recipient until it delivers, refuses for good, or the recipient is left to
   * the queue's retry: a stale token is fetched again once, transient failures are retried with
   * backoff, 45009 pauses the broadcast. Only template messages carry `client_msg_id`, so a call of
   * another kind that got no answer is recorded as unknown rather than made again.
   */
  private async sendWithRetries(
    openid: string,
    firstChannel: Channel,
    hooks: {
      readonly call: (channel: Channel) => Promise<WeChatResult>;
      /** The channel to try after a window refusal (45015/45047); none: the refusal is recorded. */
      readonly fallback?: (channel: Channel) => Promise<Channel | undefined>;
      /** WeChat answered without delivering, and this receive gives up on the recipient. */
      readonly undelivered?: (channel: Channel) => Promise<void>;
      /** WeChat refused the message for good. */
      readonly refused?: (result: WeChatResult) => Promise<void>;
    },
  ): Promise<Attempt> {
    let channel = firstChannel;
    let calls = 0;
    let transientFailures = 0;
    let tokenRetried = false;
    const giveUp = async (reason: "transient" | "quota", last: WeChatResult): Promise<Attempt> => {
      await hooks.undelivered?.(channel);
      if (reason === "transient" && this.lastReceive)
        return { settled: this.record(openid, "failed", channel, last, calls) };
      return { pending: reason, last };
    };
    for (;;) {
      if (this.quotaHit) return giveUp("quota", { errcode: 45009, errmsg: "paused" });
      calls += 1;
      const result = await hooks.call(channel);
      switch (classifyErrcode(result.errcode)) {
        case "ok":
          return { settled: this.record(openid, "sent", channel, result, calls) };
        case "window": {
          const next = await hooks.fallback?.(channel);
          if (next === undefined) return { settled: this.record(openid, "failed", channel, result, calls) };
          channel = next;
          break;
        }
        case "token":
          if (tokenRetried) return giveUp("transient", result);
          tokenRetried = true;
          break;
        case "transient":
          if (channel !== "template" && result.errcode === TRANSPORT_ERRCODE)
            return { settled: this.record(openid, "failed", channel, UNKNOWN, calls) };
          transientFailures += 1;
          if (transientFailures >= this.attemptsPerReceive) return giveUp("transient", result);
          await this.backoff(transientFailures);
          break;
        case "quota":
          this.quotaHit = true;
          return giveUp("quota", result);
        case "permanent":
          await hooks.refused?.(result);
          return { settled: this.record(openid, "failed", channel, result, calls) };
      }
    }
  }

  private tasks(): NonNullable<SendChunkDeps["tasks"]> {
    if (!this.deps.tasks) throw new Error("this sender is not set up for push tasks");
    return this.deps.tasks;
  }

  private async callTask(openid: string, message: TaskDispatch["message"]): Promise<WeChatResult> {
    const { tokens } = this.deps;
    const tasks = this.tasks();
    const token = await tokens.get();
    try {
      const request = taskRequest(
        message,
        openid,
        tasks.settings,
        clientMsgId(this.broadcast.broadcastId, openid),
      );
      const result = await tasks.wechat.sendTaskMessage(token, request);
      if (classifyErrcode(result.errcode) === "token") await tokens.invalidate(token);
      return result;
    } catch (error) {
      if (error instanceof WeChatTransportError) return { errcode: TRANSPORT_ERRCODE, errmsg: error.message };
      throw error;
    }
  }

  /** Settled without a WeChat call. */
  private skipped(openid: string, reason: string): DeliveryRecord {
    return {
      broadcastId: this.broadcast.broadcastId,
      openid,
      outcome: "skipped",
      errmsg: reason,
      attempts: 0,
      at: this.deps.clock.now(),
    };
  }

  private async call(channel: Channel, openid: string): Promise<WeChatResult> {
    const { wechat, tokens } = this.deps;
    const { message } = this.broadcast;
    if (!message) throw new UnknownBroadcastError(`broadcast ${this.broadcast.broadcastId} has no message`);
    const token = await tokens.get();
    try {
      const result =
        channel === "custom"
          ? await wechat.sendCustomText(token, openid, message.customText)
          : await wechat.sendTemplate(
              token,
              openid,
              message.template,
              clientMsgId(this.broadcast.broadcastId, openid),
            );
      if (classifyErrcode(result.errcode) === "token") await tokens.invalidate(token);
      return result;
    } catch (error) {
      if (error instanceof WeChatTransportError) return { errcode: TRANSPORT_ERRCODE, errmsg: error.message };
      throw error;
    }
  }

  private backoff(failures: number): Promise<void> {
    const ceiling = this.backoffBaseMs * 2 ** (failures - 1);
    return this.deps.clock.sleep(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  private record(
    openid: string,
    outcome: DeliveryRecord["outcome"],
    channel: Channel,
    result: WeChatResult,
    attempts: number,
  ): DeliveryRecord {
    return {
      broadcastId: this.broadcast.broadcastId,
      openid,
      outcome,
      channel,
      errcode: result.errcode,
      errmsg: result.errmsg,
      ...(result.msgid === undefined ? {} : { msgid: result.msgid }),
      attempts,
      at: this.deps.clock.now(),
    };
  }
}

/** Buffers delivery records and writes them in groups, so progress survives a crash mid-chunk. */
class RecordWriter {
  private buffer: DeliveryRecord[] = [];
  private writes: Promise<void>[] = [];

  constructor(
    private readonly store: DeliveryStore,
    private readonly chunk: ChunkRef,
    private readonly groupSize: number,
  ) {}

  add(record: DeliveryRecord): void {
    this.buffer.push(record);
    if (this.buffer.length >= this.groupSize) this.startWrite();
  }

  async flush(): Promise<void> {
    if (this.buffer.length > 0) this.startWrite();
    await Promise.all(this.writes);
  }

  private startWrite(): void {
    const group = this.buffer;
    this.buffer = [];
    const write = this.store.putMany(this.chunk, group);
    // Observed by flush(); without this a failed write would be an unhandled rejection until then.
    write.catch(() => {});
    this.writes.push(write);
  }
}

/** Adds up the settled records of a chunk into counter increments. */
export function tallyOf(records: Iterable<DeliveryRecord>): ChunkTally {
  let sent = 0;
  let failed = 0;
  let skipped = 0;
  const byChannel: Record<string, number> = {};
  const byErrcode: Record<string, number> = {};
  for (const r of records) {
    if (r.outcome === "sent") {
      sent += 1;
      if (r.channel) byChannel[r.channel] = (byChannel[r.channel] ?? 0) + 1;
    } else {
      if (r.outcome === "failed") failed += 1;
      else skipped += 1;
      const key = String(r.errcode ?? "none");
      byErrcode[key] = (byErrcode[key] ?? 0) + 1;
    }
  }
  return { sent, failed, skipped, byChannel, byErrcode };
}
