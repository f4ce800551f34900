import type { BroadcastEvent } from "../../functions/contracts/messages.ts";
import type { BroadcastMessage, Post } from "../../functions/core/model.ts";
import type { PaymentNotice } from "../../functions/core/payment.ts";
import type { BroadcastEvents, PostReviewStore, SettledEventMarks } from "../../functions/core/ports.ts";
import { MemoryBroadcastStore, MemoryPostStore, newBroadcast } from "./fakes.ts";

/** Every event handed to the port, in order; `failNext` makes the next emit throw (a crash). */
export class RecordingEvents implements BroadcastEvents {
  readonly events: BroadcastEvent[] = [];
  failNext = false;
  async emit(event: BroadcastEvent) {
    if (this.failNext) {
      this.failNext = false;
      throw new Error("the queue is unreachable");
    }
    this.events.push(event);
  }
}

/**
 * Posts with their review, each decision conditional on the post being held, as the DynamoDB
 * adapter's writes are. `beforeDecision` runs between a use case's read and its write: a rival's
 * decision lands there.
 */
export class MemoryReviewPosts extends MemoryPostStore implements PostReviewStore {
  beforeDecision: (() => Promise<void>) | undefined;

  constructor(private readonly store: MemoryBroadcastStore) {
    super(store);
  }

  async markPaidAndHold(post: Post, notice: PaymentNotice, reason: string, now: number) {
    const stored = this.posts.get(post.outTradeNo);
    if (stored?.status !== "PENDING") return false;
    Object.assign(stored, {
      status: "PAID",
      paidAt: now,
      transactionId: notice.transactionId,
      broadcastId: `post-${post.outTradeNo}`,
      review: "held",
      reviewReason: reason,
    });
    return true;
  }

  async approve(post: Post, broadcast: { broadcastId: string; message: BroadcastMessage }, now: number) {
    await this.rival();
    const stored = this.posts.get(post.outTradeNo);
    if (stored?.review !== "held" || this.store.items.has(broadcast.broadcastId)) return false;
    Object.assign(stored, { review: "approved", reviewedAt: now });
    this.store.items.set(
      broadcast.broadcastId,
      newBroadcast(broadcast.broadcastId, {
        message: broadcast.message,
        outTradeNo: post.outTradeNo,
        createdAt: now,
      }),
    );
    return true;
  }

  async reject(outTradeNo: string, reason: string, now: number) {
    await this.rival();
    const stored = this.posts.get(outTradeNo);
    if (stored?.review !== "held") return false;
    Object.assign(stored, { review: "rejected", rejectionReason: reason, reviewedAt: now });
    return true;
  }

  async listHeld(limit: number) {
    const items = [...this.posts.values()]
      .filter((p) => p.review === "held")
      .sort((a, b) => (a.paidAt ?? 0) - (b.paidAt ?? 0));
    return { items: items.slice(0, limit), next: null };
  }

  private async rival() {
    const rival = this.beforeDecision;
    this.beforeDecision = undefined;
    await rival?.();
  }
}

/** Broadcasts with the settled event's marks, the claim conditional like the adapter's. */
export class MarkedBroadcastStore extends MemoryBroadcastStore implements SettledEventMarks {
  async claimSettledEvent(id: string, at: number) {
    const b = this.items.get(id);
    if (!b || b.settledEventAt !== undefined) return false;
    b.settledEventAt = at;
    return true;
  }
  async markSettledAnnounced(id: string) {
    const b = this.items.get(id);
    if (b?.settledEventAt !== undefined) b.settledAnnounced = true;
  }
}
