import { NotFoundError, PaymentMismatchError } from "./errors.ts";
import { type BroadcastMessage, type Post, postBroadcastId } from "./model.ts";
import type { PaymentNotice } from "./payment.ts";
import type { BroadcastStore, Clock, FanoutQueue, PostStore } from "./ports.ts";

export interface AcceptPaymentDeps {
  readonly posts: PostStore;
  readonly broadcasts: BroadcastStore;
  readonly fanoutQueue: FanoutQueue;
  readonly clock: Clock;
  /** The message every subscriber receives for this post. */
  readonly composeMessage: (post: Post, paidAt: number) => BroadcastMessage;
}

export interface MerchantIdentity {
  readonly appId: string;
  readonly mchId: string;
}

export type AcceptPaymentResult = { readonly kind: "started" | "duplicate"; readonly broadcastId: string };

/**
 * Accepts a verified payment notice: checks it against the merchant and the registered post, marks
 * the post paid once and starts its one broadcast. A repeated or concurrent copy changes nothing, but
 * re-sends the broadcast's first fan-out message if the fan-out has not begun (the first copy may have
 * crashed between the two steps); the fan-out recognises pages it has done.
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
  if (post.status === "PENDING") {
    const now = deps.clock.now();
    const message = deps.composeMessage(post, now);
    if (await deps.posts.markPaidAndCreateBroadcast(post, notice, { broadcastId, message }, now)) {
      await deps.fanoutQueue.sendPage({ broadcastId, page: 0, cursor: null });
      return { kind: "started", broadcastId };
    }
  }
  const broadcast = await deps.broadcasts.get(broadcastId);
  if (broadcast && broadcast.fanoutPage === 0 && !broadcast.fanoutDone) {
    await deps.fanoutQueue.sendPage({ broadcastId, page: 0, cursor: null });
  }
  return { kind: "duplicate", broadcastId };
}
