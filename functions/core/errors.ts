/**
 * Why a request is refused, as one hierarchy: each refusal carries the HTTP status it is answered
 * with, and what caused it (`cause`, for the logs), so a single mapper (functions/http.ts) turns any
 * of them into an answer. Anything else that escapes is a fault of ours: a 500 with a fixed message.
 */
export abstract class RefusedError extends Error {
  abstract readonly status: RefusalStatus;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The statuses a refusal is answered with. */
type RefusalStatus = 400 | 404 | 409 | 502;

/** One kind of refusal: its name (what the logs show) and the status it is answered with. */
function refusal<const Status extends RefusalStatus>(name: string, status: Status) {
  return class extends RefusedError {
    override readonly name = name;
    readonly status = status;
  };
}

/** Bad input from a caller: answered with 400 and nothing changed. */
export class ValidationError extends refusal("ValidationError", 400) {}

/** A payment notify that is genuine but does not match the registered post: never broadcast. */
export class PaymentMismatchError extends refusal("PaymentMismatchError", 400) {}

/** The thing a request names does not exist: 404. */
export class NotFoundError extends refusal("NotFoundError", 404) {}

/** The request conflicts with the current state (already registered, already sent): 409. */
export class ConflictError extends refusal("ConflictError", 409) {}

/** WeChat refused or did not answer a call made for this request: 502, with WeChat's words. */
export class WeChatRefusedError extends refusal("WeChatRefusedError", 502) {}
