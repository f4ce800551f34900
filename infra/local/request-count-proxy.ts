/**
 * A loopback HTTP proxy in front of an emulator that counts the requests it forwards by AWS
 * operation (`X-Amz-Target`, which both DynamoDB and SQS's JSON protocol carry). The benchmark checks
 * the SDK-side counts against it: what the emulators saw, independently of the code being measured.
 */

import { Agent, createServer, request } from "node:http";
import { closeServer, listen } from "./http-io.ts";

export interface RequestCountProxy {
  readonly url: string;
  /** Requests forwarded so far, by `Service.Operation` (`DynamoDB.BatchWriteItem`, `SQS.SendMessageBatch`). */
  counts(): Record<string, number>;
  /**
   * Per operation, the sum over requests of each one's larger payload (request or response body) in
   * started 64 KB units: how SQS bills requests.
   */
  units64k(): Record<string, number>;
  stop(): Promise<void>;
}

const SERVICE_PREFIXES: Readonly<Record<string, string>> = {
  DynamoDB_20120810: "DynamoDB",
  AmazonSQS: "SQS",
};

/** `DynamoDB_20120810.PutItem` → `DynamoDB.PutItem`; requests without a target count as `?.<method>`. */
export function operationOf(target: string | undefined, method: string): string {
  if (!target) return `?.${method}`;
  const [prefix = "", operation = "?"] = target.split(".");
  return `${SERVICE_PREFIXES[prefix] ?? prefix}.${operation}`;
}

export async function startRequestCountProxy(target: string): Promise<RequestCountProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const counts = new Map<string, number>();
  const units = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, n: number) => map.set(key, (map.get(key) ?? 0) + n);
  const server = createServer((req, res) => {
    const operation = operationOf(req.headers["x-amz-target"] as string | undefined, req.method ?? "GET");
    add(counts, operation, 1);
    let requestBytes = 0;
    let responseBytes = 0;
    req.on("data", (chunk: Buffer) => {
      requestBytes += chunk.length;
    });
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.on("data", (chunk: Buffer) => {
          responseBytes += chunk.length;
        });
        answer.on("end", () =>
          add(units, operation, Math.max(1, Math.ceil(Math.max(requestBytes, responseBytes) / 65_536))),
        );
        answer.pipe(res);
      },
    );
    forwarded.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    // A client that gives up (an aborted long poll) must not leave the upstream request running.
    res.on("close", () => {
      if (!res.writableFinished) forwarded.destroy();
    });
    req.pipe(forwarded);
  });
  server.keepAliveTimeout = 30_000;
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => Object.fromEntries(counts),
    units64k: () => Object.fromEntries(units),
    async stop() {
      await closeServer(server);
      agent.destroy();
    },
  };
}
