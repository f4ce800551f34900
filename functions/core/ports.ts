/**
 * The ports: every interface the core's use cases take, which the adapters implement. It is long
 * (over 300 lines) because it is the core's whole boundary in one file, each interface short and
 * documented: what the core depends on is read here, in one place.
 */
import type { BroadcastEvent, SuppressionReason, SyncMessage, TallyMessage } from "../contracts/messages.ts";
import type { FollowerListAnswer, FollowerSync, SyncStatus } from "./follower-sync.ts";
import type {
  Broadcast,
  BroadcastMessage,
  ChunkMessage,
  ChunkTally,
  DeliveryRecord,
  FanoutMessage,
  Hold,
  Outcome,
  Post,
  TaskDispatch,
} from "./model.ts";
import type { PaymentNotice } from "./payment.ts";
import type { PushTask, RetryRound } from "./push-task.ts";
import type { BatchResult } from "./recipient-list.ts";
import type { TaskRequest } from "./task-request.ts";

export interface PostStore {
  get(outTradeNo: string): Promise<Post | undefined>;
  /** Registers a pending post; false when one with this out_trade_no exists already. */
  create(post: Post): Promise<boolean>;
  /**
   * Atomically marks the post PAID (only from PENDING) and creates its broadcast (only if absent).
   * Returns false, changing nothing, when the post was no longer PENDING.
   */
  markPaidAndCreateBroadcast(
    post: Post,
    notice: PaymentNotice,
    broadcast: { broadcastId: string; message: BroadcastMessage },
    now: number,
  ): Promise<boolean>;
}

/**
 * The outcome of trying to claim a chunk before sending it: `first` when no invocation ever claimed
 * it, so none can have recorded a delivery for it yet.
 */
export type ChunkClaim = "first" | "claimed" | "done" | "busy";

export interface BroadcastStore {
  get(broadcastId: string): Promise<Broadcast | undefined>;
  /**
   * Records that audience page `page` produced `recipients` recipients, once: a no-op (false) when the
   * page was recorded already. `last` marks the fan-out finished.
   */
  recordPage(broadcastId: string, page: number, recipients: number, last: boolean): Promise<boolean>;
  /** Claims a chunk for `leaseMs`; `busy` while another live invocation holds it, `done` once settled. */
  claimChunk(broadcastId: string, chunkId: string, leaseMs: number, now: number): Promise<ChunkClaim>;
  /** Lets a retry claim the chunk at once. */
  releaseChunk(broadcastId: string, chunkId: string): Promise<void>;
  /**
   * Marks the chunk settled and adds its tally to the counters, atomically and only once; `extras`
   * ride on the same write.
   */
  completeChunk(
    broadcastId: string,
    chunkId: string,
    tally: ChunkTally,
    extras?: ChunkCompletion,
  ): Promise<void>;
  /** Stores a tally pass's delivery-report counts (tally-reports.ts). */
  setReportCounts(
    broadcastId: string,
    counts: { readonly confirmed: number; readonly rejected: number },
    at: number,
  ): Promise<void>;
}

/** What a chunk's settling write carries besides its tally: neither is a write of its own. */
export interface ChunkCompletion {
  /** The chunk's openids as a Bloom filter (core/member-filter.ts), kept on its claim for lookups. */
  readonly members?: Uint8Array;
  /** Timeline counter increments (core/timeline.ts), for broadcasts that keep a timeline. */
  readonly timeline?: Readonly<Record<string, number>>;
  /** Skips by reason (core/skip-reasons.ts), for broadcasts that count them. */
  readonly bySkipReason?: Readonly<Record<string, number>>;
}

export interface AudiencePage {
  readonly openids: readonly string[];
  /** Those of `openids` with a customer-service window open (messages left, not expired). */
  readonly windowed: readonly string[];
  /** Where the next page starts; null after the last page. */
  readonly next: string | null;
  /** Those of `openids` suppressed, and why, when the read saw their items (core/suppression.ts). */
  readonly suppressed?: ReadonlyMap<string, SuppressionReason>;
}

