import { createHmac, timingSafeEqual } from "node:crypto";

/** Unix seconds of the try; part of what is signed, so an old signed body cannot be replayed later. */
export const TIMESTAMP_HEADER = "x-fanout-timestamp";
/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`, keyed with BROADCAST_WEBHOOK_SECRET. */
export const SIGNATURE_HEADER = "x-fanout-signature";
/** How far a receiver should accept a timestamp from its own clock. */
const SIGNATURE_TOLERANCE_SECONDS = 300;

/** The signature header's value for `body` sent at `timestamp` (unix seconds). */
export function webhookSignature(secret: string, timestamp: number, body: string | Buffer): string {
  const mac = createHmac("sha256", secret);
  mac.update(`${timestamp}.`);
  mac.update(body);
  return `sha256=${mac.digest("hex")}`;
}

/**
 * What a receiver checks: the signature over the raw body bytes as received, compared in constant
 * time, and a timestamp within `toleranceSeconds` of `now` (epoch ms).
 */
export function verifyWebhookSignature(
  secret: string,
  request: {
    readonly timestamp: string | undefined;
    readonly signature: string | undefined;
    readonly body: string | Buffer;
  },
  now: number,
  toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS,
): boolean {
  if (!request.timestamp || !/^\d{1,12}$/.test(request.timestamp) || !request.signature) return false;
  const timestamp = Number(request.timestamp);
  if (Math.abs(now / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(webhookSignature(secret, timestamp, request.body));
  const given = Buffer.from(request.signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
