/**
 * Acting as WeChat towards an OA callback server (`/wechat/callback`): builds genuinely signed pushes,
 * plaintext or safe mode, and sends them. Deliberately independent of functions/adapters/wechat/: the
 * envelope comes from the `wechat-crypto` package (WeChat's reference algorithm ported to Node), the
 * XML and plaintext signature are written here, so a bug in production code cannot hide in both.
 */
import { createHash, randomInt } from "node:crypto";
import WXBizMsgCrypt from "wechat-crypto";

export interface CallbackTarget {
  /** The callback's URL, e.g. `http://127.0.0.1:3000/wechat/callback`. */
  readonly url: string;
  /** The OA's server Token (WECHAT_CALLBACK_TOKEN). */
  readonly token: string;
  /** The OA's AppID; safe-mode envelopes end with it. */
  readonly appId: string;
  /** When set, pushes are sent in safe mode (encrypt_type=aes) unless a push asks for plaintext. */
  readonly encodingAesKey?: string | undefined;
  /** The OA's original id (`gh_…`), the pushes' ToUserName. Default `gh_0000demo0000`. */
  readonly originalId?: string | undefined;
}

export interface PushOptions {
  /** Default: `safe` when the target has an EncodingAESKey, else `plain`. */
  readonly mode?: "plain" | "safe";
  /** Epoch seconds as WeChat sends it; default now. */
  readonly timestamp?: string;
  readonly nonce?: string;
  /** Overrides the computed signature (tests of forged pushes); `null` leaves it out. */
  readonly signature?: string | null;
}

export interface PushResult {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

const DEMO_ORIGINAL_ID = "gh_0000demo0000";

function cdata(value: string): string {
  return `<![CDATA[${value}]]>`;
}

function element(name: string, value: string | number): string {
  return typeof value === "number" ? `<${name}>${value}</${name}>` : `<${name}>${cdata(value)}</${name}>`;
}

function xmlOf(fields: Record<string, string | number>): string {
  return `<xml>${Object.entries(fields)
    .map(([k, v]) => element(k, v))
    .join("")}</xml>`;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

let nextMsgId = 24_000_000_000_000_000n + BigInt(randomInt(1, 1_000_000_000));

/** Who sends a push to whom, and when (default: now). */
interface PushEnvelope {
  from: string;
  /** The account's original id; the demo's by default. */
  to?: string;
  createTime?: number;
}

/** The fields every push from WeChat starts with. */
function envelope(e: PushEnvelope, msgType: "text" | "event"): Record<string, string | number> {
  return {
    ToUserName: e.to ?? DEMO_ORIGINAL_ID,
    FromUserName: e.from,
    CreateTime: e.createTime ?? nowSeconds(),
    MsgType: msgType,
  };
}

/** A user's text message (WECHAT_FACTS §5.2); `msgId` defaults to a fresh 17-digit id. */
export function textMessageXml(m: PushEnvelope & { content: string; msgId?: string }): string {
  nextMsgId += 1n;
  return xmlOf({ ...envelope(m, "text"), Content: m.content, MsgId: m.msgId ?? nextMsgId.toString() });
}

/** An event push: `subscribe`, `unsubscribe`, `SCAN`, `CLICK` … with optional extra fields. */
export function eventXml(
  e: PushEnvelope & { event: string; extra?: Record<string, string | number> },
): string {
  return xmlOf({ ...envelope(e, "event"), Event: e.event, ...e.extra });
}

/** `TEMPLATESENDJOBFINISH` (WECHAT_FACTS §3.1): `success`, `failed:user block`, `failed: system failed`. */
export function templateReportXml(r: PushEnvelope & { msgid: number | string; status: string }): string {
  return eventXml({
    from: r.from,
    ...(r.to ? { to: r.to } : {}),
    event: "TEMPLATESENDJOBFINISH",
    ...(r.createTime ? { createTime: r.createTime } : {}),
    extra: { MsgID: Number(r.msgid), Status: r.status },
  });
}

function plainSignature(token: string, timestamp: string, nonce: string): string {
  const sorted = [token, timestamp, nonce].sort();
  return createHash("sha1").update(sorted.join("")).digest("hex");
}

function cipherOf(target: CallbackTarget): WXBizMsgCrypt {
  if (!target.encodingAesKey) throw new Error("safe mode needs the target's encodingAesKey");
  return new WXBizMsgCrypt(target.token, target.encodingAesKey, target.appId);
}

/** The request WeChat would send for `xml`: URL with the signed query and the body. */
export function buildPush(
  target: CallbackTarget,
  xml: string,
  opts: PushOptions = {},
): { url: string; body: string } {
  const timestamp = opts.timestamp ?? String(nowSeconds());
  const nonce = opts.nonce ?? String(randomInt(100_000_000, 999_999_999));
  const mode = opts.mode ?? (target.encodingAesKey ? "safe" : "plain");
  const url = new URL(target.url);
  url.searchParams.set("timestamp", timestamp);
  url.searchParams.set("nonce", nonce);
  let body = xml;
  const signature = plainSignature(target.token, timestamp, nonce);
  if (mode === "safe") {
    const crypt = cipherOf(target);
    const encrypt = crypt.encrypt(xml);
    body = `<xml><ToUserName>${cdata(target.originalId ?? DEMO_ORIGINAL_ID)}</ToUserName><Encrypt>${cdata(encrypt)}</Encrypt></xml>`;
    url.searchParams.set("signature", signature);
    url.searchParams.set("encrypt_type", "aes");
    const msgSignature = crypt.getSignature(timestamp, nonce, encrypt);
    if (opts.signature !== null) url.searchParams.set("msg_signature", opts.signature ?? msgSignature);
  } else if (opts.signature !== null) {
    url.searchParams.set("signature", opts.signature ?? signature);
  }
  const openid = /<FromUserName><!\[CDATA\[([^\]]*)\]\]>/.exec(xml)?.[1];
  if (openid) url.searchParams.set("openid", openid);
  return { url: url.toString(), body };
}

/** Sends `xml` to the callback as WeChat would (POST, text/xml, 5-second patience). */
export async function pushToCallback(
  target: CallbackTarget,
  xml: string,
  opts: PushOptions = {},
): Promise<PushResult> {
  const { url, body } = buildPush(target, xml, opts);
  return postRaw(url, body);
}

/** POSTs an arbitrary body (forged or oversized pushes in tests). */
export async function postRaw(url: string, body: string | Buffer): Promise<PushResult> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "text/xml" },
    body,
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", body: await res.text() };
}

