import { XMLParser, XMLValidator } from "fast-xml-parser";

/** Raised for a body that is not a flat WeChat `<xml>` document; `message` is safe to log. */
export class CallbackXmlError extends Error {
  override readonly name = "CallbackXmlError";
}

/** Largest push body accepted; WeChat's are a few hundred bytes (a long text message a few KB). */
export const MAX_CALLBACK_BODY_BYTES = 64 * 1024;

const parser = new XMLParser({
  // No DTDs, no entity expansion (billion laughs, XXE); WeChat uses CDATA, not entities.
  processEntities: false,
  htmlEntities: false,
  ignoreAttributes: true,
  // Everything stays a string: MsgId exceeds 2^53 on some accounts.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: 4,
});

/**
 * The children of a WeChat push's `<xml>` root as strings (CDATA unwrapped). Refuses DOCTYPE and
 * ENTITY declarations outright, malformed XML, another root and nested elements.
 */
export function parseCallbackXml(text: string): Record<string, string> {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new CallbackXmlError("DTD and entity declarations are refused");
  if (XMLValidator.validate(text) !== true) throw new CallbackXmlError("malformed XML");
  let doc: unknown;
  try {
    doc = parser.parse(text);
  } catch {
    throw new CallbackXmlError("malformed XML");
  }
  const root = (doc as Record<string, unknown> | undefined)?.xml;
  if (root === undefined || root === null || typeof root !== "object" || Array.isArray(root))
    throw new CallbackXmlError("the root element must be <xml> with child elements");
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(root as Record<string, unknown>)) {
    // A fixed message: the element's name is the sender's text, and this runs before any signature check.
    if (typeof value !== "string")
      throw new CallbackXmlError("each child of <xml> must be a single text value");
    fields[name] = value;
  }
  return fields;
}

/** `<![CDATA[…]]>`, splitting any `]]>` inside the value so it cannot end the section early. */
export function cdata(value: string): string {
  return `<![CDATA[${value.replaceAll("]]>", "]]]]><![CDATA[>")}]]>`;
}

/** A passive text reply (WECHAT_FACTS §5.3): To/From swapped by the caller. */
export function textReplyXml(reply: {
  toUserName: string;
  fromUserName: string;
  createTime: number;
  content: string;
}): string {
  return (
    `<xml><ToUserName>${cdata(reply.toUserName)}</ToUserName>` +
    `<FromUserName>${cdata(reply.fromUserName)}</FromUserName>` +
    `<CreateTime>${Math.floor(reply.createTime)}</CreateTime>` +
    `<MsgType>${cdata("text")}</MsgType><Content>${cdata(reply.content)}</Content></xml>`
  );
}

/** The safe-mode reply wrapper (WECHAT_FACTS §5.4). */
export function encryptedReplyXml(reply: {
  encrypt: string;
  msgSignature: string;
  timestamp: string;
  nonce: string;
}): string {
  return (
    `<xml><Encrypt>${cdata(reply.encrypt)}</Encrypt><MsgSignature>${cdata(reply.msgSignature)}</MsgSignature>` +
    `<TimeStamp>${reply.timestamp}</TimeStamp><Nonce>${cdata(reply.nonce)}</Nonce></xml>`
  );
}
