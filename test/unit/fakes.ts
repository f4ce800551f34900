import type { TaskDispatch } from "../../functions/core/model.ts";
import {
  type Broadcast,
  type BroadcastMessage,
  type ChunkMessage,
  type ChunkTally,
  type DeliveryRecord,
  type FanoutMessage,
  type Outcome,
  type Post,
  startingBroadcast,
} from "../../functions/core/model.ts";
import type { PaymentNotice } from "../../functions/core/payment.ts";
import {
  type AudiencePage,
  type AudienceReader,
  type BroadcastStore,
  type ChunkClaim,
  type ChunkCompletion,
  type ChunkRef,
  type Clock,
  type CreditReservation,
  type DeliveryStore,
  type FanoutQueue,
  type PostStore,
  type SendQueue,
  type SendRefusal,
  type StoredToken,
  type SubscriptionCreditStore,
  type TaskDeliveryReader,
  TaskNotDraftError,
  type TaskStore,
  type TokenStore,
} from "../../functions/core/ports.ts";
import { type PushTask, type RetryRound, taskBroadcastId } from "../../functions/core/push-task.ts";
import type { BatchResult } from "../../functions/core/recipient-list.ts";
import type { TallyMessage } from "../../functions/core/tally-reports.ts";

/** A clock whose sleeps return at once but advance time, so backoff is tested without waiting. */
export class FakeClock implements Clock {
  constructor(public t = 1_700_000_000_000) {}
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.t += ms;
  }
}

export const message: BroadcastMessage = {
  customText: "hello",
  template: { templateId: "TPL", data: { thing1: { value: "hello" } } },
};

