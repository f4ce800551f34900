import { constants, createDecipheriv, createSecretKey, type KeyObject, verify } from "node:crypto";
import { z } from "zod";
import type { PaymentNotice } from "../../core/payment.ts";
import { normalizeSerial, type WechatPayKeys } from "./keys.ts";

export { loadWechatPayKeys, normalizeSerial, WechatPayKeyConfigError, type WechatPayKeys } from "./keys.ts";

/** Machine-readable cause of a rejection, for logs and metrics. */
export type NotifyRejectReason =
  | "missing_header"
  | "ambiguous_header"
  | "bad_signature_type"
  | "bad_timestamp"
  | "stale"
  | "bad_nonce"
  | "signature_probe"
  | "unknown_serial"
  | "bad_signature_encoding"
  | "bad_signature"
  | "malformed_body"
  | "unsupported_resource"
  | "cannot_decrypt"
  | "invalid_transaction";

/**
 * A notify that must not be acknowledged. `message` is safe to send back to WeChat Pay: it names the problem
 * but never contains keys, plaintext or header values.
 */
export class NotifyRejectedError extends Error {
  readonly status: 400 | 401;
  readonly reason: NotifyRejectReason;

  constructor(status: 400 | 401, reason: NotifyRejectReason, message: string) {
    super(message);
    this.name = "NotifyRejectedError";
    this.status = status;
    this.reason = reason;
  }
}

/** Configuration for {@link createNotifyVerifier}. */
export interface NotifyVerifierOptions {
  /** The merchant's APIv3 key: 32 ASCII characters, used as the raw AES-256 key. */
  apiV3Key: string;
  keys: WechatPayKeys;
  /** Current time in ms; injectable for tests. */
  now?: () => number;
  /** Accepted |now − Wechatpay-Timestamp|; the official SDKs use 300 s. */
  maxClockSkewSeconds?: number;
}

/** The parts of an HTTP request the verifier needs; `rawBody` must be the bytes exactly as received. */
export interface NotifyRequest {
  headers: Record<string, string | undefined>;
  rawBody: Buffer;
}

/** The only `Wechatpay-Signature-Type` accepted; an absent header means this too. */
export const SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048";
const SIGNATURE_PROBE_PREFIX = "WECHATPAY/SIGNTEST/";
const REQUIRED_HEADERS = [
  "Wechatpay-Serial",
  "Wechatpay-Signature",
  "Wechatpay-Timestamp",
  "Wechatpay-Nonce",
];
const GCM_TAG_BYTES = 16;
const GCM_NONCE_BYTES = 12;
const APIV3_KEY_BYTES = 32;
const DEFAULT_MAX_SKEW_SECONDS = 300;

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// Header lines are joined with "\n" in the signed message, so a value containing whitespace could shift the
// boundary between nonce and body; WeChat Pay only ever sends short alphanumerics here.
const NONCE = /^[\x21-\x7e]{1,128}$/;
/** Ten digits, no leading zero: "0171…" and "171…" would otherwise be the same time in two messages. */
const TIMESTAMP = /^[1-9][0-9]{9}$/;

const envelopeSchema = z.object({
  id: z.string().optional(),
  event_type: z.string().optional(),
  resource: z.object({
    original_type: z.string().optional(),
    algorithm: z.string(),
    ciphertext: z.string(),
    associated_data: z.string().nullish(),
    nonce: z.string(),
  }),
});

const transactionSchema = z.object({
  appid: z.string().min(1),
  mchid: z.string().min(1),
  out_trade_no: z.string().min(1),
  transaction_id: z.string().min(1),
  trade_state: z.string().min(1),
  success_time: z.string().min(1).optional(),
  amount: z.object({
    total: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    currency: z.string().min(1),
  }),
  payer: z.object({ openid: z.string().min(1).optional() }).optional(),
});

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Returns a function that authenticates a WeChat Pay v3 payment notify (signature, freshness, serial) and only
 * then decrypts and validates its transaction; it throws {@link NotifyRejectedError} for anything it refuses.
 */
