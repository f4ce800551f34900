import { postEvent } from "./broadcast-events.ts";
import { NotFoundError, PaymentMismatchError } from "./errors.ts";
import { type BroadcastMessage, type Post, postBroadcastId } from "./model.ts";
import type { PaymentNotice } from "./payment.ts";
import type {
  BroadcastEvents,
  BroadcastStore,
  Clock,
  ContentCheck,
  FanoutQueue,
  PostReviewStore,
  PostStore,
} from "./ports.ts";

export interface AcceptPaymentDeps {
  readonly posts: PostStore;
  readonly broadcasts: BroadcastStore;
  readonly fanoutQueue: FanoutQueue;
  readonly clock: Clock;
  /** The message every subscriber receives for this post. */
  readonly composeMessage: (post: Post, paidAt: number) => BroadcastMessage;
  /** The review of paid posts (core/post-review.ts); without it every paid post goes out at once. */
  readonly review?: {
    readonly check: ContentCheck;
    readonly posts: PostReviewStore;
    readonly events: BroadcastEvents;
  };
}

export interface MerchantIdentity {
  readonly appId: string;
  readonly mchId: string;
}

/** `held`: paid, and waiting for an operator's review before anything is sent. */
export type AcceptPaymentResult = {
  readonly kind: "started" | "held" | "duplicate";
  readonly broadcastId: string;
};

/**
 * Accepts a verified payment notice: checks it against the merchant and the registered post, marks
 * the post paid once and starts its one broadcast. A repeated or concurrent copy changes nothing, but
 * re-sends the broadcast's first fan-out message if the fan-out has not begun (the first copy may have
 * crashed between the two steps); the fan-out recognises pages it has done. A post the content check
 * holds is marked paid in the same one write, with no broadcast until an operator approves it; a
 * copy of its notice tells the business app again that it is held (the same event).
 */
export async function acceptPayment(
  notice: PaymentNotice,
  merchant: MerchantIdentity,
  deps: AcceptPaymentDeps,
): Promise<AcceptPaymentResult> {
  if (notice.appId !== merchant.appId) throw new PaymentMismatchError("appid does not match this account");
  if (notice.mchId !== merchant.mchId) throw new PaymentMismatchError("mchid does not match this merchant");
  if (notice.tradeState !== "SUCCESS") {
    throw new PaymentMismatchError(`trade_state is ${notice.tradeState}, not SUCCESS`);
  }
  const post = await deps.posts.get(notice.outTradeNo);
  if (!post) throw new NotFoundError("out_trade_no is not a registered post");
  if (notice.amountTotal !== post.amount) {
    throw new PaymentMismatchError("amount.total does not match the registered post");
  }
  // Posts are priced in fen of yuan: 500 in another currency is not the 500 fen that was asked.
  if (notice.currency !== "CNY") throw new PaymentMismatchError("amount.currency is not CNY");

  const broadcastId = postBroadcastId(post.outTradeNo);
  let paid = post;
  if (post.status === "PENDING") {
    const now = deps.clock.now();
    const verdict = deps.review ? await deps.review.check.check(post.content) : { held: false as const };
    if (deps.review && verdict.held) {
      if (await deps.review.posts.markPaidAndHold(post, notice, verdict.reason, now)) {
        await deps.review.events.emit(postEvent("held", post.outTradeNo, now));
        return { kind: "held", broadcastId };
      }
    } else {
      const message = deps.composeMessage(post, now);
      if (await deps.posts.markPaidAndCreateBroadcast(post, notice, { broadcastId, message }, now)) {
        await deps.fanoutQueue.sendPage({ broadcastId, page: 0, cursor: null });
        return { kind: "started", broadcastId };
      }
    }
    paid = (await deps.posts.get(post.outTradeNo)) ?? post;
  }
  if (deps.review && paid.review === "held" && paid.paidAt !== undefined)
    await deps.review.events.emit(postEvent("held", paid.outTradeNo, paid.paidAt));
  const broadcast = await deps.broadcasts.get(broadcastId);
  if (broadcast && broadcast.fanoutPage === 0 && !broadcast.fanoutDone) {
    await deps.fanoutQueue.sendPage({ broadcastId, page: 0, cursor: null });
  }
  return { kind: "duplicate", broadcastId };
}
