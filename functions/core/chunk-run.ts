/**
 * One chunk's delivery, recipient by recipient: which channel, which turn of the in-flight limit,
 * which token, how WeChat's answer is handled. send-chunk.ts runs it over the chunk and settles the
 * chunk; this module is why each recipient gets one message whatever WeChat answers. It is long
 * (about 400 lines) because a recipient's delivery is one piece of state that its channel, turns,
 * token and retries share: split, its retry loop would have to be read across files.
 */
import { createHash } from "node:crypto";
import { TokenUnavailableError } from "./access-token.ts";
import { type CapAdmission, DAILY_CAP, type DailyCapSettings, windowAdmission } from "./daily-cap.ts";
import { classifyErrcode, TRANSPORT_ERRCODE } from "./errcodes.ts";
import { InFlightLimit } from "./in-flight-limit.ts";
import type { Broadcast, Channel, DeliveryRecord, TaskDispatch } from "./model.ts";
import {
  type AccessTokenProvider,
  type BroadcastStore,
  type Clock,
  type DeliveryStore,
  type SubscriberStatusStore,
  type SubscriptionCreditStore,
  type SuppressionStore,
  type TaskMessenger,
  type WeChatMessenger,
  type WeChatResult,
  WeChatTransportError,
} from "./ports.ts";
import { NO_CREDIT } from "./push-task.ts";
import type { RecipientRules } from "./recipient-rules.ts";
import { type TaskSendSettings, taskRequest } from "./task-request.ts";

export interface SendChunkDeps {
  readonly broadcasts: BroadcastStore;
  readonly deliveries: DeliveryStore;
  readonly subscribers: SubscriberStatusStore;
  readonly wechat: WeChatMessenger;
  readonly tokens: AccessTokenProvider;
  readonly clock: Clock;
  /** This container's WeChat calls in flight, shared by every chunk it handles; unlimited when absent. */
  readonly inFlight?: InFlightLimit;
  /** Loads the broadcast (its message), usually memoised per container. */
  readonly loadBroadcast: (broadcastId: string) => Promise<Broadcast | undefined>;
  /** Push tasks: subscribe-message credits, the client for task messages and their settings. */
  readonly tasks?: {
    readonly credits: SubscriptionCreditStore;
    readonly wechat: TaskMessenger;
    readonly settings: TaskSendSettings;
  };
  /** Paid posts' daily cap per subscriber (core/daily-cap.ts); uncapped when absent. */
  readonly dailyCap?: DailyCapSettings;
  /** Where WeChat's refusals (43101) mark subscribers suppressed (core/suppression.ts). */
  readonly suppression?: SuppressionStore;
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
  /**
   * No WeChat call starts at or after this (epoch ms): the invocation ends before its timeout with
   * the rest pending, so a crashed invocation's chunk is redelivered after a short visibility timeout.
   */
  readonly stopStartingAt?: number;
}

/**
 * Why recipients are still pending: WeChat was busy or unreachable (`transient`), the daily quota ran
 * out (`quota`), no token WeChat accepts was there (`token`), or the invocation stopped starting
 * calls (`deadline`).
 */
export type PendingReason = "transient" | "quota" | "token" | "deadline";

/** Raised when a chunk names a broadcast that does not exist: a poison message. */
export class UnknownBroadcastError extends Error {
  override readonly name = "UnknownBroadcastError";
}

/** The template `client_msg_id`: the same for every retry to one recipient, so WeChat sends it once. */
export function clientMsgId(broadcastId: string, openid: string): string {
  return createHash("sha256").update(`${broadcastId}\n${openid}`).digest("base64url").slice(0, 32);
}

/** Subscribe message refused: the user's one-time subscription is used up or was cancelled. */
const NO_SUBSCRIPTION = 43101;
/**
 * Recorded for a customer-service or subscribe message whose call may have been delivered but got no
 * answer: WeChat de-duplicates neither, so it is not sent again.
 */
export const OUTCOME_UNKNOWN =
  "no answer from WeChat, delivery unknown; not re-sent (this message type cannot be de-duplicated)";
const UNKNOWN: WeChatResult = { errcode: TRANSPORT_ERRCODE, errmsg: OUTCOME_UNKNOWN };

/** A recipient settled (its record), or left pending and why. */
export type Attempt = { readonly settled: DeliveryRecord } | { readonly pending: PendingReason };

/** One turn of a recipient's delivery: WeChat's answer, or why no call started. */
type Turn<T = WeChatResult> =
  | { readonly answer: T }
  | { readonly notStarted: "token" | "deadline" | "quota" };

/** A recipient's token refusals per receive before it waits for the queue's next try. */
const TOKEN_REFUSALS_PER_RECEIVE = 3;

/** The per-invocation state of one chunk's delivery. */
export class ChunkRun {
  quotaHit = false;
  /** Why the last turn found no token, for the chunk's log line. */
  tokenProblem: string | undefined;
  private readonly attemptsPerReceive: number;
  private readonly backoffBaseMs: number;
  private readonly stopStartingAt: number;
  private readonly inFlight: InFlightLimit;

