import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DynamoTokenStore } from "./adapters/dynamodb/token-store.ts";
import { SqsTokenRefreshRequester } from "./adapters/sqs/queues.ts";
import { systemClock } from "./clock.ts";
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
 * The access token as every WeChat caller but the refresher takes it: from the Tokens table, a
 * refusal reported there and, in refresher mode, a refresh asked for on the token-refresh queue.
 */
export function sharedToken(
  db: DynamoDBDocumentClient,
  sqs: SQSClient,
  config: {
    readonly TABLE_TOKENS: string;
    readonly WECHAT_APP_ID: string;
    readonly WECHAT_TOKEN_SOURCE: "refresher" | "external";
    readonly QUEUE_URL_TOKEN_REFRESH: string;
  },
): SharedToken {
  return new SharedToken({
    store: new DynamoTokenStore(db, config.TABLE_TOKENS, config.WECHAT_APP_ID),
    refresh:
      config.WECHAT_TOKEN_SOURCE === "refresher"
        ? new SqsTokenRefreshRequester(sqs, config.QUEUE_URL_TOKEN_REFRESH)
        : awaitCentralServer,
    clock: systemClock,
  });
}
