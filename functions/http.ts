import { createHash, timingSafeEqual } from "node:crypto";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { z } from "zod";
import { ConflictError, NotFoundError, PaymentMismatchError, ValidationError } from "./core/errors.ts";

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;

/** The request body exactly as sent: signatures are computed over these bytes. */
export function rawBody(event: HttpEvent): Buffer {
  return Buffer.from(event.body ?? "", event.isBase64Encoded ? "base64" : "utf8");
}

export function json(statusCode: number, body: unknown): HttpResult {
  return { statusCode, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

/** A 4xx for the domain errors that mean "bad request"; undefined for anything else. */
export function statusOf(error: unknown): number | undefined {
  if (error instanceof ValidationError || error instanceof PaymentMismatchError) return 400;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof ConflictError) return 409;
  return undefined;
}

/** Parses a JSON body against a schema, turning every problem into one readable ValidationError. */
export function parseJsonBody<S extends z.ZodType>(event: HttpEvent, schema: S): z.output<S> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody(event).toString("utf8"));
  } catch {
    throw new ValidationError("request body must be JSON");
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const problems = result.error.issues.map((i) =>
      i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message,
    );
    throw new ValidationError(problems.slice(0, 5).join("; "));
  }
  return result.data;
}

/**
 * Checks `Authorization: Bearer <token>` in constant time: the digests are compared, so neither the
 * content nor the length of the expected token shows in the timing.
 */
export function hasBearerToken(event: HttpEvent, expected: string): boolean {
  const header = event.headers.authorization ?? "";
  const match = /^Bearer (.+)$/.exec(header);
  if (!match?.[1]) return false;
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(match[1]), digest(expected));
}