  constructor(
    private readonly broadcast: Broadcast,
    private readonly deps: SendChunkDeps,
    opts: SendChunkOptions,
    private readonly lastReceive: boolean,
    private readonly windowed: ReadonlySet<string>,
    /** An operator asked to re-send: a reservation in doubt is used anyway. */
    private readonly operatorRetry = false,
    /** Suppression and the daily cap (core/recipient-rules.ts). */
    private readonly rules?: RecipientRules,
  ) {
    this.attemptsPerReceive = opts.attemptsPerReceive ?? 3;
    this.backoffBaseMs = opts.backoffBaseMs ?? 200;
    this.stopStartingAt = opts.stopStartingAt ?? Number.POSITIVE_INFINITY;
    this.inFlight = deps.inFlight ?? UNLIMITED;
  }

  async deliver(openid: string): Promise<Attempt> {
    const skip = this.rules?.skipReason(openid);
    if (skip) return { settled: this.skipped(openid, skip) };
    if (this.broadcast.task) return this.deliverTask(openid, this.broadcast.task);
    const { message, broadcastId } = this.broadcast;
    if (!message) throw new UnknownBroadcastError(`broadcast ${broadcastId} has no message`);
    const { wechat } = this.deps;
    const cap = this.rules?.cap;
    const send = (channel: Channel) => (token: string) =>
      channel === "custom"
        ? wechat.sendCustomText(token, openid, message.customText)
        : wechat.sendTemplate(token, openid, message.template, clientMsgId(broadcastId, openid));
    const hooks = {
      send,
      // WeChat closed the window early: the message stays used, the template message goes instead.
      fallback: async (channel: Channel): Promise<Channel | undefined> => {
        if (channel !== "custom") return undefined;
        await this.releaseWindow(openid, false);
        return "template";
      },
      // The window message was not used: the retry (or the next broadcast) may use it.
      undelivered: async (channel: Channel) => {
        if (channel === "custom") await this.releaseWindow(openid, true);
      },
      // Refused for good, nothing delivered: the day's slot is free again.
      refused: async () => cap?.giveBack(openid),
    };
    const windowed = this.windowed.has(openid);
    if (!windowed && !cap) return this.sendWithRetries(openid, "template", hooks);
    // The customer-service message only while the tracked window has a message left, and the cap's
    // slot, each used up atomically inside the in-flight limit with a token in hand, right before the
    // request: a crash before then leaves both untouched, so only calls really on the wire can be in
    // doubt. `in_doubt`: an earlier delivery took the window for this broadcast and stopped before an
    // answer.
    const first = await this.turn(async (token) => {
      const now = this.deps.clock.now();
      const admission: CapAdmission = cap
        ? await cap.admit(openid, windowed, now)
        : windowAdmission(await this.deps.subscribers.consumeWindow(openid, broadcastId, now));
      if (admission !== "custom" && admission !== "template") return admission;
      return { channel: admission, result: await this.ask(token, send(admission)) };
    });
    if ("notStarted" in first) return { pending: first.notStarted };
    switch (first.answer) {
      case "in_doubt":
        return { settled: this.record(openid, "unknown", "custom", UNKNOWN, 0) };
      case "capped":
        return { settled: this.skipped(openid, DAILY_CAP) };
      case "busy":
        return { pending: "transient" };
    }
    const { channel, result } = first.answer;
    return this.sendWithRetries(openid, channel, hooks, { answer: result });
  }

  /** WeChat answered the customer-service call without delivering it. */
  private releaseWindow(openid: string, refund: boolean): Promise<void> {
    return this.deps.subscribers.releaseWindow(openid, this.broadcast.broadcastId, refund);
  }

  /**
   * A push task's message. A subscribe message first uses one of the user's credits (none: skipped,
   * WeChat not called), reserved once per task and user so a retry never uses a second one; its
   * reservation says whether a call may already have delivered it, since WeChat cannot de-duplicate
   * subscribe messages: then the recipient is recorded as unknown rather than messaged twice. Like a
   * window, the credit is reserved inside the in-flight limit right before the request.
   */
  private async deliverTask(openid: string, task: TaskDispatch): Promise<Attempt> {
    const tasks = this.tasks();
    const { message } = task;
    const { broadcastId } = this.broadcast;
    const request = (token: string) =>
      tasks.wechat.sendTaskMessage(
        token,
        taskRequest(message, openid, tasks.settings, clientMsgId(broadcastId, openid)),
      );
    if (message.channel !== "subscribe")
      return this.sendWithRetries(openid, message.channel, { send: () => request });
    const first = await this.turn(async (token) => {
      const credit = await tasks.credits.reserve(
        openid,
        message.templateId,
        broadcastId,
        this.deps.clock.now(),
      );
      if (credit === "none" || (credit === "in_doubt" && !this.operatorRetry)) return credit;
      return this.ask(token, request);
    });
    if ("notStarted" in first) return { pending: first.notStarted };
    if (first.answer === "none") return { settled: this.skipped(openid, NO_CREDIT) };
    if (first.answer === "in_doubt")
      return { settled: this.record(openid, "unknown", "subscribe", UNKNOWN, 0) };
    return this.sendWithRetries(
      openid,
      "subscribe",
      {
        send: () => request,
        // WeChat answered and did not deliver: the reservation waits for the next try.
        undelivered: () => tasks.credits.hold(openid, broadcastId),
        // 43101: WeChat has no credit for this user; ours is used up too, and stays so.
        refused: async (result) => {
          if (result.errcode === NO_SUBSCRIPTION) await tasks.credits.revoke(openid, message.templateId);
        },
      },
      { answer: first.answer },
    );
  }