export interface AudienceReader {
  /** One page of active subscribers (opted in, following, membership not expired at `now`). */
  readPage(cursor: string | null, limit: number, now: number): Promise<AudiencePage>;
}

export interface SubscriberStatusStore {
  /**
   * Marks subscribers WeChat reports as no longer following (43004), leaving them out of later
   * audiences, and suppressed for it (a push task's uploaded list skips them too).
   */
  markUnfollowed(openids: readonly string[], now: number): Promise<void>;
  /**
   * Uses one message of the subscriber's open customer-service window for the broadcast's message,
   * noting the broadcast on the window until an answer says the call failed; `in_doubt` when the
   * broadcast took a message before and that note is still there (a crash may have delivered it).
   */
  consumeWindow(openid: string, broadcastId: string, now: number): Promise<WindowUse>;
  /** WeChat answered the broadcast's customer-service call without delivering: the note goes; `refund` gives the message back. */
  releaseWindow(openid: string, broadcastId: string, refund: boolean): Promise<void>;
}

export type WindowUse = "taken" | "none" | "in_doubt";

export interface ConsentReader {
  /** The subscribers among `openids` who opted out (themselves, or an operator for them). */
  optedOut(openids: readonly string[]): Promise<ReadonlySet<string>>;
}

export interface FollowerLister {
  /** The followers after `nextOpenid` ("" for the first page); WeChatTransportError without an answer. */
  followerPage(accessToken: string, nextOpenid: string): Promise<FollowerListAnswer>;
}

/** The sync, and its page, that created a subscriber. */
export interface SyncMark {
  readonly syncId: string;
  readonly page: number;
}

export interface FollowerImporter {
  /**
   * Makes each openid a following subscriber: a new one opted in and marked with `mark`; a stored one
   * keeps its optedIn, and stays unfollowed if it unfollowed after `listedAt` (epoch ms). `imported`
   * counts the new ones, including those this same page (`mark`) created in an attempt that crashed;
   * `alreadyKnown` the rest.
   */
  importFollowers(
    openids: readonly string[],
    mark: SyncMark,
    listedAt: number,
    now: number,
  ): Promise<{ readonly imported: number; readonly alreadyKnown: number }>;
}

/**
 * Follower syncs. Every write by a worker is conditional on the lease it holds: one that lost its
 * lease (taken over after it stalled) changes nothing.
 */
export interface SyncStore {
  get(syncId: string): Promise<FollowerSync | undefined>;
  /** The latest sync started (finished or not); undefined before the first. */
  latest(): Promise<FollowerSync | undefined>;
  /** Stores a new sync as the latest, if the latest is still `previous`; false otherwise. */
  create(sync: FollowerSync, previous: string | null): Promise<boolean>;
  /** Paused, or running with its lease run out: running again, leased to `lease`; false otherwise. */
  resume(syncId: string, lease: string, leaseUntil: number, now: number): Promise<boolean>;
  /**
   * A worker takes the sync with the lease it was handed (or any, once run out) and holds it as
   * `fresh` until `leaseUntil`, so a duplicate of its message finds the lease gone: the sync as it
   * now is, or undefined when it is not running or someone else holds it.
   */
  claim(
    syncId: string,
    presented: string,
    fresh: string,
    leaseUntil: number,
    now: number,
  ): Promise<FollowerSync | undefined>;
  /**
   * Records page `page` (read at `cursor`): moves the cursor to `next` and adds the counts, once
   * (false when the sync is no longer at that page under that lease); `last` also ends it, done.
   */
  recordPage(
    syncId: string,
    lease: string,
    at: { readonly cursor: string; readonly page: number },
    result: { readonly next: string; readonly imported: number; readonly alreadyKnown: number },
    last: boolean,
    now: number,
  ): Promise<boolean>;
  /** Ends the sync's run (done, paused or failed, with the reason) and drops the lease. */
  finish(
    syncId: string,
    lease: string,
    end: { readonly status: Exclude<SyncStatus, "running">; readonly error?: string },
    now: number,
  ): Promise<boolean>;
  /** Hands the lease to the next message (`next`), held until `leaseUntil`. */
  handOver(syncId: string, lease: string, next: string, leaseUntil: number): Promise<boolean>;
}

