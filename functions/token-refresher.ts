import type { Context } from "aws-lambda";
import { createDocumentClient } from "./adapters/dynamodb/client.ts";
import { DynamoTokenStore } from "./adapters/dynamodb/token-store.ts";
import { StableTokenFetcher, TokenFetchError, WeChatApiClient } from "./adapters/wechat/api-client.ts";
import { systemClock } from "./clock.ts";
import { fallbackBaseUrl, loadConfig, tokenRefresherSchema } from "./config.ts";
import { describeToken, isStale, refreshToken } from "./core/access-token.ts";
import { explainTokenRefusal } from "./core/errcodes.ts";
import { countTokenRefresh, countTokenRefreshFailure, countTokenStale, publishMetrics } from "./metrics.ts";
import { logger } from "./observability.ts";

const config = loadConfig(tokenRefresherSchema);
const store = new DynamoTokenStore(createDocumentClient(), config.TABLE_TOKENS, config.WECHAT_APP_ID);
// Nothing in external mode calls WeChat's token APIs: there is no fetcher (and no AppSecret) then.
const fetcher =
  config.WECHAT_TOKEN_SOURCE === "refresher" && config.WECHAT_APP_SECRET
    ? new StableTokenFetcher(
        new WeChatApiClient({
          baseUrl: config.WECHAT_API_BASE,
          fallbackBaseUrl: fallbackBaseUrl(config),
          maxInFlight: 1,
          timeoutMs: config.WECHAT_TIMEOUT_MS,
        }),
        config.WECHAT_APP_ID,
        config.WECHAT_APP_SECRET,
      )
    : undefined;

async function refresh(fetcher: StableTokenFetcher, owner: string): Promise<void> {
  try {
    const result = await refreshToken({ store, fetcher, clock: systemClock, owner });
    if (result.kind !== "refreshed") return;
    countTokenRefresh();
    logger.info("access token refreshed", { expiresInSeconds: result.expiresInSeconds });
  } catch (error) {
    countTokenRefreshFailure();
    if (error instanceof TokenFetchError)
      logger.error("WeChat refused to issue an access token", {
        errcode: error.errcode,
        errmsg: error.errmsg.slice(0, 200),
        explanation: explainTokenRefusal(error.errcode, error.errmsg),
      });
    else logger.error("access token refresh failed", error as Error);
  }
}

/** External mode: the central server's token must be fresh; TokenStale tells operations when it is not. */
async function watch(): Promise<void> {
  const now = Date.now();
  const token = await store.read();
  if (!isStale(token, now)) return;
  countTokenStale();
  logger.warn("the pushed access token is stale: no newer push from the central token server", {
    token: describeToken(token, now),
  });
}

/**
 * Runs on its schedule and on senders' requests (SQS). A request is always acknowledged: a failed
 * refresh is counted and logged, and the next schedule or request tries again.
 */
export async function handler(
  event: unknown,
  context: Context,
): Promise<{ batchItemFailures: [] } | undefined> {
  try {
    if (fetcher) await refresh(fetcher, context.awsRequestId);
    else await watch();
  } finally {
    publishMetrics();
  }
  return typeof event === "object" && event !== null && "Records" in event
    ? { batchItemFailures: [] }
    : undefined;
}
