/**
 * What the sender does with a WeChat errcode:
 * - `ok`: delivered;
 * - `token`: the access token is stale: drop it, fetch again (normal mode), retry once;
 * - `window`: no customer-service window (or it is used up): send the template message instead;
 * - `transient`: retry with backoff, then through the queue;
 * - `quota`: the daily quota is gone: pause the broadcast, keep recipients pending;
 * - `permanent`: record the failure, never retry.
 */
export type ErrcodeClass = "ok" | "token" | "window" | "transient" | "quota" | "permanent";

/** Errcode used for a call that got no WeChat answer (timeout, connection error, HTTP 5xx). */
export const TRANSPORT_ERRCODE = -2;

const TOKEN_ERRCODES = new Set([40001, 42001, 40014]);
const WINDOW_ERRCODES = new Set([45015, 45047]);
const TRANSIENT_ERRCODES = new Set([-1, TRANSPORT_ERRCODE, 45011]);

/** Classifies a WeChat errcode into the action the sender takes. */
export function classifyErrcode(errcode: number): ErrcodeClass {
  if (errcode === 0) return "ok";
  if (TOKEN_ERRCODES.has(errcode)) return "token";
  if (WINDOW_ERRCODES.has(errcode)) return "window";
  if (TRANSIENT_ERRCODES.has(errcode)) return "transient";
  if (errcode === 45009) return "quota";
  return "permanent";
}

/** The IP WeChat names in a whitelist refusal ("invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist"). */
function callerIp(errmsg: string): string {
  return /\b(\d{1,3}(?:\.\d{1,3}){3})\b/.exec(errmsg)?.[1] ?? "the caller's IP";
}

/** What an operator does about a refused token call, in words for the log and the alarm. */
export function explainTokenRefusal(errcode: number, errmsg: string): string {
  switch (errcode) {
    case 40164:
      return (
        `WeChat does not accept calls from ${callerIp(errmsg)}: add the stage's wechatEgressIps to the ` +
        "account's IP whitelist (设置与开发 → 基本配置 → IP白名单)"
      );
    case 89503:
      return (
        `WeChat wants the account's administrator to confirm this call from ${callerIp(errmsg)}: ` +
        "confirm it in WeChat, and add the stage's wechatEgressIps to the IP whitelist"
      );
    case 40001:
    case 40125:
      return "the AppSecret is wrong or was reset: set the current one (sst secret set WechatAppSecret)";
    case 40013:
      return "WECHAT_APP_ID is not a valid AppID";
    case 45009:
      return "the day's token quota is used up; it resets at midnight (Asia/Shanghai)";
    default:
      return "see WeChat's error code list";
  }
}
