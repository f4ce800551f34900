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
