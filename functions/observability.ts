import { Logger } from "@aws-lambda-powertools/logger";

/** One structured logger per container; level from POWERTOOLS_LOG_LEVEL (default INFO). */
export const logger = new Logger({ serviceName: "wechat-fanout" });

/** An openid shortened so logs can correlate without holding a whole user identifier. */
export function maskOpenid(openid: string): string {
  return openid.length <= 8 ? "…" : `${openid.slice(0, 6)}…`;
}