export interface SyncQueue {
  /** Enqueues a sync's next run, delivered after `delaySeconds` (≤ 900). */
  send(message: SyncMessage, delaySeconds: number): Promise<void>;
}

/** The chunk a delivery record was written for. */
export type ChunkRef = Pick<ChunkMessage, "broadcastId" | "chunkId">;

export interface DeliveryStore {
  /** The settled records among `openids` of the chunk, by openid. */
  getSettled(chunk: ChunkRef, openids: readonly string[]): Promise<Map<string, DeliveryRecord>>;
  /** Writes one flush of the chunk's records. */
  putMany(chunk: ChunkRef, records: readonly DeliveryRecord[]): Promise<void>;
}

export interface SendQueue {
  /** Enqueues chunks, delivered after `delaySeconds` (≤ 900) when given. */
  sendChunks(chunks: readonly ChunkMessage[], delaySeconds?: number): Promise<void>;
}

export interface TallyQueue {
  sendTally(message: TallyMessage, delaySeconds: number): Promise<void>;
}

export interface ReportedMsgids {
  /** One page of the msgids of the broadcast's delivered template messages. */
  readMsgids(broadcastId: string, cursor: string | null): Promise<{ msgids: number[]; next: string | null }>;
}

export interface ReportReader {
  /** WeChat's report status per msgid, for those of `msgids` that have been reported. */
  statuses(msgids: readonly number[]): Promise<Map<number, string>>;
}

/**
 * Where a paid post's broadcast tells what happened to it (held, rejected, paused, deferred,
 * settled): the business app's webhook, delivered at least once. A stage without a webhook drops them.
 */
export interface BroadcastEvents {
  emit(event: BroadcastEvent): Promise<void>;
}

/** Marks on a paid post's broadcast that make its `settled` event one occurrence (core/broadcast-events.ts). */
export interface SettledEventMarks {
  /** Claims the settled event for `at` (epoch ms); false when it was claimed before. */
  claimSettledEvent(broadcastId: string, at: number): Promise<boolean>;
  /** The claimed event is on the webhook queue: nobody announces it again. */
  markSettledAnnounced(broadcastId: string): Promise<void>;
}

/** One try at the business app's webhook: delivered (a 2xx), or why not, for the log. */
export type WebhookAttempt =
  | { readonly delivered: true }
  | { readonly delivered: false; readonly reason: string };

export interface WebhookPoster {
  /** POSTs the event, signed, once; never throws for the receiver's failures. */
  post(event: BroadcastEvent): Promise<WebhookAttempt>;
}

/** What a content check decided: the post waits for an operator's review (and why), or it may go out. */
export type ContentVerdict = { readonly held: false } | { readonly held: true; readonly reason: string };

/**
 * Decides whether a paid post waits for an operator before it goes out: the built-in blocklist
 * (core/blocklist.ts), or a moderation service (e.g. Tencent Cloud TMS TextModeration) behind an adapter.
 */
export interface ContentCheck {
  check(content: string): Promise<ContentVerdict>;
}

/** Paid posts held for review (core/post-review.ts): every change is conditional on the post being held. */
export interface PostReviewStore {
  get(outTradeNo: string): Promise<Post | undefined>;
  /**
   * Atomically marks the post PAID (only from PENDING) and holds it with `reason`, creating no
   * broadcast. Returns false, changing nothing, when the post was no longer PENDING.
   */
  markPaidAndHold(post: Post, notice: PaymentNotice, reason: string, now: number): Promise<boolean>;
  /**
   * Held → approved and its broadcast created (only if absent), atomically; false, changing nothing,
   * when the post was no longer held (approved or rejected meanwhile).
   */
  approve(
    post: Post,
    broadcast: { broadcastId: string; message: BroadcastMessage },
    now: number,
  ): Promise<boolean>;
  /** Held → rejected with the operator's reason; false, changing nothing, when it was no longer held. */
  reject(outTradeNo: string, reason: string, now: number): Promise<boolean>;
  /** The posts held now, the longest waiting first; `cursor` is a `next` this store handed out. */
  listHeld(
    limit: number,
    cursor: string | null,
  ): Promise<{ readonly items: readonly Post[]; readonly next: string | null }>;
}

