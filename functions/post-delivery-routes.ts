import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { z } from "zod";
import { DynamoDeliveryStore } from "./adapters/dynamodb/delivery-store.ts";
import {
  DynamoGroupedDeliveryReader,
  decodeGroupedCursor,
  encodeGroupedCursor,
  type GroupedCursor,
} from "./adapters/dynamodb/grouped-deliveries.ts";
import { DynamoPostStore } from "./adapters/dynamodb/post-store.ts";
import type { adminSchema } from "./config.ts";
import { type DeliveriesPage, deliveriesQuery } from "./contracts/api.ts";
import { NotFoundError } from "./core/errors.ts";
import type { DeliveryRecord, Outcome } from "./core/model.ts";
import { postBroadcastId } from "./core/model.ts";
import { loadPost } from "./core/post-review.ts";
import { taskBroadcastId } from "./core/push-task.ts";
import { deliveriesCsv } from "./csv.ts";
import { JSON_HEADERS, json, parseQuery, type RouteDef, type StreamedResult } from "./http.ts";
import { deliveryView, taskStore } from "./task-routes.ts";

/** Records read per page of an export: one page in memory at a time. */
const EXPORT_PAGE = 500;

/** `?status=` of an export: like the listing's, all statuses when absent. */
const exportQuery = z.object({ status: deliveriesQuery.shape.status });

/** Every page of a listing, read one after the other as the export is written. */
async function* pagesOf<C>(
  read: (after: C | undefined) => Promise<{ items: readonly DeliveryRecord[]; next: C | null }>,
): AsyncGenerator<readonly DeliveryRecord[]> {
  let after: C | undefined;
  do {
    const page = await read(after);
    yield page.items;
    after = page.next ?? undefined;
  } while (after !== undefined);
}

/** `post-ABC123-failed.csv`: only characters every file system takes. */
const fileName = (kind: string, id: string, status: Outcome | undefined) =>
  `${kind}-${id.replace(/[^A-Za-z0-9_-]/g, "_")}-${status ?? "all"}.csv`;

function csvAnswer(name: string, pages: AsyncIterable<readonly DeliveryRecord[]>): StreamedResult {
  return {
    statusCode: 200,
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${name}"`,
      "cache-control": JSON_HEADERS["cache-control"],
      "x-content-type-options": JSON_HEADERS["x-content-type-options"],
    },
    body: deliveriesCsv(pages),
  };
}

type ExportRead<C> = (
  broadcastId: string,
  opts: { limit: number; after?: C; outcome?: Outcome },
) => Promise<{ items: readonly DeliveryRecord[]; next: C | null }>;

/** `GET /api/<kind>s/{id}/deliveries.csv?status=`: the records of one status (all when absent), streamed. */
function exportRoute<C>(
  kind: "post" | "task",
  does: string,
  broadcastOf: (id: string) => Promise<string>,
  read: ExportRead<C>,
): RouteDef {
  return {
    method: "GET",
    pattern: new RegExp(`^\\/api\\/${kind}s\\/([^/]+)\\/deliveries\\.csv$`),
    does,
    route: async (event, [id = ""]) => {
      const broadcastId = await broadcastOf(id);
      const { status } = parseQuery(event, exportQuery);
      return csvAnswer(
        fileName(kind, id, status),
        pagesOf<C>((after) =>
          read(broadcastId, {
            limit: EXPORT_PAGE,
            ...(after === undefined ? {} : { after }),
            ...(status ? { outcome: status } : {}),
          }),
        ),
      );
    },
  };
}

/**
 * A paid post's delivery records (listed like a task's, from its grouped items), and CSV exports of
 * a post's and a task's records, streamed page by page.
 */
export function postDeliveryRoutes(
  db: DynamoDBDocumentClient,
  config: z.output<typeof adminSchema>,
): RouteDef[] {
  const posts = new DynamoPostStore(db, config.TABLE_POSTS, config.TABLE_BROADCASTS);
  const grouped = new DynamoGroupedDeliveryReader(db, config.TABLE_DELIVERIES);
  const records = new DynamoDeliveryStore(db, config.TABLE_DELIVERIES);
  const tasks = taskStore(db, config);
  const postBroadcast = async (outTradeNo: string) => {
    const post = await loadPost(outTradeNo, { posts });
    return postBroadcastId(post.outTradeNo);
  };
  const taskBroadcast = async (taskId: string) => {
    const task = await tasks.get(taskId);
    if (!task) throw new NotFoundError("no such task");
    return taskBroadcastId(task.taskId);
  };

  return [
    {
      method: "GET",
      pattern: /^\/api\/posts\/([^/]+)\/deliveries$/,
      does: "list post deliveries",
      route: async (event, [id = ""]) => {
        const broadcastId = await postBroadcast(id);
        const query = parseQuery(event, deliveriesQuery);
        const page = await grouped.listPage(broadcastId, {
          limit: query.limit,
          ...(query.cursor ? { after: decodeGroupedCursor(query.cursor) } : {}),
          ...(query.status ? { outcome: query.status } : {}),
        });
        const answer: DeliveriesPage = {
          items: page.items.map(deliveryView),
          next: encodeGroupedCursor(page.next),
        };
        return json(200, answer);
      },
    },
    exportRoute<GroupedCursor>("post", "export post deliveries", postBroadcast, (broadcastId, opts) =>
      grouped.listPage(broadcastId, opts),
    ),
    exportRoute<string>("task", "export push-task deliveries", taskBroadcast, (broadcastId, opts) =>
      records.listPage(broadcastId, opts),
    ),
  ];
}