  /**
   * Runs one call inside the in-flight limit, with a token WeChat has not refused, unless the
   * invocation is past the point where it starts calls or no token came in time.
   */
  private turn<T>(act: (token: string) => Promise<T>): Promise<Turn<T>> {
    return this.inFlight.run(async () => {
      // A turn that waited for its slot while another call was answered 45009 makes no call.
      if (this.quotaHit) return { notStarted: "quota" as const };
      if (this.deps.clock.now() >= this.stopStartingAt) return { notStarted: "deadline" as const };
      let token: string;
      try {
        token = await this.deps.tokens.get(this.stopStartingAt);
      } catch (error) {
        if (error instanceof TokenUnavailableError) {
          this.tokenProblem = error.message;
          return { notStarted: "token" as const };
        }
        throw error;
      }
      return { answer: await act(token) };
    });
  }

  /**
   * One WeChat call with `token`; a transport failure becomes an answer (errcode -2). A refused token
   * is reported before the turn gives up its slot, so no turn waiting for it starts with that token.
   */
  private async ask(token: string, send: (token: string) => Promise<WeChatResult>): Promise<WeChatResult> {
    let result: WeChatResult;
    try {
      result = await send(token);
    } catch (error) {
      if (error instanceof WeChatTransportError) return { errcode: TRANSPORT_ERRCODE, errmsg: error.message };
      throw error;
    }
    if (classifyErrcode(result.errcode) === "token") await this.deps.tokens.reject(token);
    // Noted before the slot is given up, so no turn waiting for it calls into the exhausted quota.
    if (classifyErrcode(result.errcode) === "quota") this.quotaHit = true;
    return result;
  }

  /**
   * Calls WeChat for one recipient until it delivers, refuses for good, or the recipient is left to
   * the queue's retry: a refused token is reported and the call repeated with a newer one, transient
   * failures are retried with backoff, 45009 pauses the broadcast. Only template messages carry
   * `client_msg_id`, so a call of another kind that got no answer is recorded as unknown rather than
   * made again. `first` is a turn already taken.
   */
  private async sendWithRetries(
    openid: string,
    firstChannel: Channel,
    hooks: {
      readonly send: (channel: Channel) => (token: string) => Promise<WeChatResult>;
      /** The channel to try after a window refusal (45015/45047); none: the refusal is recorded. */
      readonly fallback?: (channel: Channel) => Promise<Channel | undefined>;
      /** WeChat answered without delivering, and this receive gives up on the recipient. */
      readonly undelivered?: (channel: Channel) => Promise<void>;
      /** WeChat refused the message for good. */
      readonly refused?: (result: WeChatResult) => Promise<void>;
    },
    first?: Turn,
  ): Promise<Attempt> {
    let channel = firstChannel;
    let calls = 0;
    let transientFailures = 0;
    let tokenRefusals = 0;
    let next = first;
    const giveUp = async (reason: PendingReason, last?: WeChatResult): Promise<Attempt> => {
      if (calls > 0) await hooks.undelivered?.(channel);
      if (reason === "transient" && this.lastReceive && last)
        return { settled: this.record(openid, "failed", channel, last, calls) };
      return { pending: reason };
    };
    for (;;) {
      if (this.quotaHit) return giveUp("quota");
      const turn = next ?? (await this.turn((token) => this.ask(token, hooks.send(channel))));
      next = undefined;
      if ("notStarted" in turn) return giveUp(turn.notStarted);
      calls += 1;
      const result = turn.answer;
      switch (classifyErrcode(result.errcode)) {
        case "ok":
          return { settled: this.record(openid, "sent", channel, result, calls) };
        case "window": {
          const fallback = await hooks.fallback?.(channel);
          if (fallback === undefined)
            return { settled: this.record(openid, "failed", channel, result, calls) };
          channel = fallback;
          break;
        }
        case "token":
          // Reported already (ask): the next turn waits for a newer token.
          tokenRefusals += 1;
          if (tokenRefusals >= TOKEN_REFUSALS_PER_RECEIVE) return giveUp("token", result);
          break;
        case "transient":
          if (channel !== "template" && result.errcode === TRANSPORT_ERRCODE)
            return { settled: this.record(openid, "unknown", channel, UNKNOWN, calls) };
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

const UNLIMITED = new InFlightLimit(Number.POSITIVE_INFINITY);