export function newBroadcast(broadcastId: string, overrides: Partial<Broadcast> = {}): Broadcast {
  return { ...startingBroadcast(broadcastId, 0, { outTradeNo: "T1", message }), ...overrides };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class MemoryBroadcastStore implements BroadcastStore {
  readonly items = new Map<string, Mutable<Broadcast>>();
  readonly chunks = new Map<string, { state: "claimed" | "done"; leaseUntil: number }>();
  completions = 0;

  async get(id: string) {
    const b = this.items.get(id);
    return b ? structuredClone(b) : undefined;
  }
  async recordPage(id: string, page: number, recipients: number, last: boolean) {
    const b = this.items.get(id);
    if (!b || b.fanoutPage !== page) return false;
    b.fanoutPage = page + 1;
    b.fanoutDone = last;
    b.total += recipients;
    return true;
  }
  async claimChunk(id: string, chunkId: string, leaseMs: number, now: number): Promise<ChunkClaim> {
    const key = `${id}/${chunkId}`;
    const c = this.chunks.get(key);
    if (c?.state === "done") return "done";
    if (c && c.leaseUntil >= now) return "busy";
    this.chunks.set(key, { state: "claimed", leaseUntil: now + leaseMs });
    return c ? "claimed" : "first";
  }
  async releaseChunk(id: string, chunkId: string) {
    const c = this.chunks.get(`${id}/${chunkId}`);
    if (c?.state === "claimed") c.leaseUntil = 0;
  }
  /** Each settled chunk's openid filter, by `<broadcast>/<chunk>`. */
  readonly members = new Map<string, Uint8Array>();
  async completeChunk(id: string, chunkId: string, tally: ChunkTally, extras: ChunkCompletion = {}) {
    const c = this.chunks.get(`${id}/${chunkId}`);
    if (!c || c.state === "done") return;
    c.state = "done";
    this.completions += 1;
    if (extras.members) this.members.set(`${id}/${chunkId}`, extras.members);
    const b = this.items.get(id);
    if (!b) return;
    b.sent += tally.sent;
    b.failed += tally.failed;
    b.skipped += tally.skipped;
    b.byChannel = addCounts(b.byChannel, tally.byChannel);
    b.byErrcode = addCounts(b.byErrcode, tally.byErrcode);
    if (extras.timeline && b.timeline) b.timeline = addCounts(b.timeline, extras.timeline);
    if (extras.bySkipReason && b.bySkipReason)
      b.bySkipReason = addCounts(b.bySkipReason, extras.bySkipReason);
  }
  async setReportCounts(id: string, counts: { confirmed: number; rejected: number }, at: number) {
    const b = this.items.get(id);
    if (b) Object.assign(b, counts, { reportsCountedAt: at });
  }
}

function addCounts(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) {
  const out: Record<string, number> = { ...a };
  for (const [k, n] of Object.entries(b)) out[k] = (out[k] ?? 0) + n;
  return out;
}

export class MemoryDeliveryStore implements DeliveryStore, TaskDeliveryReader {
  readonly records = new Map<string, DeliveryRecord>();
  /** A page of one broadcast's records in openid order, only those with `outcome` when given. */
  async listPage(broadcastId: string, opts: { limit: number; after?: string; outcome?: Outcome }) {
    const all = [...this.records.values()]
      .filter((r) => r.broadcastId === broadcastId && (!opts.outcome || r.outcome === opts.outcome))
      .filter((r) => opts.after === undefined || r.openid > opts.after)
      .sort((a, b) => (a.openid < b.openid ? -1 : 1));
    const items = all.slice(0, opts.limit);
    return { items, next: all.length > opts.limit ? (items.at(-1)?.openid ?? null) : null };
  }
  writes = 0;
  async getSettled(chunk: ChunkRef, openids: readonly string[]) {
    const found = new Map<string, DeliveryRecord>();
    for (const openid of openids) {
      const r = this.records.get(`${chunk.broadcastId}/${openid}`);
      if (r) found.set(openid, r);
    }
    return found;
  }
  async putMany(_chunk: ChunkRef, records: readonly DeliveryRecord[]) {
    this.writes += 1;
    for (const r of records) this.records.set(`${r.broadcastId}/${r.openid}`, r);
  }
}

export class MemoryPostStore implements PostStore {
  readonly posts = new Map<string, Mutable<Post>>();
  constructor(private readonly broadcasts: MemoryBroadcastStore) {}
  async get(outTradeNo: string) {
    const p = this.posts.get(outTradeNo);
    return p ? { ...p } : undefined;
  }
  async create(post: Post) {
    if (this.posts.has(post.outTradeNo)) return false;
    this.posts.set(post.outTradeNo, { ...post });
    return true;
  }
  async markPaidAndCreateBroadcast(
    post: Post,
    notice: PaymentNotice,
    broadcast: { broadcastId: string; message: BroadcastMessage },
    now: number,
  ) {
    const stored = this.posts.get(post.outTradeNo);
    if (stored?.status !== "PENDING" || this.broadcasts.items.has(broadcast.broadcastId)) return false;
    stored.status = "PAID";
    stored.paidAt = now;
    stored.transactionId = notice.transactionId;
    stored.broadcastId = broadcast.broadcastId;
    this.broadcasts.items.set(
      broadcast.broadcastId,
      newBroadcast(broadcast.broadcastId, { message: broadcast.message, outTradeNo: post.outTradeNo }),
    );
    return true;
  }
}

export class RecordingQueues implements SendQueue, FanoutQueue {
  readonly chunks: ChunkMessage[] = [];
  readonly pages: FanoutMessage[] = [];
  readonly tallies: { message: TallyMessage; delaySeconds: number }[] = [];
  async sendChunks(chunks: readonly ChunkMessage[]) {
    this.chunks.push(...chunks);
  }
  async sendPage(m: FanoutMessage) {
    this.pages.push(m);
  }
  async sendTally(message: TallyMessage, delaySeconds: number) {
    this.tallies.push({ message, delaySeconds });
  }
}

/** An audience of `openids`, paged by position. */
export class ArrayAudience implements AudienceReader {
  constructor(
    private readonly openids: readonly string[],
    private readonly windowed: ReadonlySet<string> = new Set(),
  ) {}
  async readPage(cursor: string | null, limit: number): Promise<AudiencePage> {
    const start = cursor === null ? 0 : this.openids.indexOf(cursor) + 1;
    const page = this.openids.slice(start, start + limit);
    const end = start + limit;
    return {
      openids: page,
      windowed: page.filter((openid) => this.windowed.has(openid)),
      next: end < this.openids.length ? (page.at(-1) ?? null) : null,
    };
  }
}

/** The token table as the DynamoDB adapter keeps it: one token, its refusal, the refresh lock. */
export class MemoryTokenStore implements TokenStore {
  token: StoredToken | undefined;
  lock: { owner: string; until: number } | undefined;
  reads = 0;
  async read() {
    this.reads += 1;
    return this.token;
  }
  async markRejected(accessToken: string) {
    if (this.token?.accessToken !== accessToken || this.token.rejected) return false;
    this.token = { ...this.token, rejected: true };
    return true;
  }
  async tryLock(owner: string, until: number, now: number, refreshBy: number) {
    if (this.lock && this.lock.until >= now) return false;
    if (this.token && !this.token.rejected && this.token.expiresAt > refreshBy) return false;
    this.lock = { owner, until };
    return true;
  }
  async unlock(owner: string) {
    if (this.lock?.owner === owner) this.lock = undefined;
  }
  async write(token: Omit<StoredToken, "rejected">) {
    this.token = { ...token, rejected: false };
    this.lock = undefined;
  }
  async accept(token: Omit<StoredToken, "rejected">) {
    if (this.token?.accessToken === token.accessToken) {
      this.token = { ...this.token, expiresAt: token.expiresAt };
      return "stored" as const;
    }
    if (this.token && !this.token.rejected && this.token.expiresAt > token.expiresAt)
      return "superseded" as const;
    this.token = { ...token, rejected: false };
    return "stored" as const;
  }
}

/** Push tasks as the DynamoDB adapter keeps them: a draft's count follows its stored recipients. */
export class MemoryTaskStore implements TaskStore {
  readonly tasks = new Map<string, Mutable<PushTask>>();
  readonly recipients = new Map<string, Set<string>>();
  readonly doneChunks = new Set<string>();
  constructor(private readonly broadcasts: MemoryBroadcastStore) {}

  async create(task: PushTask) {
    this.tasks.set(task.taskId, structuredClone(task) as Mutable<PushTask>);
  }
  async get(taskId: string) {
    const task = this.tasks.get(taskId);
    return task ? (structuredClone(task) as PushTask) : undefined;
  }
  async list(limit: number, cursor: string | null) {
    const all = [...this.tasks.values()].sort((a, b) => b.createdAt - a.createdAt);
    const start = cursor === null ? 0 : all.findIndex((t) => t.taskId === cursor) + 1;
    const items = all.slice(start, start + limit) as PushTask[];
    return { items, next: start + limit < all.length ? (items.at(-1)?.taskId ?? null) : null };
  }
  async addRecipients(taskId: string, openids: readonly string[]): Promise<BatchResult> {
    const task = this.tasks.get(taskId);
    if (task?.status !== "draft") throw new TaskNotDraftError(!task);
    const stored = this.recipients.get(taskId) ?? new Set<string>();
    this.recipients.set(taskId, stored);
    const fresh = openids.filter((o) => !stored.has(o));
    for (const o of fresh) stored.add(o);
    task.recipients += fresh.length;
    return { added: fresh.length, duplicates: openids.length - fresh.length };
  }
  /** Scheduled tasks not yet confirmed started, as the sparse `bySendAt` index holds them. */
  readonly dueIds = new Set<string>();
  private refusal(taskId: string, from: "draft" | "scheduled"): SendRefusal | Mutable<PushTask> {
    const stored = this.tasks.get(taskId);
    if (!stored) return "missing";
    if (stored.status !== from) return "not_draft";
    if (!stored.goods.onShelf) return "off_shelf";
    if (stored.audience === "uploaded" && stored.recipients === 0) return "no_recipients";
    return stored;
  }
  async schedule(task: PushTask, sendAt: number): Promise<true | SendRefusal> {
    const stored = this.refusal(task.taskId, "draft");
    if (typeof stored === "string") return stored;
    stored.status = "scheduled";
    stored.sendAt = sendAt;
    delete stored.scheduleError;
    this.dueIds.add(task.taskId);
    return true;
  }
  async unschedule(taskId: string, refusal?: string) {
    const stored = this.tasks.get(taskId);
    if (stored?.status !== "scheduled") return false;
    stored.status = "draft";
    delete stored.sendAt;
    if (refusal) stored.scheduleError = refusal;
    this.dueIds.delete(taskId);
    return true;
  }
  async due(now: number, limit: number) {
    return [...this.dueIds]
      .flatMap((id) => this.tasks.get(id) ?? [])
      .filter((t) => (t.sendAt ?? 0) <= now && t.status !== "draft")
      .sort((a, b) => (a.sendAt ?? 0) - (b.sendAt ?? 0))
      .slice(0, limit)
      .map((t) => structuredClone(t) as PushTask);
  }
  async clearDue(taskId: string) {
    this.dueIds.delete(taskId);
  }
  async startSend(
    task: PushTask,
    dispatch: TaskDispatch,
    now: number,
    from: "draft" | "scheduled" = "draft",
  ): Promise<true | SendRefusal> {
    const stored = this.refusal(task.taskId, from);
    if (typeof stored === "string") return stored;
    stored.status = "sending";
    stored.sentAt = now;
    const broadcastId = taskBroadcastId(task.taskId);
    this.broadcasts.items.set(
      broadcastId,
      newBroadcast(broadcastId, {
        outTradeNo: undefined,
        message: undefined,
        task: dispatch,
        createdAt: now,
      }),
    );
    return true;
  }
  async beginRetry(taskId: string, round: number, now: number) {
    const task = this.tasks.get(taskId);
    if (!task || (task.retry?.round ?? 0) !== round - 1) return false;
    task.retry = { round, chunks: -1, requeued: 0, at: now };
    return true;
  }
  async finishRetry(taskId: string, retry: RetryRound) {
    const task = this.tasks.get(taskId);
    if (task) task.retry = retry;
  }
  async chunksDone(broadcastId: string, chunkIds: readonly string[]) {
    return chunkIds.every((id) => this.doneChunks.has(`${broadcastId}/${id}`));
  }
}

/** Credits as the adapter keeps them: a balance per user and template, a reservation per task and user. */
export class MemoryCredits implements SubscriptionCreditStore {
  readonly balance = new Map<string, number>();
  readonly reservations = new Map<string, "calling" | "held">();
  async grant(openid: string, templateId: string, count: number) {
    const n = (this.balance.get(`${openid}/${templateId}`) ?? 0) + count;
    this.balance.set(`${openid}/${templateId}`, n);
    return { credits: n, replayed: false };
  }
  async reserve(openid: string, templateId: string, broadcastId: string): Promise<CreditReservation> {
    const key = `${openid}/${broadcastId}`;
    const existing = this.reservations.get(key);
    if (existing === "held") {
      this.reservations.set(key, "calling");
      return "held";
    }
    if (existing === "calling") return "in_doubt";
    const left = this.balance.get(`${openid}/${templateId}`) ?? 0;
    if (left <= 0) return "none";
    this.balance.set(`${openid}/${templateId}`, left - 1);
    this.reservations.set(key, "calling");
    return "taken";
  }
  async hold(openid: string, broadcastId: string) {
    const key = `${openid}/${broadcastId}`;
    if (this.reservations.get(key) === "calling") this.reservations.set(key, "held");
  }
  async revoke(openid: string, templateId: string) {
    if (this.balance.has(`${openid}/${templateId}`)) this.balance.set(`${openid}/${templateId}`, 0);
  }
}
