import { createHash, timingSafeEqual } from "node:crypto";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { z } from "zod";
import { listQuery } from "./contracts/api.ts";
import { RefusedError, ValidationError } from "./core/errors.ts";

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;

/**
 * An answer whose body is written as it is produced (a CSV export), through a Lambda response
 * stream (functions/http-stream.ts): never held whole in memory, and not bound by the 6 MB of a
 * buffered answer.
 */
export interface StreamedResult {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The body's pieces in order; an error after the first one ends the response unfinished. */
  readonly body: AsyncIterable<string>;
}

/** Who a bearer token belongs to: the operator (and the console), or the business app. */
export type Role = "operator" | "app";
export const OPERATOR: readonly Role[] = ["operator"];
export const OPERATOR_AND_APP: readonly Role[] = ["operator", "app"];

/** One API route: who may call it, what it does (for the 403's words), and its handler. */
export interface RouteDef {
  readonly method: string;
  readonly pattern: RegExp;
  /** Who may call it: the operator alone unless it says so (OPERATOR_AND_APP). */
  readonly roles?: readonly Role[];
  /** "send push tasks": the 403 says "this token may not send push tasks". */
  readonly does: string;
  readonly route: (event: HttpEvent, params: string[]) => Promise<HttpResult | StreamedResult>;
}

/** The request body exactly as sent: signatures are computed over these bytes. */
export function rawBody(event: HttpEvent): Buffer {
  return Buffer.from(event.body ?? "", event.isBase64Encoded ? "base64" : "utf8");
}

/** Every JSON answer: never cached (it may hold openids or progress), never sniffed as another type. */
export const JSON_HEADERS = {
  "content-type": "application/json",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
} as const;

export function json(statusCode: number, body: unknown): HttpResult {
  return { statusCode, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

/** A 4xx for a refused request: the error's words, cut short (they may quote the caller's input). */
export function refusal(statusCode: number, error: Error): HttpResult {
  return json(statusCode, { error: capped(error.message, 300) });
}

/** The status a refusal is answered with; undefined for anything else (a fault: 500). */
export function statusOf(error: unknown): number | undefined {
  return error instanceof RefusedError ? error.status : undefined;
}

/**
 * The JSON API's answer to whatever a route threw: a refusal's status and words (cut short: they
 * may quote the input), or a fixed 500 whose cause is logged, never shown.
 */
export function answerError(error: unknown, log: (message: string, error: Error) => void): HttpResult {
  if (error instanceof RefusedError) return refusal(error.status, error);
  log("request failed", error as Error);
  return json(500, { error: "internal error" });
}

/** At most `max` characters of `text`, an ellipsis marking a cut. */
export function capped(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
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
    // Keys and values are the caller's text: each problem is cut short, and only the first few told.
    const problems = result.error.issues.map((i) =>
      capped(i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message, 160),
    );
    throw new ValidationError(problems.slice(0, 5).join("; "));
  }
  return result.data;
}

/** Like parseJsonBody, where an empty body means `{}`. */
export function parseOptionalJsonBody<S extends z.ZodType>(event: HttpEvent, schema: S): z.output<S> {
  return rawBody(event).length === 0
    ? parseJsonBody({ ...event, body: "{}", isBase64Encoded: false }, schema)
    : parseJsonBody(event, schema);
}

/** Parses the query string against a schema, every problem in one readable ValidationError. */
export function parseQuery<S extends z.ZodType>(event: HttpEvent, schema: S): z.output<S> {
  const result = schema.safeParse(event.queryStringParameters ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((i) =>
      capped(`${i.path.join(".") || "query"}: ${i.message}`, 160),
    );
    throw new ValidationError(problems.slice(0, 5).join("; "));
  }
  return result.data;
}

/** A path segment checked against a schema: a mismatch is a ValidationError naming the segment. */
export function parsePathParam<S extends z.ZodType>(name: string, value: string, schema: S): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(capped(`${name}: ${result.error.issues[0]?.message}`, 160));
  return result.data;
}

/** A list route's page: `list` read at the query's limit and cursor, each item shaped by `view`. */
export async function viewedPage<T, V>(
  event: HttpEvent,
  list: (limit: number, cursor: string | null) => Promise<{ items: readonly T[]; next: string | null }>,
  view: (item: T) => Promise<V>,
): Promise<{ items: V[]; next: string | null }> {
  const query = parseQuery(event, listQuery);
  const page = await list(query.limit, query.cursor ?? null);
  return { items: await Promise.all(page.items.map((item) => view(item))), next: page.next };
}

/**
 * Checks `Authorization: Bearer <token>` in constant time: the digests are compared, so neither the
 * content nor the length of the expected token shows in the timing.
 */
export function hasBearerToken(event: HttpEvent, expected: string): boolean {
  const given = bearerToken(event);
  return given !== undefined && sameSecret(given, expected);
}

/** The role whose token the request carries, each compared in constant time; undefined for none. */
export function roleOf(event: HttpEvent, tokens: Readonly<Record<Role, string>>): Role | undefined {
  const given = bearerToken(event);
  if (given === undefined) return undefined;
  // Both compared every time, so the timing says nothing about which one matched.
  const matches = (Object.entries(tokens) as [Role, string][]).map(
    ([role, token]) => [role, sameSecret(given, token)] as const,
  );
  return matches.find(([, same]) => same)?.[0];
}

function bearerToken(event: HttpEvent): string | undefined {
  const match = /^Bearer (.+)$/.exec(event.headers.authorization ?? "");
  return match?.[1];
}

function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