export interface FanoutQueue extends TallyQueue {
  sendPage(message: FanoutMessage): Promise<void>;
}

/** A WeChat API answer: errcode 0 is success. */
export interface WeChatResult {
  readonly errcode: number;
  readonly errmsg: string;
  readonly msgid?: number;
}

/** Raised by the WeChat client when no WeChat answer arrived (timeout, connection error, HTTP 5xx). */
export class WeChatTransportError extends Error {
  override readonly name = "WeChatTransportError";
}

export interface WeChatMessenger {
  sendCustomText(accessToken: string, openid: string, content: string): Promise<WeChatResult>;
  sendTemplate(
    accessToken: string,
    openid: string,
    template: BroadcastMessage["template"],
    clientMsgId: string,
  ): Promise<WeChatResult>;
}

/** A template listing, or WeChat's refusal (errcode ≠ 0, no templates). */
export interface TemplateListing extends WeChatResult {
  readonly templates: readonly {
    readonly templateId: string;
    readonly title: string;
    /** The keys its content fills (`thing1`, `time2`…), in order. */
    readonly keys: readonly string[];
  }[];
}

export interface TemplateLister {
  /** The account's template-message templates (我的模板). */
  privateTemplates(accessToken: string): Promise<TemplateListing>;
}

export interface FetchedToken {
  readonly accessToken: string;
  readonly expiresInSeconds: number;
}

export interface TokenFetcher {
  /** Fetches the access token in stable_token normal mode (never force_refresh). */
  fetch(): Promise<FetchedToken>;
}

/** The access token every sender shares, as the token table holds it. */
export interface StoredToken {
  readonly accessToken: string;
  /** Epoch ms. */
  readonly expiresAt: number;
  /** A sender had it refused by WeChat (40001/42001/40014): nobody uses it again. */
  readonly rejected: boolean;
}

/** What a sender may do with the shared token: read it, and report WeChat refusing it. */
export interface TokenReader {
  read(): Promise<StoredToken | undefined>;
  /** Marks `accessToken` rejected if the store still holds it unmarked; true when this call marked it. */
  markRejected(accessToken: string, now: number): Promise<boolean>;
}

/** How a new token is got: the refresher's single-flight fetch, or the central server's push. */
export interface TokenStore extends TokenReader {
  /**
   * Takes the refresh lock until `until` (epoch ms), unless another holder's lock is live or the
   * stored token is unrejected and good past `refreshBy` (someone refreshed since we looked).
   */
  tryLock(owner: string, until: number, now: number, refreshBy: number): Promise<boolean>;
  /** Releases `owner`'s lock without storing anything (the fetch failed). */
  unlock(owner: string): Promise<void>;
  /** Stores a token the refresher fetched, unrejected, and releases the lock. */
  write(token: Omit<StoredToken, "rejected">, now: number): Promise<void>;
  /**
   * Stores a token the central server pushed, unless the store holds a different one that expires
   * later (a late push of the predecessor). The same token again keeps its rejection.
   */
  accept(token: Omit<StoredToken, "rejected">, now: number): Promise<"stored" | "superseded">;
}

/** Asks the token's keeper for a new one (the refresher; in external mode nobody is asked). */
export interface TokenRefreshRequester {
  request(): Promise<void>;
}

