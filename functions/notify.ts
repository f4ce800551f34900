import { DynamoBroadcastStore } from "./adapters/dynamodb/broadcast-store.ts";
import { createDocumentClient } from "./adapters/dynamodb/client.ts";
import { DynamoPostStore } from "./adapters/dynamodb/post-store.ts";
import { createSqsClient, SqsFanoutQueue } from "./adapters/sqs/queues.ts";
import {
  createNotifyVerifier,
  loadWechatPayKeys,
  NotifyRejectedError,
} from "./adapters/wechatpay/notify-verifier.ts";
import { broadcastEventsFrom } from "./broadcast-events.ts";
import { systemClock } from "./clock.ts";
import { loadConfig, notifySchema, pemText, postMessageSettings, wechatPayPublicKeyPem } from "./config.ts";
import { contentCheckFrom } from "./content-check.ts";
import { acceptPayment } from "./core/accept-payment.ts";
import { composePostMessage } from "./core/broadcast-message.ts";
import { type HttpEvent, type HttpResult, json, rawBody, statusOf } from "./http.ts";
import { countNotifyFailure, publishMetrics } from "./metrics.ts";
import { logger } from "./observability.ts";

const config = loadConfig(notifySchema);
const db = createDocumentClient();
const posts = new DynamoPostStore(db, config.TABLE_POSTS, config.TABLE_BROADCASTS);
const broadcasts = new DynamoBroadcastStore(db, config.TABLE_BROADCASTS);
const sqs = createSqsClient();
const fanoutQueue = new SqsFanoutQueue(sqs, config.QUEUE_URL_FANOUT);
const review = { check: contentCheckFrom(config), posts, events: broadcastEventsFrom(config, sqs) };
const platformCertificates = Object.fromEntries(
  Object.entries(config.WECHATPAY_PLATFORM_CERT_FILES).map(([serial, pemOrFile]) => [
    serial,
    pemText(pemOrFile),
  ]),
);
const keys = loadWechatPayKeys({
  publicKeyId: config.WECHATPAY_PUBLIC_KEY_ID,
  publicKeyPem: wechatPayPublicKeyPem(config),
  platformCertificates,
});
for (const { serial, reason } of keys.refused)
  logger.error("WeChat Pay platform certificate refused: notifies signed with it are rejected", {
    serial,
    reason,
  });
const verify = createNotifyVerifier({ apiV3Key: config.WECHATPAY_APIV3_KEY, keys });
const merchant = { appId: config.WECHAT_APP_ID, mchId: config.WECHATPAY_MCH_ID };
const messageSettings = postMessageSettings(config);

/** WeChat Pay's failure answer: `message` is at most 64 characters. */
function fail(status: number, message: string): HttpResult {
  return json(status, { code: "FAIL", message: message.slice(0, 64) });
}

/** POST /wechatpay/notify: WeChat Pay API v3 payment notify. */
export async function handler(event: HttpEvent): Promise<HttpResult> {
  if (event.requestContext.http.method !== "POST") return fail(405, "method not allowed");
  try {
    const notice = verify({ headers: event.headers, rawBody: rawBody(event) });
    const result = await acceptPayment(notice, merchant, {
      posts,
      broadcasts,
      fanoutQueue,
      clock: systemClock,
      composeMessage: (post, paidAt) => composePostMessage(post, paidAt, messageSettings),
      review,
    });
    logger.info("payment accepted", { outcome: result.kind, broadcastId: result.broadcastId });
    return { statusCode: 204 };
  } catch (error) {
    if (error instanceof NotifyRejectedError) {
      logger.warn("notify refused", { reason: error.reason });
      return fail(error.status, error.message);
    }
    const status = statusOf(error);
    if (status) {
      logger.warn("notify does not match a payable post", { error: (error as Error).message });
      return fail(status, (error as Error).message);
    }
    logger.error("notify failed", error as Error);
    countNotifyFailure();
    publishMetrics();
    return fail(500, "internal error, please retry");
  }
}
