import { createCipheriv, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import WXBizMsgCrypt from "wechat-crypto";
import {
  CallbackCipher,
  CallbackCryptoError,
  callbackSignature,
  decodeEncodingAesKey,
  signatureMatches,
  verifyMsgSignature,
  verifyUrlSignature,
} from "../../functions/adapters/wechat/callback-crypto.ts";
import {
  CallbackXmlError,
  parseCallbackXml,
  textReplyXml,
} from "../../functions/adapters/wechat/callback-xml.ts";
import { buildPush, textMessageXml } from "../../infra/local/wechat-sim/push.ts";

const token = "fanoutCallbackToken42";
const appId = "wx0000000000demo";
/** 43 base64 characters, like the OA console generates. */
const newKey = () => randomBytes(32).toString("base64").slice(0, 43);
const key = newKey();

describe("signatures", () => {
  it("matches WeChat's plaintext signature as the independent simulator computes it", () => {
    const { url } = buildPush(
      { url: "http://x/wechat/callback", token, appId },
      textMessageXml({ from: "oUser", content: "0" }),
    );
    const q = Object.fromEntries(new URL(url).searchParams);
    expect(verifyUrlSignature(token, q)).toBe(true);
    expect(verifyUrlSignature("anotherToken", q)).toBe(false);
    expect(verifyUrlSignature(token, { ...q, nonce: `${q.nonce}1` })).toBe(false);
    expect(verifyUrlSignature(token, { ...q, signature: undefined })).toBe(false);
    // Upper-case hex is the same signature.
    expect(verifyUrlSignature(token, { ...q, signature: q.signature?.toUpperCase() })).toBe(true);
  });

  it("matches wechat-crypto's msg_signature and refuses a changed Encrypt", () => {
    const ref = new WXBizMsgCrypt(token, key, appId);
    const encrypt = ref.encrypt("<xml/>");
    const msgSignature = ref.getSignature("1700000000", "42", encrypt);
    expect(callbackSignature([token, "1700000000", "42", encrypt])).toBe(msgSignature);
    expect(verifyMsgSignature(token, { msgSignature, timestamp: "1700000000", nonce: "42" }, encrypt)).toBe(
      true,
    );
    expect(
      verifyMsgSignature(token, { msgSignature, timestamp: "1700000000", nonce: "42" }, `${encrypt}A`),
    ).toBe(false);
  });

  it("refuses non-hex and wrong-length signatures without throwing", () => {
    const expected = callbackSignature(["a", "b", "c"]);
    expect(signatureMatches(expected, "zz")).toBe(false);
    expect(signatureMatches(expected, `${expected}00`)).toBe(false);
    expect(signatureMatches(expected, "")).toBe(false);
  });
});

describe("safe-mode envelope", () => {
  it("decrypts what wechat-crypto encrypts, and wechat-crypto decrypts what it encrypts", () => {
    const ref = new WXBizMsgCrypt(token, key, appId);
    const cipher = new CallbackCipher({ appId, encodingAesKey: key });
    for (const xml of [
      "<xml>短</xml>",
      `<xml><Content><![CDATA[${"长".repeat(500)}]]></Content></xml>`,
      "",
    ]) {
      expect(cipher.decrypt(ref.encrypt(xml))).toBe(xml);
      expect(ref.decrypt(cipher.encrypt(xml))).toEqual({ message: xml, id: appId });
    }
  });

  it("pads to whole 32-byte blocks (a full block of 32 when already aligned)", () => {
    const cipher = new CallbackCipher({ appId, encodingAesKey: key });
    // 16 random + 4 length + xml + 16-byte appId: 36 + xml; xml of 28 bytes makes 64, aligned.
    const aligned = "x".repeat(28);
    expect(Buffer.from(cipher.encrypt(aligned), "base64").length).toBe(96);
    expect(Buffer.from(cipher.encrypt("x".repeat(29)), "base64").length).toBe(96);
    expect(Buffer.from(cipher.encrypt("x".repeat(27)), "base64").length).toBe(64);
  });

  it("falls back to the previous key during a rotation, and only then", () => {
    const oldKey = newKey();
    const byOld = new WXBizMsgCrypt(token, oldKey, appId).encrypt("<xml>old</xml>");
    expect(
      new CallbackCipher({ appId, encodingAesKey: key, previousEncodingAesKey: oldKey }).decrypt(byOld),
    ).toBe("<xml>old</xml>");
    expect(() => new CallbackCipher({ appId, encodingAesKey: key }).decrypt(byOld)).toThrow(
      CallbackCryptoError,
    );
    // Replies always use the current key.
    const reply = new CallbackCipher({ appId, encodingAesKey: key, previousEncodingAesKey: oldKey }).encrypt(
      "r",
    );
    expect(new WXBizMsgCrypt(token, key, appId).decrypt(reply).message).toBe("r");
  });

  it("refuses another app's push", () => {
    const other = new WXBizMsgCrypt(token, key, "wx1111111111other").encrypt("<xml/>");
    expect(() => new CallbackCipher({ appId, encodingAesKey: key }).decrypt(other)).toThrow(/appId/);
  });

  it("refuses bad padding, truncated and non-base64 ciphertexts", () => {
    const aes = decodeEncodingAesKey(key);
    const encryptRaw = (plain: Buffer) => {
      const c = createCipheriv("aes-256-cbc", aes, aes.subarray(0, 16));
      c.setAutoPadding(false);
      return Buffer.concat([c.update(plain), c.final()]).toString("base64");
    };
    const cipher = new CallbackCipher({ appId, encodingAesKey: key });
    // Last byte 0 and 33: out of PKCS#7 range for 32-byte blocks.
    expect(() => cipher.decrypt(encryptRaw(Buffer.alloc(64, 0)))).toThrow(/padding/);
    expect(() => cipher.decrypt(encryptRaw(Buffer.alloc(64, 33)))).toThrow(/padding/);
    // Last byte 4 but the three before it are not 4.
    const inconsistent = Buffer.alloc(64, 7);
    inconsistent[63] = 4;
    expect(() => cipher.decrypt(encryptRaw(inconsistent))).toThrow(/padding/);
    // A length field pointing past the end.
    const long = Buffer.alloc(64, 32);
    long.writeUInt32BE(1000, 16);
    expect(() => cipher.decrypt(encryptRaw(long))).toThrow(CallbackCryptoError);
    const good = new WXBizMsgCrypt(token, key, appId).encrypt("<xml/>");
    expect(() => cipher.decrypt(good.slice(0, 10))).toThrow(CallbackCryptoError);
    expect(() => cipher.decrypt("not base64!")).toThrow(CallbackCryptoError);
    expect(() => cipher.decrypt("")).toThrow(CallbackCryptoError);
  });

  it("refuses malformed EncodingAESKeys", () => {
    expect(() => new CallbackCipher({ appId, encodingAesKey: "short" })).toThrow(CallbackCryptoError);
    expect(() => new CallbackCipher({ appId, encodingAesKey: `${key.slice(0, 42)}!` })).toThrow(
      CallbackCryptoError,
    );
  });
});

describe("push XML", () => {
  it("reads WeChat's fields as strings, CDATA verbatim, big MsgIds exact", () => {
    const fields = parseCallbackXml(
      "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[oUSER1]]></FromUserName>" +
        "<CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[ 0 ]]></Content>" +
        "<MsgId>24012345678901234567</MsgId></xml>",
    );
    expect(fields).toEqual({
      ToUserName: "gh_x",
      FromUserName: "oUSER1",
      CreateTime: "1348831860",
      MsgType: "text",
      Content: " 0 ",
      MsgId: "24012345678901234567",
    });
  });

  it("refuses DTDs, entities, nesting, repeats, other roots and malformed XML", () => {
    const bad = [
      '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>',
      '<!doctype xml SYSTEM "file:///etc/passwd"><xml/>',
      "<xml><Content><Inner>x</Inner></Content></xml>",
      "<xml><Content>a</Content><Content>b</Content></xml>",
      "<notxml><Content>a</Content></notxml>",
      "<xml><Content>a</xml>",
      "",
      "plain text",
    ];
    for (const text of bad) expect(() => parseCallbackXml(text), text).toThrow(CallbackXmlError);
  });

  it("keeps entities literal (no expansion)", () => {
    expect(parseCallbackXml("<xml><Content>&lt;b&gt;</Content></xml>").Content).toBe("&lt;b&gt;");
  });

  it("builds a reply a CDATA terminator cannot break out of", () => {
    const xml = textReplyXml({ toUserName: "oU", fromUserName: "gh", createTime: 1, content: "a]]><x>b" });
    expect(parseCallbackXml(xml).Content).toBe("a]]><x>b");
  });
});
