import { randomUUID } from "node:crypto";
import { DynamoBroadcastStore } from "./adapters/dynamodb/broadcast-store.ts";
import { createDocumentClient } from "./adapters/dynamodb/client.ts";
import { DynamoPostStore } from "./adapters/dynamodb/post-store.ts";
import { DynamoSubscriberStore } from "./adapters/dynamodb/subscriber-store.ts";
import { createSqsClient, SqsFanoutQueue } from "./adapters/sqs/queues.ts";
import { adminSchema, loadConfig } from "./config.ts";
import { serveConsole } from "./console/serve.ts";
import {
  type ImportSubscribersAnswer,
  importSubscribersBody,
  type PostList,
  type PostView,
  type RegisterPostAnswer,
  registerPostBody,
  type TallyAnswer,
} from "./contracts/api.ts";
import { ConflictError, ValidationError } from "./core/errors.ts";
import { broadcastProgress, type Post, postBroadcastId } from "./core/model.ts";
import { loadPost } from "./core/post-review.ts";
import { tallyNow } from "./core/tally-reports.ts";
import {
  answerError,
  type HttpEvent,
  json,
  OPERATOR,
  OPERATOR_AND_APP,
  parseJsonBody,
  type RouteDef,
  roleOf,
  viewedPage,
} from "./http.ts";
import { type Answer, respond, streamingHandler } from "./http-stream.ts";
import { logger } from "./observability.ts";
import { postDeliveryRoutes } from "./post-delivery-routes.ts";
import { previewRoutes } from "./preview-routes.ts";
import { resumeRoutes } from "./resume-routes.ts";
import { reviewRoutes, reviewView } from "./review-routes.ts";
import { subscriberRoutes } from "./subscriber-routes.ts";
import { suppressionRoutes } from "./suppression-routes.ts";
import { syncRoutes } from "./sync-routes.ts";
import { taskRoutes } from "./task-routes.ts";

const config = loadConfig(adminSchema);
const db = createDocumentClient();
const subscribers = new DynamoSubscriberStore(db, config.TABLE_SUBSCRIBERS);
const posts = new DynamoPostStore(db, config.TABLE_POSTS, config.TABLE_BROADCASTS);
const broadcasts = new DynamoBroadcastStore(db, config.TABLE_BROADCASTS);
const fanoutQueue = new SqsFanoutQueue(createSqsClient(), config.QUEUE_URL_FANOUT);

/** A post, its payment state and its broadcast's progress, as the post routes answer. */
async function postView(post: Post): Promise<PostView> {
  const broadcast = await broadcasts.get(postBroadcastId(post.outTradeNo));
  const progress = broadcast
    ? broadcastProgress(broadcast)
    : {
        status: "awaiting_payment" as const,
        total: 0,
        sent: 0,
        failed: 0,
        unknown: 0,
        skipped: 0,
        pending: 0,
        byChannel: {},
        byErrcode: {},
        confirmed: 0,
        rejected: 0,
        timeline: [],
      };
  return {
    postId: post.postId,
    outTradeNo: post.outTradeNo,
    amount: post.amount,
    content: post.content,
    contactPhone: post.contactPhone,
    payment: post.status,
    createdAt: new Date(post.createdAt).toISOString(),
    paidAt: post.paidAt ? new Date(post.paidAt).toISOString() : null,
    broadcastId: broadcast?.broadcastId ?? null,
    ...progress,
    ...reviewView(post, progress.status),
  };
}

