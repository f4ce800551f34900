/** The HTTP plumbing of the local stack's own servers: the Lambda runner's and the WeChat simulator's. */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export class BodyTooLargeError extends Error {
  constructor(limit: number) {
    super(`request body over ${limit} bytes`);
  }
}

/**
 * Reads the whole body. A body declared or found to be over `limit` bytes is drained unread and
 * rejected with BodyTooLargeError: at once when declared, at its end otherwise, so the client has
 * sent it all before it is answered. Rejects too if the client goes away first.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  if (Number(req.headers["content-length"] ?? 0) > limit) {
    req.resume();
    return Promise.reject(new BodyTooLargeError(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on("end", () =>
      size > limit ? reject(new BodyTooLargeError(limit)) : resolve(Buffer.concat(chunks)),
    );
    req.on("error", reject);
    req.on("close", () => {
      if (!req.complete) reject(new Error("client closed the request before sending it all"));
    });
  });
}

/** `readBody` as UTF-8 text. */
export async function readText(req: IncomingMessage, limit: number): Promise<string> {
  return (await readBody(req, limit)).toString("utf8");
}

/** A JSON answer with its length; nothing once the response has started or the client is gone. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  send(res, status, JSON.stringify(body), { "content-type": "application/json; charset=utf-8", ...headers });
}

/** An HTML or plain-text answer, like `sendJson`. */
export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  send(res, status, text, { "content-type": "text/html; charset=utf-8", ...headers });
}

function send(res: ServerResponse, status: number, text: string, headers: Record<string, string>): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, { ...headers, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Listens on 127.0.0.1 (port 0: a free one); resolves to the port, rejects if it cannot listen. */
export function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Closes the server and every connection it still holds, keep-alive ones included. */
export function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  return closed;
}