export function createNotifyVerifier(opts: NotifyVerifierOptions): (request: NotifyRequest) => PaymentNotice {
  const aesKey = aesKeyFrom(opts.apiV3Key);
  const keys = opts.keys.bySerial;
  const now = opts.now ?? Date.now;
  const maxSkew = opts.maxClockSkewSeconds ?? DEFAULT_MAX_SKEW_SECONDS;
  if (!Number.isFinite(maxSkew) || maxSkew < 0) {
    throw new RangeError("maxClockSkewSeconds must be a non-negative number");
  }
  if (keys.size === 0) {
    throw new RangeError("at least one WeChat Pay public key is required");
  }

  return (request) => {
    if (!Buffer.isBuffer(request.rawBody)) {
      // A string body means the caller already decoded it; re-encoding may not reproduce the signed bytes.
      throw new TypeError("rawBody must be a Buffer of the bytes as received");
    }
    const headers = lowerCaseHeaders(request.headers);
    const [serial, signature, timestamp, nonce] = REQUIRED_HEADERS.map((name) => {
      const value = headers.get(name.toLowerCase());
      if (value === undefined || value === "") {
        throw new NotifyRejectedError(401, "missing_header", `missing ${name} header`);
      }
      return value;
    }) as [string, string, string, string];

    const signatureType = headers.get("wechatpay-signature-type");
    if (signatureType !== undefined && signatureType !== SIGNATURE_TYPE) {
      throw new NotifyRejectedError(401, "bad_signature_type", "unsupported Wechatpay-Signature-Type");
    }
    if (!TIMESTAMP.test(timestamp)) {
      throw new NotifyRejectedError(
        401,
        "bad_timestamp",
        "Wechatpay-Timestamp is not ten digits of epoch seconds",
      );
    }
    if (Math.abs(now() / 1000 - Number(timestamp)) > maxSkew) {
      throw new NotifyRejectedError(
        401,
        "stale",
        `Wechatpay-Timestamp is stale or in the future (allowed skew ${maxSkew} s)`,
      );
    }
    if (!NONCE.test(nonce)) {
      throw new NotifyRejectedError(401, "bad_nonce", "Wechatpay-Nonce is malformed");
    }
    // WeChat Pay deliberately sends these to check merchants verify signatures; acknowledging one is a defect.
    if (signature.startsWith(SIGNATURE_PROBE_PREFIX)) {
      throw new NotifyRejectedError(401, "signature_probe", "signature probe rejected: signature is invalid");
    }
    const publicKey = keys.get(serial) ?? keys.get(normalizeSerial(serial));
    if (publicKey === undefined) {
      throw new NotifyRejectedError(401, "unknown_serial", "unknown Wechatpay-Serial");
    }
    if (!STRICT_BASE64.test(signature)) {
      throw new NotifyRejectedError(401, "bad_signature_encoding", "Wechatpay-Signature is not valid base64");
    }

    const message = Buffer.concat([
      Buffer.from(`${timestamp}\n${nonce}\n`, "utf8"),
      request.rawBody,
      Buffer.from("\n", "utf8"),
    ]);
    if (!verifySignature(message, Buffer.from(signature, "base64"), publicKey)) {
      throw new NotifyRejectedError(401, "bad_signature", "signature verification failed");
    }

    return decodeVerifiedBody(request.rawBody, aesKey);
  };
}

function aesKeyFrom(apiV3Key: string): KeyObject {
  const bytes = Buffer.from(apiV3Key, "utf8");
  if (bytes.length !== APIV3_KEY_BYTES) {
    throw new RangeError(`apiV3Key must be ${APIV3_KEY_BYTES} bytes`);
  }
  return createSecretKey(bytes);
}

function lowerCaseHeaders(headers: Record<string, string | undefined>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    const previous = out.get(key);
    // Two spellings with different values would let a proxy and this code disagree about what was signed.
    if (previous !== undefined && previous !== value) {
      throw new NotifyRejectedError(401, "ambiguous_header", `conflicting values for header ${key}`);
    }
    out.set(key, value);
  }
  return out;
}

