/** Bad input from a caller: answered with 400 and nothing changed. */
export class ValidationError extends Error {
  override readonly name = "ValidationError";
}

/** The thing a request names does not exist: 404. */
export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
}

/** The request conflicts with the current state (already registered, already sent): 409. */
export class ConflictError extends Error {
  override readonly name = "ConflictError";
}

/** A payment notify that is genuine but does not match the registered post: never broadcast. */
export class PaymentMismatchError extends Error {
  override readonly name = "PaymentMismatchError";
}
