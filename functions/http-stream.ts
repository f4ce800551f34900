/**
 * Writing answers through a Lambda response stream (Function URL invoke mode RESPONSE_STREAM): the
 * status and headers go first as the stream's metadata prelude (`awslambda.HttpResponseStream`),
 * then the body. A buffered answer is written in one piece, byte for byte what the buffered mode
 * would have sent; a streamed one piece by piece, each after the previous was taken (backpressure),
 * so a long export holds one page in memory, never the whole list.
 */
import { once } from "node:events";
import type { Writable } from "node:stream";
import type { HttpResult, StreamedResult } from "./http.ts";

export type Answer = HttpResult | StreamedResult;

type StreamingHandler<E> = (event: E, responseStream: Writable) => Promise<void>;

/**
 * `awslambda.streamifyResponse(handler)`. Lambda's Node.js runtime provides `awslambda`; outside it
 * (a test loading the route table) the handler is marked the way that decorator marks it, which is
 * all it does.
 */
export function streamingHandler<E>(handler: StreamingHandler<E>): StreamingHandler<E> {
  const runtime = (globalThis as { awslambda?: Partial<typeof awslambda> }).awslambda;
  if (typeof runtime?.streamifyResponse === "function")
    return runtime.streamifyResponse(handler) as StreamingHandler<E>;
  return Object.assign(handler, { [Symbol.for("aws.lambda.runtime.handler.streaming")]: "response" });
}

const isStreamed = (answer: Answer): answer is StreamedResult =>
  typeof (answer as StreamedResult).body === "object" && (answer as StreamedResult).body !== null;

/** The prelude of a buffered answer: its status, headers (as strings) and cookies. */
function metadataOf(answer: HttpResult): Record<string, unknown> {
  const headers = Object.fromEntries(
    Object.entries(answer.headers ?? {}).map(([name, value]) => [name, String(value)]),
  );
  return {
    statusCode: answer.statusCode ?? 200,
    headers,
    ...(answer.cookies && answer.cookies.length > 0 ? { cookies: answer.cookies } : {}),
  };
}

async function write(stream: Writable, piece: string | Buffer): Promise<void> {
  if (!stream.write(piece)) await once(stream, "drain");
}

function end(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.end((error?: Error | null) => (error ? reject(error) : resolve()));
  });
}

export interface Failures {
  /** The answer to an error raised before anything was written (a refusal's 4xx, or a 500). */
  answer(error: unknown): HttpResult;
  /** An error after the status was sent: logged, and the response ends unfinished. */
  log(error: unknown): void;
}

async function writeWhole(answer: HttpResult, stream: Writable): Promise<void> {
  const out = awslambda.HttpResponseStream.from(stream, metadataOf(answer));
  const body = answer.body ?? "";
  // Written even when empty: the first write is what sends the prelude.
  await write(out, answer.isBase64Encoded ? Buffer.from(body, "base64") : body);
  await end(out);
}

/**
 * Writes `answer` to the response stream. A streamed body's first piece is produced before anything
 * is written, so a failure there (the first page's read) is still answered with a status of its own;
 * a later failure cannot change the status any more: the response is left unfinished (the client
 * sees a broken transfer, never a complete-looking file) and the error is rethrown.
 */
export async function respond(answer: Answer, stream: Writable, failures: Failures): Promise<void> {
  if (!isStreamed(answer)) return writeWhole(answer, stream);
  const pieces = answer.body[Symbol.asyncIterator]();
  let piece: IteratorResult<string>;
  try {
    piece = await pieces.next();
  } catch (error) {
    return writeWhole(failures.answer(error), stream);
  }
  const out = awslambda.HttpResponseStream.from(stream, {
    statusCode: answer.statusCode,
    headers: answer.headers,
  });
  try {
    await write(out, piece.done ? "" : piece.value);
    while (!piece.done) {
      piece = await pieces.next();
      if (!piece.done) await write(out, piece.value);
    }
  } catch (error) {
    failures.log(error);
    throw error;
  }
  await end(out);
}