function verifySignature(message: Buffer, signature: Buffer, key: KeyObject): boolean {
  try {
    return verify("sha256", message, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    // OpenSSL can throw on a signature of the wrong length instead of returning false.
    return false;
  }
}

function decodeVerifiedBody(rawBody: Buffer, aesKey: KeyObject): PaymentNotice {
  const envelope = envelopeSchema.safeParse(parseJson(rawBody, "notify body", "malformed_body"));
  if (!envelope.success) {
    throw new NotifyRejectedError(
      400,
      "malformed_body",
      `notify body is invalid at ${issuePaths(envelope.error)}`,
    );
  }
  const resource = envelope.data.resource;
  if (resource.algorithm !== "AEAD_AES_256_GCM") {
    throw new NotifyRejectedError(400, "unsupported_resource", "unsupported resource.algorithm");
  }
  if (resource.original_type !== undefined && resource.original_type !== "transaction") {
    throw new NotifyRejectedError(400, "unsupported_resource", "resource.original_type is not transaction");
  }

  const plaintext = decrypt(resource, aesKey);
  const tx = transactionSchema.safeParse(
    parseJson(plaintext, "decrypted transaction", "invalid_transaction"),
  );
  if (!tx.success) {
    throw new NotifyRejectedError(
      400,
      "invalid_transaction",
      `decrypted transaction is invalid at ${issuePaths(tx.error)}`,
    );
  }
  const t = tx.data;
  return {
    appId: t.appid,
    mchId: t.mchid,
    outTradeNo: t.out_trade_no,
    transactionId: t.transaction_id,
    tradeState: t.trade_state,
    amountTotal: t.amount.total,
    currency: t.amount.currency,
    ...(t.success_time !== undefined && { successTime: t.success_time }),
    ...(t.payer?.openid !== undefined && { payerOpenid: t.payer.openid }),
  };
}

function decrypt(
  resource: { ciphertext: string; nonce: string; associated_data?: string | null | undefined },
  aesKey: KeyObject,
): Buffer {
  const iv = Buffer.from(resource.nonce, "utf8");
  if (iv.length !== GCM_NONCE_BYTES) {
    throw new NotifyRejectedError(400, "cannot_decrypt", "cannot decrypt resource: nonce must be 12 bytes");
  }
  if (!STRICT_BASE64.test(resource.ciphertext)) {
    throw new NotifyRejectedError(400, "cannot_decrypt", "cannot decrypt resource: ciphertext is not base64");
  }
  const sealed = Buffer.from(resource.ciphertext, "base64");
  if (sealed.length < GCM_TAG_BYTES) {
    throw new NotifyRejectedError(400, "cannot_decrypt", "cannot decrypt resource: ciphertext too short");
  }
  const tagStart = sealed.length - GCM_TAG_BYTES;
  try {
    // authTagLength pins the tag size so a truncated tag cannot be accepted.
    const decipher = createDecipheriv("aes-256-gcm", aesKey, iv, { authTagLength: GCM_TAG_BYTES });
    decipher.setAuthTag(sealed.subarray(tagStart));
    decipher.setAAD(Buffer.from(resource.associated_data ?? "", "utf8"));
    return Buffer.concat([decipher.update(sealed.subarray(0, tagStart)), decipher.final()]);
  } catch {
    throw new NotifyRejectedError(
      400,
      "cannot_decrypt",
      "cannot decrypt resource: authentication failed (wrong APIv3 key?)",
    );
  }
}

function parseJson(bytes: Buffer, what: string, reason: NotifyRejectReason): unknown {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch {
    throw new NotifyRejectedError(400, reason, `${what} is not valid UTF-8 JSON`);
  }
}

// Only field paths go into messages: zod messages could echo decrypted values back to the caller.
function issuePaths(error: z.ZodError): string {
  const paths = [...new Set(error.issues.map((issue) => issue.path.join(".") || "(root)"))];
  return paths.slice(0, 5).join(", ");
}
