import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { z } from "zod";
import { DynamoBroadcastStore } from "./adapters/dynamodb/broadcast-store.ts";
import { DynamoPostStore } from "./adapters/dynamodb/post-store.ts";
import { createSqsClient, SqsFanoutQueue } from "./adapters/sqs/queues.ts";
import { broadcastEventsFrom } from "./broadcast-events.ts";
import { systemClock } from "./clock.ts";
import { type adminSchema, postMessageSettings } from "./config.ts";
import {
  type ApprovePostAnswer,
  type PostList,
  type PostView,
  type RejectPostAnswer,
  rejectPostBody,
} from "./contracts/api.ts";
import { composePostMessage } from "./core/broadcast-message.ts";
import type { Post } from "./core/model.ts";
import { approvePost, type PostReviewDeps, rejectPost } from "./core/post-review.ts";
import { json, parseJsonBody, type RouteDef, viewedPage } from "./http.ts";
import { logger } from "./observability.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The review fields of a post's view: a held or rejected post's status is its review's, whatever
 * its (absent) broadcast would say; an approved one's is its broadcast's.
 */
export function reviewView(
  post: Post,
  status: PostView["status"],
): Pick<PostView, "status" | "reviewReason" | "rejectionReason" | "reviewedAt"> {
  return {
    status: post.review === "held" || post.review === "rejected" ? post.review : status,
    ...(post.reviewReason === undefined ? {} : { reviewReason: post.reviewReason }),
    ...(post.rejectionReason === undefined ? {} : { rejectionReason: post.rejectionReason }),
    ...(post.reviewedAt === undefined ? {} : { reviewedAt: iso(post.reviewedAt) }),
  };
}

/**
 * The review queue (待审核) of the admin API, operator only: the held posts, and approving or
 * rejecting one (core/post-review.ts). `postView` is the admin's view of a post, its progress too.
 */
export function reviewRoutes(
  db: DynamoDBDocumentClient,
  config: z.output<typeof adminSchema>,
  postView: (post: Post) => Promise<PostView>,
): RouteDef[] {
  const sqs = createSqsClient();
  const messageSettings = postMessageSettings(config);
  const deps: PostReviewDeps = {
    posts: new DynamoPostStore(db, config.TABLE_POSTS, config.TABLE_BROADCASTS),
    broadcasts: new DynamoBroadcastStore(db, config.TABLE_BROADCASTS),
    fanoutQueue: new SqsFanoutQueue(sqs, config.QUEUE_URL_FANOUT),
    events: broadcastEventsFrom(config, sqs),
    clock: systemClock,
    composeMessage: (post, paidAt) => composePostMessage(post, paidAt, messageSettings),
  };
  return [
    // Not under /api/posts/: a post's own routes take any name there as an outTradeNo.
    {
      method: "GET",
      pattern: /^\/api\/review$/,
      does: "review posts",
      route: async (event) => {
        const answer: PostList = await viewedPage(
          event,
          (limit, cursor) => deps.posts.listHeld(limit, cursor),
          postView,
        );
        return json(200, answer);
      },
    },
    {
      method: "POST",
      pattern: /^\/api\/posts\/([^/]+)\/approve$/,
      does: "review posts",
      route: async (_event, [id = ""]) => {
        const { broadcastId } = await approvePost(id, deps);
        logger.info("held post approved", { broadcastId });
        return json(202, { outTradeNo: id, broadcastId } satisfies ApprovePostAnswer);
      },
    },
    {
      method: "POST",
      pattern: /^\/api\/posts\/([^/]+)\/reject$/,
      does: "review posts",
      route: async (event, [id = ""]) => {
        const { reason } = parseJsonBody(event, rejectPostBody);
        await rejectPost(id, reason, deps);
        logger.info("held post rejected", { outTradeNo: id });
        return json(200, { outTradeNo: id, status: "rejected" } satisfies RejectPostAnswer);
      },
    },
  ];
}
