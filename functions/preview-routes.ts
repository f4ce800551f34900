import { randomUUID } from "node:crypto";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { z } from "zod";
import { DynamoCreditStore } from "./adapters/dynamodb/credit-store.ts";
import { DynamoPostStore } from "./adapters/dynamodb/post-store.ts";
import { DynamoSubscriberStore } from "./adapters/dynamodb/subscriber-store.ts";
import { createSqsClient } from "./adapters/sqs/queues.ts";
import { systemClock } from "./clock.ts";
import type { adminSchema } from "./config.ts";
import { type PreviewAnswer, previewBody, type TemplatesAnswer } from "./contracts/api.ts";
import {
  listTemplates,
  type PreviewDeps,
  type PreviewResult,
  previewPost,
  previewTask,
} from "./core/preview.ts";
import { loadTask } from "./core/push-tasks.ts";
import { json, parseJsonBody, type RouteDef } from "./http.ts";
import { logger } from "./observability.ts";
import { taskStore } from "./task-routes.ts";
import { wechatCaller } from "./wechat-caller.ts";

/** At most this many preview calls at once: one request's 10 test openids. */
const PREVIEW_IN_FLIGHT = 10;

/** What a preview's log line says: how many went, and WeChat's errcodes (never the openids). */
function previewSummary(results: readonly PreviewResult[]) {
  return {
    recipients: results.length,
    sent: results.filter((r) => r.errcode === 0).length,
    errcodes: [
      ...new Set(results.flatMap((r) => (r.errcode === null || r.errcode === 0 ? [] : [r.errcode]))),
    ],
  };
}

/** Previews of tasks and posts, and the account's templates: the admin routes that call WeChat. */
export function previewRoutes(db: DynamoDBDocumentClient, config: z.output<typeof adminSchema>): RouteDef[] {
  const tasks = taskStore(db, config);
  const { wechat, tokens } = wechatCaller(config, { db, sqs: createSqsClient() }, PREVIEW_IN_FLIGHT);
  const deps: PreviewDeps = {
    tokens,
    wechat,
    consent: new DynamoSubscriberStore(db, config.TABLE_SUBSCRIBERS),
    credits: new DynamoCreditStore(db, config.TABLE_CREDITS),
    posts: new DynamoPostStore(db, config.TABLE_POSTS, config.TABLE_BROADCASTS),
    clock: systemClock,
    postMessage: {
      templateId: config.WECHAT_TEMPLATE_ID,
      fieldMapping: config.WECHAT_TEMPLATE_FIELDS,
      ...(config.POST_URL ? { postUrl: config.POST_URL } : {}),
    },
    taskSettings: {
      miniProgramState: config.WECHAT_MINIPROGRAM_STATE,
      ...(config.WECHAT_MINIPROGRAM_APP_ID ? { miniProgramAppId: config.WECHAT_MINIPROGRAM_APP_ID } : {}),
    },
  };
  const answer = (results: PreviewResult[]) => json(200, { results } satisfies PreviewAnswer);

  return [
    {
      method: "POST",
      pattern: /^\/api\/tasks\/([^/]+)\/preview$/,
      does: "preview push tasks",
      route: async (event, [id]) => {
        const { openids } = parseJsonBody(event, previewBody);
        const task = await loadTask(id ?? "", { tasks });
        const results = await previewTask(task, openids, randomUUID(), deps);
        logger.info("task preview sent", { taskId: task.taskId, ...previewSummary(results) });
        return answer(results);
      },
    },
    {
      method: "POST",
      pattern: /^\/api\/posts\/([^/]+)\/preview$/,
      does: "preview posts",
      route: async (event, [outTradeNo]) => {
        const { openids } = parseJsonBody(event, previewBody);
        const results = await previewPost(outTradeNo ?? "", openids, randomUUID(), deps);
        logger.info("post preview sent", { outTradeNo, ...previewSummary(results) });
        return answer(results);
      },
    },
    {
      method: "GET",
      pattern: /^\/api\/templates$/,
      does: "list the account's templates",
      route: async () => {
        const templates = (await listTemplates(deps)).map((t) => ({ ...t, keys: [...t.keys] }));
        return json(200, { templates } satisfies TemplatesAnswer);
      },
    },
  ];
}
