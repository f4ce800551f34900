import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { z } from "zod";
import { DynamoDeliveryLookup } from "./adapters/dynamodb/delivery-lookup.ts";
import { RECORD_RETENTION_SECONDS } from "./adapters/dynamodb/delivery-store.ts";
import { DynamoPostStore } from "./adapters/dynamodb/post-store.ts";
import { DynamoSubscriberReader } from "./adapters/dynamodb/subscriber-reader.ts";
import { systemClock } from "./clock.ts";
import type { adminSchema } from "./config.ts";
import { openid as openidSchema, type RecentDeliveryView, type SubscriberView } from "./contracts/api.ts";
import { NotFoundError } from "./core/errors.ts";
import { type RecentDelivery, recentDeliveries, subscriberState } from "./core/subscriber-lookup.ts";
import { json, parsePathParam, type RouteDef } from "./http.ts";
import { taskStore } from "./task-routes.ts";

/** Deliveries a lookup shows. */
const RECENT = 20;
/**
 * Read units one lookup may spend on delivery records (about $0.0013 at on-demand prices): some 250
 * broadcasts of 100,000 recipients, or 20,000 task broadcasts (README, "Subscriber lookup").
 */
const READ_BUDGET = 10_000;
/** Broadcasts searched at once. */
const CONCURRENCY = 4;
/** No broadcast is searched after this long: the admin function's timeout is 30 s. */
const TIME_BUDGET_MS = 15_000;
/**
 * Words under /api/subscribers/ that are routes of their own, not openids (an openid has at least 6
 * characters, so none of these can be one).
 */
const RESERVED = ["sync"];

const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

function deliveryView({ source, record }: RecentDelivery): RecentDeliveryView {
  return {
    kind: source.kind,
    id: source.id,
    title: source.title,
    broadcastId: source.broadcastId,
    status: record.outcome,
    channel: record.channel ?? null,
    errcode: record.errcode ?? null,
    errmsg: record.errmsg ?? null,
    at: new Date(record.at).toISOString(),
  };
}

/** `GET /api/subscribers/{openid}`: one subscriber as the operator looks them up. */
export function subscriberRoutes(
  db: DynamoDBDocumentClient,
  config: z.output<typeof adminSchema>,
): RouteDef[] {
  const reader = new DynamoSubscriberReader(db, {
    subscribers: config.TABLE_SUBSCRIBERS,
    credits: config.TABLE_CREDITS,
  });
  const posts = new DynamoPostStore(db, config.TABLE_POSTS, config.TABLE_BROADCASTS);
  const tasks = taskStore(db, config);
  const finder = new DynamoDeliveryLookup(db, {
    deliveries: config.TABLE_DELIVERIES,
    broadcasts: config.TABLE_BROADCASTS,
  });
  return [
    {
      method: "GET",
      pattern: new RegExp(`^\\/api\\/subscribers\\/(?!${RESERVED.join("$|")}$)([^/]+)$`),
      does: "look up subscribers",
      route: async (_event, [segment = ""]) => {
        const openid = parsePathParam("openid", segment, openidSchema);
        const stored = await reader.get(openid);
        if (!stored) throw new NotFoundError("no subscriber with this openid");
        const now = systemClock.now();
        const [credits, recent] = await Promise.all([
          reader.credits(openid),
          recentDeliveries(
            openid,
            {
              posts: (cursor, limit) => posts.listNewest(limit, cursor),
              tasks: (cursor, limit) => tasks.list(limit, cursor),
              finder,
              clock: systemClock,
            },
            {
              limit: RECENT,
              readBudget: READ_BUDGET,
              concurrency: CONCURRENCY,
              retentionMs: RECORD_RETENTION_SECONDS * 1000,
              stopAt: now + TIME_BUDGET_MS,
            },
          ),
        ]);
        const state = subscriberState(stored, now);
        const answer: SubscriberView = {
          openid,
          optedIn: state.optedIn,
          optedInBy: state.optedInBy,
          optedInSince: iso(state.optedInSince),
          followed: state.followed,
          followedChangedAt: iso(state.followedChangedAt),
          membershipExpiresAt: iso(state.membershipExpiresAt),
          membershipActive: state.membershipActive,
          window: state.window
            ? {
                until: iso(state.window.until) ?? "",
                remaining: state.window.remaining,
                open: state.window.open,
              }
            : null,
          inAudience: state.inAudience,
          suppressed: state.suppressed
            ? { reason: state.suppressed.reason, since: iso(state.suppressed.since) }
            : null,
          lastInteractionAt: iso(stored.lastInteractionAt),
          createdAt: iso(stored.createdAt),
          credits: credits.map((c) => ({
            templateId: c.templateId,
            credits: c.credits,
            updatedAt: iso(c.updatedAt),
          })),
          recentDeliveries: {
            items: recent.items.map(deliveryView),
            searchedBroadcasts: recent.searchedBroadcasts,
            readUnits: recent.readUnits,
            complete: recent.complete,
            stoppedBy: recent.stoppedBy,
          },
        };
        return json(200, answer);
      },
    },
  ];
}
