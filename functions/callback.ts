import { randomBytes } from "node:crypto";
import { DynamoCallbackStore } from "./adapters/dynamodb/callback-store.ts";
import { createDocumentClient } from "./adapters/dynamodb/client.ts";
import {
  CallbackCipher,
  CallbackCryptoError,
  callbackSignature,
  verifyMsgSignature,
  verifyUrlSignature,
} from "./adapters/wechat/callback-crypto.ts";
import {
  CallbackXmlError,
  encryptedReplyXml,
  MAX_CALLBACK_BODY_BYTES,
  parseCallbackXml,
  textReplyXml,
} from "./adapters/wechat/callback-xml.ts";
import { callbackSchema, loadConfig } from "./config.ts";
import { handleCallback, type InboundMessage } from "./core/callback.ts";
import { type HttpEvent, type HttpResult, rawBody } from "./http.ts";
import { logger, maskOpenid } from "./observability.ts";

const config = loadConfig(callbackSchema);
const token = config.WECHAT_CALLBACK_TOKEN;
const store = new DynamoCallbackStore(createDocumentClient(), {
  inbox: config.TABLE_INBOX,
  subscribers: config.TABLE_SUBSCRIBERS,
});
const cipher = config.WECHAT_ENCODING_AES_KEY
  ? new CallbackCipher({
      appId: config.WECHAT_APP_ID,
      encodingAesKey: config.WECHAT_ENCODING_AES_KEY,
      previousEncodingAesKey: config.WECHAT_ENCODING_AES_KEY_PREVIOUS,
    })
  : undefined;

/**
 * A signed POST whose timestamp is further than this from our clock is refused: WeChat retries within
 * seconds, so this only limits replays of a captured push (the inbox dedups them for a day anyway).
 */
const MAX_CLOCK_SKEW_SECONDS = 300;

function text(statusCode: number, body: string, contentType = "text/plain; charset=utf-8"): HttpResult {
  // The echostr answer is the caller's own text: never let a browser take it for HTML.
  return { statusCode, headers: { "content-type": contentType, "x-content-type-options": "nosniff" }, body };
}

class CallbackRefusedError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Ten digits, no leading zero: with a zero, "0171…" and "171…" would sign the same triple two ways
 * (the signature sorts the strings, the freshness check reads the number).
 */
const TIMESTAMP = /^[1-9][0-9]{9}$/;

function freshTimestamp(timestamp: string | undefined, nowMs: number): void {
  const seconds = Number(timestamp);
  if (!TIMESTAMP.test(timestamp ?? "") || Math.abs(nowMs / 1000 - seconds) > MAX_CLOCK_SKEW_SECONDS)
    throw new CallbackRefusedError(401, "timestamp missing or too far from now");
}

function parse(xml: string): Record<string, string> {
  try {
    return parseCallbackXml(xml);
  } catch (error) {
    if (error instanceof CallbackXmlError) throw new CallbackRefusedError(400, error.message);
    throw error;
  }
}

function inbound(fields: Record<string, string>): InboundMessage {
  const { ToUserName, FromUserName, CreateTime, MsgType } = fields;
  if (
    !ToUserName ||
    !MsgType ||
    !/^\d{1,12}$/.test(CreateTime ?? "") ||
    !/^[\w-]{6,64}$/.test(FromUserName ?? "")
  )
    throw new CallbackRefusedError(400, "not a WeChat push (ToUserName, FromUserName, CreateTime, MsgType)");
  return fields as unknown as InboundMessage;
}

