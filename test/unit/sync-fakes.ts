/** In-memory stand-ins for the follower sync's ports, with the semantics of their DynamoDB adapters. */
import type { SyncMessage } from "../../functions/contracts/messages.ts";
import { TokenUnavailableError } from "../../functions/core/access-token.ts";
import type { FollowerListAnswer, FollowerSync, SyncStatus } from "../../functions/core/follower-sync.ts";
import type {
  AccessTokenProvider,
  FollowerImporter,
  FollowerLister,
  SyncMark,
  SyncQueue,
  SyncStore,
} from "../../functions/core/ports.ts";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class MemorySyncStore implements SyncStore {
  readonly items = new Map<string, Mutable<FollowerSync>>();
  latestId: string | null = null;
  /** Set to make the next recordPage throw after nothing was written: a crash before the record. */
  crashOnRecord = false;

  async get(syncId: string) {
    const s = this.items.get(syncId);
    return s ? { ...s } : undefined;
  }
  async latest() {
    return this.latestId === null ? undefined : this.get(this.latestId);
  }
  async create(sync: FollowerSync, previous: string | null) {
    if (this.items.has(sync.syncId) || this.latestId !== previous) return false;
    this.items.set(sync.syncId, { ...sync });
    this.latestId = sync.syncId;
    return true;
  }
  async resume(syncId: string, lease: string, leaseUntil: number, now: number) {
    const s = this.items.get(syncId);
    if (!s || !(s.status === "paused" || (s.status === "running" && s.leaseUntil < now))) return false;
    Object.assign(s, { status: "running", lease, leaseUntil, updatedAt: now });
    delete s.error;
    return true;
  }
  async claim(syncId: string, presented: string, fresh: string, leaseUntil: number, now: number) {
    const s = this.items.get(syncId);
    if (s?.status !== "running" || !(s.lease === presented || s.leaseUntil < now)) return undefined;
    Object.assign(s, { lease: fresh, leaseUntil });
    return { ...s };
  }
  async recordPage(
    syncId: string,
    lease: string,
    at: { cursor: string; page: number },
    result: { next: string; imported: number; alreadyKnown: number },
    last: boolean,
    now: number,
  ) {
    if (this.crashOnRecord) {
      this.crashOnRecord = false;
      throw new Error("the container died before the page was recorded");
    }
    const s = this.items.get(syncId);
    if (!s || s.lease !== lease || s.cursor !== at.cursor || s.pages !== at.page) return false;
    s.cursor = result.next;
    s.pages += 1;
    s.imported += result.imported;
    s.alreadyKnown += result.alreadyKnown;
    s.updatedAt = now;
    if (last) {
      s.status = "done";
      delete s.lease;
    }
    return true;
  }
  async finish(
    syncId: string,
    lease: string,
    end: { status: Exclude<SyncStatus, "running">; error?: string },
    now: number,
  ) {
    const s = this.items.get(syncId);
    if (!s || s.lease !== lease) return false;
    s.status = end.status;
    s.updatedAt = now;
    if (end.error) s.error = end.error;
    delete s.lease;
    return true;
  }
  async handOver(syncId: string, lease: string, next: string, leaseUntil: number) {
    const s = this.items.get(syncId);
    if (!s || s.lease !== lease) return false;
    Object.assign(s, { lease: next, leaseUntil });
    return true;
  }
}

export interface MemorySubscriber {
  followed?: boolean;
  optedIn?: boolean;
  unfollowedAt?: number;
  createdBySync?: string;
  createdOnPage?: number;
}

/** The importer's rules over a map of subscribers (as DynamoFollowerImporter applies them). */
export class MemoryFollowerImporter implements FollowerImporter {
  readonly subscribers = new Map<string, MemorySubscriber>();

  async importFollowers(openids: readonly string[], mark: SyncMark, listedAt: number) {
    let imported = 0;
    for (const openid of openids) {
      const s = this.subscribers.get(openid);
      if (!s) {
        this.subscribers.set(openid, {
          followed: true,
          optedIn: true,
          createdBySync: mark.syncId,
          createdOnPage: mark.page,
        });
        imported += 1;
        continue;
      }
      if (s.createdBySync === mark.syncId && s.createdOnPage === mark.page) imported += 1;
      if (!(s.followed === false && (s.unfollowedAt ?? 0) > listedAt)) {
        s.followed = true;
        s.optedIn ??= true;
        delete s.unfollowedAt;
      }
    }
    return { imported, alreadyKnown: openids.length - imported };
  }
}

/** WeChat's follower list over `followers`, `pageSize` a page, with the end-of-list quirk. */
export class ScriptedFollowerList implements FollowerLister {
  readonly calls: { token: string; next: string }[] = [];
  /** For the next calls in order: an errcode or an error thrown instead of the page; null: the page. */
  readonly failures: (number | Error | null)[] = [];

  constructor(
    public followers: string[],
    public pageSize = 3,
  ) {}

  async followerPage(accessToken: string, nextOpenid: string): Promise<FollowerListAnswer> {
    this.calls.push({ token: accessToken, next: nextOpenid });
    const failure = this.failures.shift();
    if (failure instanceof Error) throw failure;
    if (typeof failure === "number") return { errcode: failure, errmsg: `errmsg ${failure}`, nextOpenid: "" };
    const from = nextOpenid === "" ? 0 : this.followers.indexOf(nextOpenid) + 1;
    const openids = this.followers.slice(from, from + this.pageSize);
    if (openids.length === 0) return { errcode: 0, errmsg: "", count: 0, nextOpenid: "" };
    // The quirk: the last page too names its last openid.
    return { errcode: 0, errmsg: "", openids, count: openids.length, nextOpenid: openids.at(-1) ?? "" };
  }
}

export class MemorySyncQueue implements SyncQueue {
  readonly sent: { message: SyncMessage; delaySeconds: number }[] = [];
  async send(message: SyncMessage, delaySeconds: number) {
    this.sent.push({ message, delaySeconds });
  }
  /** The last message sent, taken off the queue. */
  take(): SyncMessage {
    const last = this.sent.pop();
    if (!last) throw new Error("no sync message was sent");
    return last.message;
  }
}

/** Tokens handed out in turn: a rejected one is replaced by the next; none left → unavailable. */
export class RotatingTokens implements AccessTokenProvider {
  readonly rejected: string[] = [];
  constructor(private readonly tokens: string[] = ["token-1", "token-2", "token-3"]) {}
  async get(): Promise<string> {
    const token = this.tokens[0];
    if (token === undefined) throw new TokenUnavailableError("no usable access token: none stored yet");
    return token;
  }
  async reject(accessToken: string): Promise<void> {
    this.rejected.push(accessToken);
    if (this.tokens[0] === accessToken) this.tokens.shift();
  }
}
