/**
 * A follower sync: one import of the account's followers from WeChat's follower list (user/get),
 * page by page, and the pure rules about it. The use cases are in follower-syncs.ts.
 */

/** One answer of WeChat's follower list (user/get), as it came: readPage says where the list ends. */
export interface FollowerListAnswer {
  readonly errcode: number;
  readonly errmsg: string;
  /** `data.openid`; absent when the answer had no `data`. */
  readonly openids?: readonly string[];
  readonly count?: number;
  /** `next_openid`, "" when WeChat gave none. */
  readonly nextOpenid: string;
}

export type SyncStatus = "running" | "done" | "paused" | "failed";

export interface FollowerSync {
  readonly syncId: string;
  readonly status: SyncStatus;
  /** The `next_openid` the next page is asked for: "" before the first page. */
  readonly cursor: string;
  /** Pages of followers read and recorded. */
  readonly pages: number;
  /** Followers new to Fanout, created by this sync. */
  readonly imported: number;
  /** Followers Fanout had already. */
  readonly alreadyKnown: number;
  /** Why it paused or failed, starting with WeChat's errcode when there is one (`45009: …`). */
  readonly error?: string;
  /** Epoch ms. */
  readonly startedAt: number;
  readonly updatedAt: number;
  /**
   * Who may work on it: the SQS message (or invocation) holding this lease, until `leaseUntil`
   * (epoch ms). A running sync whose lease has run out has lost its worker: it may be taken over.
   */
  readonly lease?: string;
  readonly leaseUntil: number;
}

/** A new running sync, leased to its first message until `leaseUntil`. */
export function startingSync(syncId: string, lease: string, leaseUntil: number, now: number): FollowerSync {
  return {
    syncId,
    status: "running",
    cursor: "",
    pages: 0,
    imported: 0,
    alreadyKnown: 0,
    startedAt: now,
    updatedAt: now,
    lease,
    leaseUntil,
  };
}

/** Running with a live lease: someone is on it, so a new sync must wait. */
export function isLive(sync: FollowerSync, now: number): boolean {
  return sync.status === "running" && sync.leaseUntil >= now;
}

/** Running with no live worker (a crash, a lost message): anyone may take it over. */
export function isStalled(sync: FollowerSync, now: number): boolean {
  return sync.status === "running" && sync.leaseUntil < now;
}

/** Paused or stalled: the next start resumes it from its cursor. */
export function isResumable(sync: FollowerSync, now: number): boolean {
  return sync.status === "paused" || isStalled(sync, now);
}

/** What one user/get answer means for the sync. */
export type PageReading =
  /** Followers to import; `next` is where the following page starts, null after the last. */
  | { readonly kind: "page"; readonly openids: readonly string[]; readonly next: string | null }
  /** The list is over: WeChat's end-of-list answer. */
  | { readonly kind: "end" }
  | { readonly kind: "error"; readonly errcode: number; readonly errmsg: string };

/**
 * Reads one user/get answer. The list ends when `next_openid` is empty, and also when `data` is
 * missing or `count` is 0: WeChat may return a `next_openid` with the last page too (WECHAT_FACTS
 * §10.4), and the call after it then answers with no followers.
 */
export function readPage(answer: FollowerListAnswer): PageReading {
  if (answer.errcode !== 0) return { kind: "error", errcode: answer.errcode, errmsg: answer.errmsg };
  const openids = answer.openids ?? [];
  if (answer.count === 0 || openids.length === 0) return { kind: "end" };
  return { kind: "page", openids, next: answer.nextOpenid === "" ? null : answer.nextOpenid };
}

/** `45009: reach max api daily quota limit`: the errcode first (the console explains it), cut short. */
export function syncError(errcode: number, detail: string): string {
  const text = `${errcode}: ${detail}`;
  return text.length <= 300 ? text : `${text.slice(0, 299)}…`;
}
