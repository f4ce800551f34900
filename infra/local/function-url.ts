/**
 * HTTP request ↔ Lambda Function URL payload (format 2.0, shared with API Gateway HTTP APIs), as AWS
 * builds and reads them. The raw body bytes must survive: WeChat Pay signs them.
 */

import type { IncomingMessage } from "node:http";
import type { APIGatewayProxyEventV2 } from "aws-lambda";

const TEXT_CONTENT_TYPE =
  /^\s*(text\/[^;]*|application\/(json|xml|javascript|x-www-form-urlencoded)|[^;/]+\/[^;]*\+(json|xml))\s*(;|$)/i;

// fatal: invalid UTF-8 must not be replaced by U+FFFD; ignoreBOM: keep a leading BOM as a character.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `12/Mar/2020:19:03:58 +0000`, the requestContext.time format. */
function requestTime(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, "0");
  return (
    `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

function decodeQueryComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

export function parseQueryString(raw: string): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  let any = false;
  for (const part of raw.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = decodeQueryComponent(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? "" : decodeQueryComponent(part.slice(eq + 1));
    const previous = params[key];
    params[key] = previous === undefined ? value : `${previous},${value}`;
    any = true;
  }
  return any ? params : undefined;
}

export function isTextContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && TEXT_CONTENT_TYPE.test(contentType);
}

function encodeBody(
  body: Buffer,
  contentType: string | undefined,
): { body?: string; isBase64Encoded: boolean } {
  if (body.length === 0) return { isBase64Encoded: false };
  if (isTextContentType(contentType)) {
    try {
      return { body: utf8.decode(body), isBase64Encoded: false };
    } catch {
      // Not valid UTF-8 despite the declared type: base64 keeps the bytes intact.
    }
  }
  return { body: body.toString("base64"), isBase64Encoded: true };
}

export interface EventOptions {
  readonly requestId: string;
  readonly now?: Date;
}

export function toFunctionUrlEvent(
  req: IncomingMessage,
  body: Buffer,
  opts: EventOptions,
): APIGatewayProxyEventV2 {
  const url = req.url ?? "/";
  const hashless = url.split("#", 1)[0] ?? "";
  const queryAt = hashless.indexOf("?");
  const rawPath = queryAt < 0 ? hashless : hashless.slice(0, queryAt);
  const rawQueryString = queryAt < 0 ? "" : hashless.slice(queryAt + 1);

  // rawHeaders, not req.headers: Node drops duplicates of some headers; AWS joins them with commas.
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] ?? "").toLowerCase();
    const value = raw[i + 1] ?? "";
    if (name === "cookie") {
      cookies.push(
        ...value
          .split(";")
          .map((c) => c.trim())
          .filter((c) => c !== ""),
      );
      continue;
    }
    const previous = headers[name];
    headers[name] = previous === undefined ? value : `${previous},${value}`;
  }
  const sourceIp = (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
  // AWS's front end appends the peer to any forwarded-for chain the client sent.
  headers["x-forwarded-for"] = headers["x-forwarded-for"]
    ? `${headers["x-forwarded-for"]}, ${sourceIp}`
    : sourceIp;
  headers["x-forwarded-proto"] = "http";
  headers["x-forwarded-port"] = String(req.socket.localPort ?? "");

  const host = headers.host ?? "localhost";
  const now = opts.now ?? new Date();
  const queryStringParameters = parseQueryString(rawQueryString);
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext: {
      accountId: "anonymous",
      apiId: host.split(".", 1)[0] ?? host,
      domainName: host,
      domainPrefix: host.split(".", 1)[0] ?? host,
      http: {
        method: (req.method ?? "GET").toUpperCase(),
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: opts.requestId,
      routeKey: "$default",
      stage: "$default",
      time: requestTime(now),
      timeEpoch: now.getTime(),
    },
    ...encodeBody(body, headers["content-type"]),
  };
}

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

/** The function's result is not a response AWS would accept; it answers 502. */
export class InvalidResponseError extends Error {
  override readonly name = "InvalidResponseError";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * A result with `statusCode` is a structured response; anything else is sent as a 200 JSON body
 * (a string as is), the inference Function URLs and HTTP APIs make.
 */
export function fromFunctionUrlResult(result: unknown): HttpResponse {
  if (!isRecord(result) || !("statusCode" in result)) {
    const body = typeof result === "string" ? result : JSON.stringify(result);
    return {
      statusCode: 200,
      headers: { "content-type": "application/json" },
      body: Buffer.from(body, "utf8"),
    };
  }
  const { statusCode, headers, cookies, body, isBase64Encoded } = result;
  if (
    typeof statusCode !== "number" ||
    !Number.isInteger(statusCode) ||
    statusCode < 100 ||
    statusCode > 599
  ) {
    throw new InvalidResponseError(
      `statusCode must be an integer 100–599, got ${JSON.stringify(statusCode)}`,
    );
  }
  const out: Record<string, string | string[]> = {};
  if (headers !== undefined && headers !== null) {
    if (!isRecord(headers)) throw new InvalidResponseError("headers must be an object");
    for (const [name, value] of Object.entries(headers)) {
      if (!["string", "number", "boolean"].includes(typeof value)) {
        throw new InvalidResponseError(`header ${name} must be a string, number or boolean`);
      }
      // Node frames the body itself; a stale length from the handler would break the response.
      if (name.toLowerCase() === "content-length") continue;
      out[name.toLowerCase()] = String(value);
    }
  }
  if (cookies !== undefined && cookies !== null) {
    if (!Array.isArray(cookies) || !cookies.every((c) => typeof c === "string")) {
      throw new InvalidResponseError("cookies must be an array of strings");
    }
    if (cookies.length > 0) out["set-cookie"] = cookies;
  }
  if (body !== undefined && body !== null && typeof body !== "string") {
    throw new InvalidResponseError("body must be a string");
  }
  const bytes =
    typeof body === "string"
      ? Buffer.from(body, isBase64Encoded === true ? "base64" : "utf8")
      : Buffer.alloc(0);
  return { statusCode, headers: out, body: bytes };
}

/** Eight NUL bytes end a streamed response's JSON prelude (`awslambda.HttpResponseStream.from`). */
const PRELUDE_END = Buffer.alloc(8);
/** A prelude is headers, not a body: past this without its end, the stream is not well formed. */
export const MAX_PRELUDE_BYTES = 64 * 1024;

/**
 * The status line and headers of a streamed response whose content type is
 * `application/vnd.awslambda.http-integration-response`, from the bytes seen so far: undefined while
 * the prelude's end has not come yet, else the head and the body bytes already after it. Checked as
 * a buffered result is (InvalidResponseError); `statusCode` defaults to 200.
 */
export function streamedHead(
  bytes: Buffer,
): { readonly head: Omit<HttpResponse, "body">; readonly rest: Buffer } | undefined {
  const end = bytes.indexOf(PRELUDE_END);
  if (end < 0) {
    if (bytes.length > MAX_PRELUDE_BYTES) throw new InvalidResponseError("the stream's prelude never ends");
    return undefined;
  }
  let prelude: unknown;
  try {
    prelude = JSON.parse(bytes.subarray(0, end).toString("utf8"));
  } catch {
    throw new InvalidResponseError("the stream's prelude is not JSON");
  }
  if (!isRecord(prelude)) throw new InvalidResponseError("the stream's prelude must be an object");
  const { body: _body, isBase64Encoded: _base64, ...metadata } = prelude;
  const { statusCode, headers } = fromFunctionUrlResult({ statusCode: 200, ...metadata });
  return { head: { statusCode, headers }, rest: bytes.subarray(end + PRELUDE_END.length) };
}
