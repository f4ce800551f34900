/**
 * The Lambda runner's HTTP side: one loopback server in front of the functions' Function URLs,
 * routing by `httpRoutes` (lambda-runner.ts lists how it differs from AWS), and the local stack's own
 * routes, which no deployment has.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { HttpRouteDef } from "../../common/definitions.ts";
import { type FunctionPool, MAX_PAYLOAD_BYTES } from "./function-pool.ts";
import { fromFunctionUrlResult, toFunctionUrlEvent } from "./function-url.ts";
import { BodyTooLargeError, listen, readBody, sendJson } from "./http-io.ts";
import { serveStreamed } from "./streamed-response.ts";

/** How AWS's own answers (not the function's) are typed. */
const AWS_ANSWER_HEADERS = { "content-type": "application/json" };

/**
 * A route the local stack answers itself, in-process, with the Function URL contract (the same event
 * in, the same result out): local-only tools such as paying with the demo merchant. Never a function
 * of common/definitions.ts, so nothing of it is deployed.
 */
export interface LocalRoute extends Omit<HttpRouteDef, "function"> {
  handle(event: APIGatewayProxyEventV2): Promise<unknown>;
}

function routeMatches(route: Omit<HttpRouteDef, "function">, method: string, path: string): boolean {
  if (route.method && route.method.toUpperCase() !== method) return false;
  return route.prefix ? path.startsWith(route.path) : path === route.path;
}

type FunctionUrlResponse = ReturnType<typeof fromFunctionUrlResult>;

export class HttpFront {
  private readonly server: Server;
  private requestsInFlight = 0;

  constructor(
    private readonly routes: readonly HttpRouteDef[],
    private readonly pools: ReadonlyMap<string, FunctionPool>,
    private readonly log: (line: string) => void,
    private readonly localRoutes: readonly LocalRoute[] = [],
  ) {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  /** Requests being read, invoked or answered. */
  get inFlight(): number {
    return this.requestsInFlight;
  }

  /** Resolves to the port; `port` 0 picks a free one. */
  listen(port: number): Promise<number> {
    return listen(this.server, port);
  }

  /**
   * Accepts no more connections and closes the idle ones; resolves once every connection is closed,
   * which open requests delay until they are answered or `dropConnections()`.
   */
  stopListening(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    return closed;
  }

  dropConnections(): void {
    this.server.closeAllConnections();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requestsInFlight += 1;
    try {
      await this.route(req, res);
    } catch (error) {
      this.log(`[http] ${(error as Error).message}`);
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, { message: "Internal Server Error" }, AWS_ANSWER_HEADERS);
    } finally {
      this.requestsInFlight -= 1;
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const path = (req.url ?? "/").split(/[?#]/, 1)[0] ?? "/";
    const local = this.localRoutes.find((r) => routeMatches(r, method, path));
    const route = local ? undefined : this.routes.find((r) => routeMatches(r, method, path));
    const pool = route && this.pools.get(route.function);
    if (!pool && !local) {
      req.resume();
      // The shape every function answers a 404 with.
      sendJson(res, 404, { error: "no such route" }, AWS_ANSWER_HEADERS);
      return;
    }
    const body = await readPayload(req);
    if (!body) {
      sendJson(
        res,
        413,
        { message: "Request Entity Too Large" },
        { ...AWS_ANSWER_HEADERS, connection: "close" },
      );
      return;
    }
    const event = toFunctionUrlEvent(req, body, { requestId: randomUUID() });
    if (pool?.config.streaming) {
      await serveStreamed(pool, event, res, this.log, `[http] ${method} ${path} → ${pool.config.name}`);
      return;
    }
    const response = local
      ? fromFunctionUrlResult(await local.handle(event))
      : await this.invoke(pool as FunctionPool, event, { method, path });
    if (response) writeFunctionUrlResponse(res, response);
    else sendJson(res, 502, { message: "Internal Server Error" }, AWS_ANSWER_HEADERS);
  }

  /** The function's answer as a Function URL gives it; undefined (logged) where it has none. */
  private async invoke(
    pool: FunctionPool,
    event: unknown,
    request: { method: string; path: string },
  ): Promise<FunctionUrlResponse | undefined> {
    const label = `[http] ${request.method} ${request.path} → ${pool.config.name}`;
    const outcome = await pool.invoke(event);
    if (!outcome.ok) {
      this.log(`${label} ${outcome.kind}: ${outcome.error.errorMessage}`);
      return undefined;
    }
    if (outcome.streamed) {
      this.log(`${label}: the handler streams, but the URL's invoke mode is BUFFERED`);
      return undefined;
    }
    try {
      return fromFunctionUrlResult(outcome.result);
    } catch (error) {
      this.log(`${label} returned an invalid response: ${(error as Error).message}`);
      return undefined;
    }
  }
}

/** The body, or undefined when it is over Lambda's payload limit. */
async function readPayload(req: IncomingMessage): Promise<Buffer | undefined> {
  try {
    return await readBody(req, MAX_PAYLOAD_BYTES);
  } catch (error) {
    if (error instanceof BodyTooLargeError) return undefined;
    throw error;
  }
}

function writeFunctionUrlResponse(res: ServerResponse, response: FunctionUrlResponse): void {
  // Function URLs answer with a length, not chunked; 1xx, 204 and 304 must not carry one.
  const bodyless = response.statusCode < 200 || response.statusCode === 204 || response.statusCode === 304;
  res.writeHead(response.statusCode, {
    ...response.headers,
    ...(bodyless ? {} : { "content-length": String(response.body.length) }),
  });
  res.end(bodyless ? undefined : response.body);
}
