/**
 * The review of paid posts: a post the content check held is paid (its money accepted once, like any
 * other) but has no broadcast until an operator approves it; a rejected one never gets one. Every
 * change is a write conditional on the post being held, so an approve and a reject that race cannot
 * both win, and a repeated one changes nothing.
 */

import { postEvent } from "./broadcast-events.ts";
import { ConflictError, NotFoundError } from "./errors.ts";
import { type BroadcastMessage, type Post, postBroadcastId } from "./model.ts";
import type {
  BroadcastEvents,
  BroadcastStore,
  Clock,
  FanoutQueue,
  PostReviewStore,
  PostStore,
} from "./ports.ts";
import { restartStalledFanout } from "./push-tasks.ts";

export interface PostReviewDeps {
  readonly posts: PostReviewStore;
  readonly broadcasts: Pick<BroadcastStore, "get">;
  readonly fanoutQueue: Pick<FanoutQueue, "sendPage">;
  readonly events: BroadcastEvents;
  readonly clock: Clock;
  /** The message every subscriber receives for this post, as at its payment. */
  readonly composeMessage: (post: Post, paidAt: number) => BroadcastMessage;
}

/** The registered post with this out_trade_no; NotFoundError when there is none. */
export async function loadPost(
  outTradeNo: string,
  deps: { readonly posts: Pick<PostStore, "get"> },
): Promise<Post> {
  const post = await deps.posts.get(outTradeNo);
  if (!post) throw new NotFoundError("no post with this outTradeNo");
  return post;
}

/** Why a post that is not held can be neither approved nor rejected. */
function notHeld(post: Post): ConflictError {
  switch (post.review) {
    case "approved":
      return new ConflictError("the post was approved already; it is sent once");
    case "rejected":
      return new ConflictError("the post was rejected; it is never sent");
    default:
      return new ConflictError(
        post.status === "PENDING" ? "the post is not paid yet" : "the post is not held for review",
      );
  }
}

/**
 * Approves a held post: it leaves the queue and its broadcast is created in one conditional write,
 * then the fan-out starts. A second approve is a conflict, and restarts a fan-out whose first
 * message was lost (a crash between the write and the message).
 */
export async function approvePost(
  outTradeNo: string,
  deps: PostReviewDeps,
): Promise<{ readonly broadcastId: string }> {
  const post = await loadPost(outTradeNo, deps);
  const broadcastId = postBroadcastId(post.outTradeNo);
  const now = deps.clock.now();
  if (post.review === "approved") await restartStalledFanout(broadcastId, now, deps);
  if (post.review !== "held") throw notHeld(post);
  const message = deps.composeMessage(post, post.paidAt ?? now);
  if (!(await deps.posts.approve(post, { broadcastId, message }, now)))
    throw notHeld(await loadPost(outTradeNo, deps));
  await deps.fanoutQueue.sendPage({ broadcastId, page: 0, cursor: null });
  return { broadcastId };
}

/**
 * Rejects a held post with the operator's reason: nothing is ever sent for it (refunding the payer
 * is the business app's part), and the business app is told. A second reject is a conflict, and
 * tells it again (the same event) in case a crash came between the write and the telling.
 */
export async function rejectPost(outTradeNo: string, reason: string, deps: PostReviewDeps): Promise<void> {
  const post = await loadPost(outTradeNo, deps);
  if (post.review === "rejected" && post.reviewedAt !== undefined)
    await deps.events.emit(postEvent("rejected", post.outTradeNo, post.reviewedAt));
  if (post.review !== "held") throw notHeld(post);
  const now = deps.clock.now();
  if (!(await deps.posts.reject(post.outTradeNo, reason, now)))
    throw notHeld(await loadPost(outTradeNo, deps));
  await deps.events.emit(postEvent("rejected", post.outTradeNo, now));
}
