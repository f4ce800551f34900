import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { z } from "zod";
import { DynamoBroadcastStore } from "./adapters/dynamodb/broadcast-store.ts";
import { DynamoParkStore } from "./adapters/dynamodb/park-store.ts";
import { DynamoPostStore } from "./adapters/dynamodb/post-store.ts";
import type { adminSchema } from "./config.ts";
import type { ResumeAnswer } from "./contracts/api.ts";
import { postBroadcastId } from "./core/model.ts";
import { loadPost } from "./core/post-review.ts";
import { taskBroadcastId } from "./core/push-task.ts";
import { loadTask } from "./core/push-tasks.ts";
import { resumePaused } from "./core/resume-parked.ts";
import { json, type RouteDef } from "./http.ts";
import { logger } from "./observability.ts";
import { taskStore } from "./task-routes.ts";

/**
 * `POST /api/posts/{outTradeNo}/resume` and `POST /api/tasks/{id}/resume` (operator only): ends a
 * quota pause now, for when the quota is back before the resumer's next check (cleared in the MP
 * console, say). 202: its parked recipients go on within a minute; 409 when it is not paused.
 */
export function resumeRoutes(db: DynamoDBDocumentClient, config: z.output<typeof adminSchema>): RouteDef[] {
  const posts = new DynamoPostStore(db, config.TABLE_POSTS, config.TABLE_BROADCASTS);
  const tasks = taskStore(db, config);
  const broadcasts = new DynamoBroadcastStore(db, config.TABLE_BROADCASTS);
  const parked = new DynamoParkStore(db, config.TABLE_BROADCASTS);
  /** Resumes the broadcast if it has started (`started`) and is paused; `what` names it in a 409. */
  const resume = async (broadcastId: string, started: boolean, what: string) => {
    await resumePaused(started ? await broadcasts.get(broadcastId) : undefined, what, parked);
    logger.info("quota pause ended by an operator", { broadcastId });
    return json(202, { broadcastId } satisfies ResumeAnswer);
  };
  return [
    {
      method: "POST",
      pattern: /^\/api\/posts\/([^/]+)\/resume$/,
      does: "resume paused broadcasts",
      route: async (_event, [id]) => {
        const post = await loadPost(id ?? "", { posts });
        return resume(postBroadcastId(post.outTradeNo), post.status === "PAID", "post's broadcast");
      },
    },
    {
      method: "POST",
      pattern: /^\/api\/tasks\/([^/]+)\/resume$/,
      does: "resume paused push tasks",
      route: async (_event, [id]) => {
        const task = await loadTask(id ?? "", { tasks });
        return resume(taskBroadcastId(task.taskId), task.status === "sending", "task");
      },
    },
  ];
}
