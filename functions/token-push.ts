import { createDocumentClient } from "./adapters/dynamodb/client.ts";
import { DynamoTokenStore } from "./adapters/dynamodb/token-store.ts";
import { loadConfig, tokenPushSchema } from "./config.ts";
import { accessTokenPush } from "./contracts/api.ts";
import { answerError, type HttpEvent, type HttpResult, hasBearerToken, json, parseJsonBody } from "./http.ts";
import { logger } from "./observability.ts";

const config = loadConfig(tokenPushSchema);
const store = new DynamoTokenStore(createDocumentClient(), config.TABLE_TOKENS, config.WECHAT_APP_ID);

/**
 * PUT /api/access-token: the account's central token server (中控服务器) pushes the token it holds,
 * with its own bearer secret. Only in external mode; a stage with its own refresher takes no pushes.
 */
export async function handler(event: HttpEvent): Promise<HttpResult> {
  if (config.WECHAT_TOKEN_SOURCE !== "external" || !config.WECHAT_TOKEN_PUSH_SECRET)
    return json(404, { error: "this stage fetches its own access token (WECHAT_TOKEN_SOURCE=refresher)" });
  if (event.requestContext.http.method !== "PUT") return json(405, { error: "use PUT" });
  if (!hasBearerToken(event, config.WECHAT_TOKEN_PUSH_SECRET))
    return json(401, {
      error: "missing or wrong bearer token (Authorization: Bearer <WECHAT_TOKEN_PUSH_SECRET>)",
    });
  try {
    const body = parseJsonBody(event, accessTokenPush);
    const now = Date.now();
    const expiresAt = now + body.expiresIn * 1000;
    if ((await store.accept({ accessToken: body.accessToken, expiresAt }, now)) === "superseded")
      return json(409, {
        error: "a different token that expires later is stored; this push changed nothing",
      });
    logger.info("access token pushed", { expiresInSeconds: body.expiresIn });
    return { statusCode: 204 };
  } catch (error) {
    return answerError(error, (message, cause) => logger.error(`access token push ${message}`, cause));
  }
}