/** The URL-verification GET WeChat sends when the server address is saved. */
export function verificationUrl(
  target: CallbackTarget,
  echostr: string,
  opts: { signature?: string; timestamp?: string } = {},
): string {
  const timestamp = opts.timestamp ?? String(nowSeconds());
  const nonce = String(randomInt(100_000_000, 999_999_999));
  const url = new URL(target.url);
  url.searchParams.set("signature", opts.signature ?? plainSignature(target.token, timestamp, nonce));
  url.searchParams.set("timestamp", timestamp);
  url.searchParams.set("nonce", nonce);
  url.searchParams.set("echostr", echostr);
  return url.toString();
}

/**
 * Opens a safe-mode reply as WeChat would: checks MsgSignature and the appId, returns the inner XML.
 * Throws when the reply is not a valid encrypted wrapper.
 */
export function openEncryptedReply(target: CallbackTarget, body: string): string {
  const field = (name: string) =>
    new RegExp(`<${name}>(?:<!\\[CDATA\\[)?([^<\\]]*)(?:\\]\\]>)?</${name}>`).exec(body)?.[1] ?? "";
  const encrypt = field("Encrypt");
  const crypt = cipherOf(target);
  if (crypt.getSignature(field("TimeStamp"), field("Nonce"), encrypt) !== field("MsgSignature"))
    throw new Error("reply MsgSignature does not match");
  const { message, id } = crypt.decrypt(encrypt);
  if (id !== target.appId) throw new Error(`reply is for appId ${id}`);
  return message;
}

/** `Content` of a passive text reply XML, or undefined. */
export function replyContent(xml: string): string | undefined {
  return /<Content><!\[CDATA\[([\s\S]*?)\]\]><\/Content>/.exec(xml)?.[1];
}
