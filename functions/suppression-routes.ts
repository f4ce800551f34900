import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { z } from "zod";
import { DynamoSuppressionStore } from "./adapters/dynamodb/suppression-store.ts";
import type { adminSchema } from "./config.ts";
import { openid as openidSchema, type UnsuppressAnswer } from "./contracts/api.ts";
import { NotFoundError } from "./core/errors.ts";
import { json, parsePathParam, type RouteDef } from "./http.ts";
import { logger, maskOpenid } from "./observability.ts";

/**
 * `POST /api/subscribers/{openid}/unsuppress`: an operator lifts a subscriber's suppression (the
 * user re-enabled the account's messages, say). Idempotent: 200 whether or not they were suppressed,
 * `lifted` saying which; 404 for an openid Fanout does not know. Their optedIn is left as it is.
 */
export function suppressionRoutes(
  db: DynamoDBDocumentClient,
  config: z.output<typeof adminSchema>,
): RouteDef[] {
  const store = new DynamoSuppressionStore(db, config.TABLE_SUBSCRIBERS);
  return [
    {
      method: "POST",
      pattern: /^\/api\/subscribers\/([^/]+)\/unsuppress$/,
      does: "lift suppressions",
      route: async (_event, [segment = ""]) => {
        const openid = parsePathParam("openid", segment, openidSchema);
        const lifted = await store.unsuppress(openid);
        if (lifted === undefined) throw new NotFoundError("no subscriber with this openid");
        if (lifted) logger.info("suppression lifted by an operator", { openid: maskOpenid(openid), lifted });
        return json(200, { openid, lifted } satisfies UnsuppressAnswer);
      },
    },
  ];
}
