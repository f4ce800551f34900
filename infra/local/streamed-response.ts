/**
 * A RESPONSE_STREAM Function URL, locally: the handler's bytes go to the client as they come, after
 * the prelude's status and headers. The runner keeps what a slow client has not read yet instead of
 * slowing the handler (Lambda's own buffering is not modelled).
 */
import type { ServerResponse } from "node:http";
import { HTTP_INTEGRATION_CONTENT_TYPE } from "./container-protocol.ts";
import type { FunctionPool } from "./function-pool.ts";
import { streamedHead } from "./function-url.ts";
import { sendJson } from "./http-io.ts";

/** Lambda's limit on a streamed response. */
export const MAX_STREAMED_BYTES = 200 * 1024 * 1024;

/**
 * Answers a request to a RESPONSE_STREAM URL as the handler writes: the prelude's status and headers
 * once its end arrives (or status 200 with the stream's content type when it has no prelude), then
 * every chunk as it comes. Anything wrong before the head went out is a 502; after it, the
 * connection is cut, so the client never takes a cut-off body for a whole one.
 */
export async function serveStreamed(
  pool: FunctionPool,
  event: unknown,
  res: ServerResponse,
  log: (line: string) => void,
  label: string,
): Promise<void> {
  let prelude: Buffer | undefined;
  let broken: string | undefined;
  let bytes = 0;
  const fail = (reason: string) => {
    broken ??= reason;
    if (res.headersSent) res.destroy();
  };
  const outcome = await pool.invoke(event, {
    start(contentType) {
      if (contentType === HTTP_INTEGRATION_CONTENT_TYPE) prelude = Buffer.alloc(0);
      else res.writeHead(200, { "content-type": contentType });
    },
    chunk(chunk) {
      if (broken) return;
      bytes += chunk.length;
      if (bytes > MAX_STREAMED_BYTES) return fail(`the response exceeded ${MAX_STREAMED_BYTES} bytes`);
      if (prelude === undefined) {
        res.write(chunk);
        return;
      }
      try {
        const split = streamedHead(Buffer.concat([prelude, chunk]));
        if (!split) {
          prelude = Buffer.concat([prelude, chunk]);
          return;
        }
        prelude = undefined;
        res.writeHead(split.head.statusCode, split.head.headers);
        if (split.rest.length > 0) res.write(split.rest);
      } catch (error) {
        fail(`returned an invalid response: ${(error as Error).message}`);
      }
    },
  });
  if (!outcome.ok) broken ??= `${outcome.kind}: ${outcome.error.errorMessage}`;
  else if (!outcome.streamed)
    broken ??= "the URL's invoke mode is RESPONSE_STREAM, but the handler does not stream";
  else if (prelude !== undefined) broken ??= "the stream ended inside its prelude";
  if (!broken) {
    res.end();
    return;
  }
  log(`${label}: ${broken}`);
  if (res.headersSent) res.destroy();
  else sendJson(res, 502, { message: "Internal Server Error" }, { "content-type": "application/json" });
}
