import { randomBytes } from "node:crypto";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { z } from "zod";
import { DynamoSyncStore } from "./adapters/dynamodb/sync-store.ts";
import { createSqsClient } from "./adapters/sqs/queues.ts";
import { SqsSyncQueue } from "./adapters/sqs/sync-queue.ts";
import { systemClock } from "./clock.ts";
import type { adminSchema } from "./config.ts";
import type { StartSyncAnswer, SyncView } from "./contracts/api.ts";
import { NotFoundError } from "./core/errors.ts";
import { type StartSyncDeps, startSync, syncProgress } from "./core/follower-syncs.ts";
import { json, type RouteDef } from "./http.ts";
import { logger } from "./observability.ts";

/** Sync ids sort by start time and are hard to guess. */
const SYNC_ID = /^[0-9a-z]{8,40}$/;
const newSyncId = (now: number) => `${now.toString(36)}${randomBytes(5).toString("hex")}`;

/** The follower-sync routes of the admin API (operator only): start or resume a sync, and watch it. */
export function syncRoutes(db: DynamoDBDocumentClient, config: z.output<typeof adminSchema>): RouteDef[] {
  const deps: StartSyncDeps = {
    syncs: new DynamoSyncStore(db, config.TABLE_SYNCS),
    queue: new SqsSyncQueue(createSqsClient(), config.QUEUE_URL_SYNC),
    clock: systemClock,
    newSyncId,
    newLease: () => randomBytes(12).toString("base64url"),
  };
  return [
    {
      method: "POST",
      pattern: /^\/api\/subscribers\/sync$/,
      does: "import followers from WeChat",
      route: async () => {
        const { syncId, resumed } = await startSync(deps);
        logger.info(resumed ? "follower sync resumed" : "follower sync started", { syncId });
        return json(202, { syncId } satisfies StartSyncAnswer);
      },
    },
    {
      method: "GET",
      pattern: /^\/api\/subscribers\/sync\/([^/]+)$/,
      does: "read follower syncs",
      route: async (_event, [id]) => {
        const sync = SYNC_ID.test(id ?? "") ? await deps.syncs.get(id ?? "") : undefined;
        if (!sync) throw new NotFoundError("no follower sync with this id");
        return json(200, syncProgress(sync, deps.clock.now()) satisfies SyncView);
      },
    },
  ];
}
