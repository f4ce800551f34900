import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DynamoTokenStore } from "./adapters/dynamodb/token-store.ts";
import { SqsTokenRefreshRequester } from "./adapters/sqs/queues.ts";
import { WeChatApiClient } from "./adapters/wechat/api-client.ts";
import { systemClock } from "./clock.ts";
import { fallbackBaseUrl, type WeChatCallerConfig } from "./config.ts";
import { SharedToken } from "./core/access-token.ts";
import type { TokenRefreshRequester } from "./core/ports.ts";
import { logger } from "./observability.ts";

/** External mode: nobody here can refresh; the central server's next push (or TokenStale) ends the wait. */
const awaitCentralServer: TokenRefreshRequester = {
  async request() {
    logger.warn("waiting for the central token server to push a token (PUT /api/access-token)");
  },
};

/**
 * What a function that calls WeChat needs: the API client and the shared access token, read from
 * the token table and never fetched here (only the refresher, or the central server, does that).
 */
export function wechatCaller(
  config: WeChatCallerConfig,
  clients: { readonly db: DynamoDBDocumentClient; readonly sqs: SQSClient },
  maxInFlight: number,
): { readonly wechat: WeChatApiClient; readonly tokens: SharedToken } {
  const wechat = new WeChatApiClient({
    baseUrl: config.WECHAT_API_BASE,
    fallbackBaseUrl: fallbackBaseUrl(config),
    maxInFlight,
    timeoutMs: config.WECHAT_TIMEOUT_MS,
  });
  const tokens = new SharedToken({
    store: new DynamoTokenStore(clients.db, config.TABLE_TOKENS, config.WECHAT_APP_ID),
    refresh:
      config.WECHAT_TOKEN_SOURCE === "refresher"
        ? new SqsTokenRefreshRequester(clients.sqs, config.QUEUE_URL_TOKEN_REFRESH)
        : awaitCentralServer,
    clock: systemClock,
  });
  return { wechat, tokens };
}