export interface AccessTokenProvider {
  /**
   * A token WeChat has not refused, waiting until `waitUntil` (epoch ms) for one if there is none;
   * throws TokenUnavailableError past that.
   */
  get(waitUntil?: number): Promise<string>;
  /** WeChat refused `accessToken`: it is not used again, and a refresh is asked for once. */
  reject(accessToken: string): Promise<void>;
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface TaskRecipientReader {
  /** One page of a push task's uploaded recipients, in openid order (no customer-service windows). */
  readTaskPage(taskId: string, cursor: string | null, limit: number): Promise<AudiencePage>;
}

/**
 * The outcome of reserving a subscribe-message credit for one recipient of one task:
 * - `taken`: one credit was used now, and the reservation marked as calling WeChat;
 * - `held`: an earlier delivery reserved it and WeChat said it did not deliver; marked calling again;
 * - `in_doubt`: an earlier delivery reserved it and was calling WeChat when it stopped, so the
 *   message may have been delivered (subscribe messages have no client_msg_id to de-duplicate);
 * - `none`: the user has no credit for the template.
 */
export type CreditReservation = "taken" | "held" | "in_doubt" | "none";

export interface CreditGrant {
  /** The user's credits for the template after the grant. */
  readonly credits: number;
  /** The same idempotency key was granted before: nothing was added this time. */
  readonly replayed: boolean;
}

export interface SubscriptionCreditStore {
  /**
   * Adds `count` credits (accepted one-time subscriptions). With an idempotency key, a repeated grant
   * adds nothing; the same key with another template or count is a ConflictError.
   */
  grant(
    openid: string,
    templateId: string,
    count: number,
    now: number,
    idempotencyKey?: string,
  ): Promise<CreditGrant>;
  /** Uses one credit for `broadcastId`'s message to the user, at most once per broadcast and user. */
  reserve(openid: string, templateId: string, broadcastId: string, now: number): Promise<CreditReservation>;
  /** WeChat answered without delivering: the reservation is kept, no longer in doubt. */
  hold(openid: string, broadcastId: string): Promise<void>;
  /** WeChat says the user has no credit for the template (43101): the stored count drops to 0. */
  revoke(openid: string, templateId: string): Promise<void>;
}

export interface TaskMessenger {
  /** Sends a rendered push-task message (template or subscribe). */
  sendTaskMessage(accessToken: string, request: TaskRequest): Promise<WeChatResult>;
}

/** Why a send was refused, read after its conditional write failed. */
export type SendRefusal = "missing" | "not_draft" | "no_recipients" | "off_shelf";

/** Raised when recipients are added to a task that is missing or no longer a draft. */
export class TaskNotDraftError extends Error {
  override readonly name = "TaskNotDraftError";
  constructor(readonly missing: boolean) {
    super(missing ? "no such task" : "task is no longer a draft");
  }
}

/** Push tasks and their uploaded recipients. */
export interface TaskStore {
  /** Stores a new draft (its id is new). */
  create(task: PushTask): Promise<void>;
  get(taskId: string): Promise<PushTask | undefined>;
  /** Newest first; `cursor` is a `next` this store handed out (ValidationError otherwise). */
  list(
    limit: number,
    cursor: string | null,
  ): Promise<{ readonly items: readonly PushTask[]; readonly next: string | null }>;
  /**
   * Stores one batch of distinct openids and adds the new ones to the task's count, only while the
   * task is a draft (TaskNotDraftError otherwise): the count always equals the stored recipients.
   */
  addRecipients(taskId: string, openids: readonly string[]): Promise<BatchResult>;
  /**
   * Moves a draft (or, `from` "scheduled", a scheduled task) with recipients (or the all-subscribers
   * audience) and goods on the shelf to sending and creates its broadcast, atomically; otherwise
   * changes nothing and says why (`not_draft`: it was not in the state the send started from).
   */
  startSend(
    task: PushTask,
    dispatch: TaskDispatch,
    now: number,
    from?: "draft" | "scheduled",
  ): Promise<true | SendRefusal>;
  /**
   * Schedules a draft for `sendAt` under the same conditions as a send (recipients, goods on the
   * shelf), atomically; otherwise changes nothing and says why.
   */
  schedule(task: PushTask, sendAt: number): Promise<true | SendRefusal>;
  /** A scheduled task back to draft, with the reason when its send was refused at its time; false if it was not scheduled. */
  unschedule(taskId: string, refusal?: string): Promise<boolean>;
  /** Tasks due by `now` (scheduled ones, and sent ones whose fan-out start is not yet confirmed), oldest first. */
  due(now: number, limit: number): Promise<readonly PushTask[]>;
  /** The task's scheduled send has started its fan-out: it is no longer due. */
  clearDue(taskId: string): Promise<void>;
  /** Starts retry round `round` (after `round - 1`); false when another retry got there first. */
  beginRetry(taskId: string, round: number, now: number): Promise<boolean>;
  /** Records how many chunks and recipients a retry round queued, once they are all queued. */
  finishRetry(taskId: string, retry: RetryRound): Promise<void>;
  /** Whether every one of `chunkIds` of the broadcast is settled. */
  chunksDone(broadcastId: string, chunkIds: readonly string[]): Promise<boolean>;
}

/** A push task's delivery records, one per recipient, in openid order. */
export interface TaskDeliveryReader {
  listPage(
    broadcastId: string,
    opts: { readonly limit: number; readonly after?: string; readonly outcome?: Outcome },
  ): Promise<{ readonly items: readonly DeliveryRecord[]; readonly next: string | null }>;
}

// ——— Parking: chunks held outside the queue (core/parking.ts, core/resume-parked.ts)

/** A chunk's settled part as its settling write adds it: the chunk done, its tally added once. */
export interface ChunkSettlement {
  readonly broadcastId: string;
  readonly chunkId: string;
  readonly tally: ChunkTally;
  readonly extras: ChunkCompletion;
}

/**
 * What a park did: `parked`; `chunk_done` (another delivery settled the chunk) or `hold_gone` (the
 * pause it was to join had ended) wrote nothing.
 */
export type ParkOutcome = "parked" | "chunk_done" | "hold_gone";

export interface ParkingStore {
  /**
   * In one atomic write: settles a claimed chunk's settled part, parks its still-pending
   * `remainder` (a chunk of its own) outside the queue, and puts the hold on the broadcast.
   */
  parkRemainder(
    settled: ChunkSettlement,
    remainder: ChunkMessage,
    hold: Hold,
    now: number,
  ): Promise<ParkOutcome>;
  /** Parks chunks nobody has claimed yet (a fan-out page's) with the hold, atomically. */
  parkChunks(
    broadcastId: string,
    chunks: readonly ChunkMessage[],
    hold: Hold,
    now: number,
  ): Promise<Exclude<ParkOutcome, "chunk_done">>;
}

/** A broadcast with parked chunks as the resumer finds it; `parks` grows with every park. */
export interface ParkedBroadcast {
  readonly broadcastId: string;
  readonly parks: number;
  /** When the resumer last asked WeChat for the quota on its behalf (epoch ms). */
  readonly checkedAt?: number;
}

export interface ParkedStore {
  /** Every broadcast with parked chunks: one small read when there is none. */
  parkedBroadcasts(): Promise<readonly ParkedBroadcast[]>;
  /** Up to `limit` of the broadcast's parked chunks. */
  parkedChunks(broadcastId: string, limit: number): Promise<readonly ChunkMessage[]>;
  /** Removes parked chunks that were sent on to the queue. */
  unpark(broadcastId: string, chunkIds: readonly string[]): Promise<void>;
  /** Forgets the broadcast, unless a chunk was parked since `entry` was read (false then). */
  forget(entry: ParkedBroadcast): Promise<boolean>;
  markChecked(broadcastId: string, at: number): Promise<void>;
  /** Ends the quota pause (the one begun at `pausedAt`, or any); false when it was not paused so. */
  clearPause(broadcastId: string, pausedAt?: number): Promise<boolean>;
  /** Ends the deferral until `deferredUntil`; false when it was not deferred so. */
  clearDeferral(broadcastId: string, deferredUntil: number): Promise<boolean>;
  /** Notes that the pause or deferral `occasion` (pausedAt, deferredUntil) was announced. */
  markAnnounced(broadcastId: string, event: "paused" | "deferred", occasion: number): Promise<void>;
}

/** `quota/get`'s answer for one API: what is left today, or WeChat's refusal (an errcode). */
export type ApiQuota =
  | { readonly dailyLimit: number; readonly used: number; readonly remain: number }
  | { readonly refused: WeChatResult };

export interface QuotaReader {
  /** `POST /cgi-bin/openapi/quota/get` for `cgiPath`; WeChatTransportError without an answer. */
  apiQuota(accessToken: string, cgiPath: string): Promise<ApiQuota>;
}

// ——— Subscriber lookups (core/subscriber-lookup.ts)

/** One newest-first list, a page at a time; `next` null after the last page. */
export type NewestFirstPages<T> = (
  cursor: string | null,
  limit: number,
) => Promise<{ readonly items: readonly T[]; readonly next: string | null }>;

/** Looks one user's record up in one broadcast, and says what the reading cost (read units). */
export interface RecipientRecordFinder {
  find(
    broadcastId: string,
    openid: string,
  ): Promise<{ readonly record?: DeliveryRecord; readonly readUnits: number }>;
}

// ——— Suppression (core/suppression.ts) and the daily cap of paid posts (core/daily-cap.ts)

export interface SuppressionStore {
  /**
   * Marks subscribers suppressed for `reason` as of each one's `at` (epoch ms, when WeChat said so),
   * unless they wrote to or followed the account after it: their newer word stands. Openids Fanout
   * does not know are left alone.
   */
  suppress(
    marks: readonly { readonly openid: string; readonly at: number }[],
    reason: SuppressionReason,
  ): Promise<void>;
}

export interface SuppressionReader {
  /** The suppressed among `openids`, with the reason. */
  suppressedAmong(openids: readonly string[]): Promise<ReadonlyMap<string, SuppressionReason>>;
}

/** One of a subscriber's daily-cap slots: the paid post's broadcast that took it, and when. */
export interface CapSlot {
  readonly broadcastId: string;
  /** Epoch ms. */
  readonly at: number;
}

/** What a subscriber's item says for the cap: its slots by index, and its customer-service window. */
export interface CapState {
  /** Slot `i` at index `i`; undefined for one never taken (or given back). */
  readonly slots: readonly (CapSlot | undefined)[];
  readonly windowUntil?: number;
  readonly windowRemaining?: number;
  /** The broadcasts noted on the window (SubscriberStatusStore.consumeWindow). */
  readonly windowCalls: readonly string[];
}

/** Taking slot `index` of `slots` for a broadcast at `now`; with `window`, one window message too. */
export interface CapClaim {
  readonly index: number;
  readonly slots: number;
  readonly now: number;
  /** A slot taken at or before this (epoch ms) is free again. */
  readonly freeBefore: number;
  readonly window: boolean;
}

export interface DailyCapStore {
  /** The subscribers' first `slots` slots and their windows, in one read; absent: no such subscriber. */
  read(openids: readonly string[], slots: number): Promise<ReadonlyMap<string, CapState>>;
  /**
   * Takes the claimed slot for `broadcastId`, only if it is free and none of the first `slots` holds
   * the broadcast already; with `window`, uses one message of the window in the same write (only if
   * it is open with a message left and does not note the broadcast), noting the broadcast on it.
   * Refused: the subscriber's state as stored, or `missing` when there is no such subscriber.
   */
  take(openid: string, broadcastId: string, claim: CapClaim): Promise<"taken" | "missing" | CapState>;
  /** Empties slot `index` if it still holds `broadcastId`. */
  giveBack(openid: string, broadcastId: string, index: number): Promise<void>;
}