/** Verifies the push and returns it, decrypted in safe mode. */
function verifiedMessage(event: HttpEvent, now: number): { msg: InboundMessage; safe: boolean } {
  const q = event.queryStringParameters ?? {};
  const body = rawBody(event);
  if (body.length > MAX_CALLBACK_BODY_BYTES) throw new CallbackRefusedError(413, "body too large");
  if (q.encrypt_type === "aes") {
    if (!cipher) throw new CallbackRefusedError(400, "safe mode is not configured (WECHAT_ENCODING_AES_KEY)");
    const encrypt = parse(body.toString("utf8")).Encrypt ?? "";
    const signed = { msgSignature: q.msg_signature, timestamp: q.timestamp ?? "", nonce: q.nonce ?? "" };
    if (!verifyMsgSignature(token, signed, encrypt))
      throw new CallbackRefusedError(401, "bad or missing msg_signature");
    freshTimestamp(q.timestamp, now);
    let xml: string;
    try {
      xml = cipher.decrypt(encrypt);
    } catch (error) {
      if (error instanceof CallbackCryptoError)
        throw new CallbackRefusedError(400, `cannot decrypt: ${error.reason}`);
      throw error;
    }
    return { msg: inbound(parse(xml)), safe: true };
  }
  // In safe mode a plaintext push is refused, however well signed: no downgrade.
  if (cipher) throw new CallbackRefusedError(401, "safe mode: pushes must be encrypted (encrypt_type=aes)");
  if (!verifyUrlSignature(token, q)) throw new CallbackRefusedError(401, "bad or missing signature");
  freshTimestamp(q.timestamp, now);
  return { msg: inbound(parse(body.toString("utf8"))), safe: false };
}

function passiveReply(msg: InboundMessage, content: string, safe: boolean, now: number): HttpResult {
  const xml = textReplyXml({
    toUserName: msg.FromUserName,
    fromUserName: msg.ToUserName,
    createTime: now / 1000,
    content,
  });
  if (!safe || !cipher) return text(200, xml, "application/xml; charset=utf-8");
  const encrypt = cipher.encrypt(xml);
  const timestamp = String(Math.floor(now / 1000));
  const nonce = randomBytes(8).readUInt32BE(0).toString();
  const msgSignature = callbackSignature([token, timestamp, nonce, encrypt]);
  return text(
    200,
    encryptedReplyXml({ encrypt, msgSignature, timestamp, nonce }),
    "application/xml; charset=utf-8",
  );
}

/** GET: WeChat's URL verification. POST: a user's message or an event, answered within WeChat's 5 s. */
export async function handler(event: HttpEvent): Promise<HttpResult> {
  const method = event.requestContext.http.method;
  if (method === "GET") {
    const q = event.queryStringParameters ?? {};
    if (!verifyUrlSignature(token, q) || q.echostr === undefined) {
      logger.warn("callback verification refused");
      return text(401, "bad or missing signature");
    }
    try {
      freshTimestamp(q.timestamp, Date.now());
    } catch (error) {
      logger.warn("callback verification refused", { reason: (error as Error).message });
      return text(401, (error as Error).message);
    }
    return text(200, q.echostr);
  }
  if (method !== "POST") return { ...text(405, "method not allowed"), headers: { allow: "GET, POST" } };

  const now = Date.now();
  let verified: { msg: InboundMessage; safe: boolean };
  try {
    verified = verifiedMessage(event, now);
  } catch (error) {
    if (error instanceof CallbackRefusedError) {
      logger.warn("callback refused", { status: error.status, reason: error.message });
      return text(error.status, error.message);
    }
    logger.error("callback verification failed", error as Error);
    return text(500, "internal error");
  }
  const { msg, safe } = verified;
  try {
    const { duplicate, plan } = await handleCallback(msg, { store, now });
    const log = {
      msgType: msg.MsgType,
      event: msg.Event,
      openid: maskOpenid(msg.FromUserName),
      duplicate,
      actions: plan.actions.map((a) => a.kind),
    };
    // Delivery reports arrive once per recipient: not at INFO (DESIGN: no log line per recipient).
    if (plan.actions.some((a) => a.kind === "interaction" && a.optedIn !== undefined))
      logger.info("opt change", log);
    else logger.debug("callback handled", log);
    if (duplicate || !plan.reply) return text(200, "success");
    return passiveReply(msg, plan.reply, safe, now);
  } catch (error) {
    logger.error("callback failed", error as Error);
    return text(500, "internal error");
  }
}