/** Every route, with the roles that may call it (the operator's alone by default): the one place access is decided. */
export const routes: RouteDef[] = [
  {
    method: "POST",
    pattern: /^\/api\/subscribers$/,
    roles: OPERATOR_AND_APP,
    does: "import subscribers",
    route: async (event) => {
      const body = parseJsonBody(event, importSubscribersBody);
      const unique = new Map(body.subscribers.map((s) => [s.openid, s]));
      const { keptOptedOut } = await subscribers.upsert(
        [...unique.values()].map((s) => ({
          openid: s.openid,
          ...(s.optedIn === undefined ? {} : { optedIn: s.optedIn }),
          ...(s.membershipExpiresAt === undefined
            ? {}
            : { membershipExpiresAt: new Date(s.membershipExpiresAt).getTime() }),
        })),
        Date.now(),
      );
      return json(200, { imported: unique.size, keptOptedOut } satisfies ImportSubscribersAnswer);
    },
  },
  {
    method: "POST",
    pattern: /^\/api\/posts$/,
    roles: OPERATOR_AND_APP,
    does: "register posts",
    route: async (event) => {
      const body = parseJsonBody(event, registerPostBody);
      const post: Post = {
        postId: randomUUID(),
        outTradeNo: body.outTradeNo,
        amount: body.amount,
        content: body.content,
        ...(body.contactPhone ? { contactPhone: body.contactPhone } : {}),
        status: "PENDING",
        createdAt: Date.now(),
      };
      if (!(await posts.create(post)))
        throw new ConflictError(`post ${body.outTradeNo} is already registered`);
      return json(201, { postId: post.postId, outTradeNo: post.outTradeNo } satisfies RegisterPostAnswer);
    },
  },
  {
    method: "GET",
    pattern: /^\/api\/posts\/([^/]+)$/,
    roles: OPERATOR_AND_APP,
    does: "read posts",
    route: async (_event, [id]) => json(200, await postView(await loadPost(id ?? "", { posts }))),
  },
  // Counts the broadcast's delivery reports now instead of at the next scheduled tally pass.
  {
    method: "POST",
    pattern: /^\/api\/posts\/([^/]+)\/tally$/,
    does: "tally delivery reports",
    route: async (_event, [id]) => {
      const post = await loadPost(id ?? "", { posts });
      if (post.status !== "PAID") throw new ConflictError("the post is not paid, so it has no broadcast yet");
      const broadcastId = postBroadcastId(post.outTradeNo);
      await fanoutQueue.sendTally(tallyNow(broadcastId, Date.now()), 0);
      return json(202, { broadcastId } satisfies TallyAnswer);
    },
  },
  // The console's broadcast list: paid posts newest first, each with its broadcast's progress.
  {
    method: "GET",
    pattern: /^\/api\/posts$/,
    does: "list posts",
    route: async (event) => {
      const answer: PostList = await viewedPage(
        event,
        (limit, cursor) => posts.listNewest(limit, cursor),
        postView,
      );
      return json(200, answer);
    },
  },
  // Push tasks and subscribe-message credits (functions/task-routes.ts).
  ...taskRoutes(db, config),
  // Previews and the account's templates: the routes that call WeChat (functions/preview-routes.ts).
  ...previewRoutes(db, config),
  // One subscriber as an operator looks them up (functions/subscriber-routes.ts).
  ...subscriberRoutes(db, config),
  // A post's delivery records, and the CSV exports of posts' and tasks' (functions/post-delivery-routes.ts).
  ...postDeliveryRoutes(db, config),
  // Importing the account's followers from WeChat (functions/sync-routes.ts).
  ...syncRoutes(db, config),
  // The review queue of paid posts: approve or reject a held one (functions/review-routes.ts).
  ...reviewRoutes(db, config, postView),
  // An operator lifts a subscriber's suppression (functions/suppression-routes.ts).
  ...suppressionRoutes(db, config),
  // Ending a quota pause by hand (functions/resume-routes.ts).
  ...resumeRoutes(db, config),
];

const logFailure = (message: string, cause: Error) => logger.error(`admin ${message}`, cause);

/**
 * The admin and app API, bearer-token auth by role, as a response-streaming handler (its Function
 * URL's invoke mode is RESPONSE_STREAM): JSON answers and the console's files are written whole,
 * CSV exports as their pages are read.
 */
export const handler = streamingHandler<HttpEvent>(async (event, responseStream) => {
  await respond(await answer(event), responseStream, {
    answer: (error) => answerError(error, logFailure),
    log: (error) => logFailure("stream failed", error as Error),
  });
});

/** The answer to one request: the console's files, or a route's. */
async function answer(event: HttpEvent): Promise<Answer> {
  // The console page holds no secret (it asks the operator for the token), so it needs none.
  const page = serveConsole(event);
  if (page) return page;
  const role = roleOf(event, { operator: config.ADMIN_TOKEN, app: config.APP_TOKEN });
  if (!role) return json(401, { error: "missing or wrong bearer token (Authorization: Bearer <token>)" });
  const method = event.requestContext.http.method;
  const path = event.rawPath;
  const matches = routes.filter((r) => r.pattern.test(path));
  const match = matches.find((r) => r.method === method);
  if (!match)
    return matches.length > 0
      ? json(405, { error: "method not allowed" })
      : json(404, { error: "no such route" });
  if (!(match.roles ?? OPERATOR).includes(role))
    return json(403, { error: `this token may not ${match.does}` });
  try {
    const params = (match.pattern.exec(path)?.slice(1) ?? []).map(decodePathParam);
    return await match.route(event, params);
  } catch (error) {
    return answerError(error, logFailure);
  }
}

/** A path segment, percent-decoded; a malformed escape is the caller's error. */
function decodePathParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ValidationError("the path has a malformed percent-encoding");
  }
}
