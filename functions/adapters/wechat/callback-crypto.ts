import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * The OA callback server's cryptography (WECHAT_FACTS §5.1, §5.4): the SHA-1 push signatures and the
 * safe-mode (安全模式) AES-256-CBC envelope. Pure functions of Node's `crypto`; no I/O.
 */

/** Raised when a push cannot be decrypted or does not belong to this app; `reason` is safe to log. */
export class CallbackCryptoError extends Error {
  override readonly name = "CallbackCryptoError";
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** `sha1(sort(parts).join(""))` as lowercase hex: both `signature` and `msg_signature`. */
export function callbackSignature(parts: readonly string[]): string {
  return createHash("sha1")
    .update([...parts].sort().join(""), "utf8")
    .digest("hex");
}

/** Compares a given hex signature with the expected one in constant time (case-insensitive hex). */
export function signatureMatches(expectedHex: string, given: string | undefined): boolean {
  if (!given || !/^[0-9a-fA-F]{40}$/.test(given)) return false;
  return timingSafeEqual(Buffer.from(expectedHex, "hex"), Buffer.from(given.toLowerCase(), "hex"));
}

export interface SignedQuery {
  readonly signature?: string | undefined;
  readonly timestamp?: string | undefined;
  readonly nonce?: string | undefined;
}

/** Plaintext-mode and URL-verification check: `signature = sha1(sort(token, timestamp, nonce))`. */
export function verifyUrlSignature(token: string, query: SignedQuery): boolean {
  const { signature, timestamp, nonce } = query;
  if (!signature || !timestamp || !nonce) return false;
  return signatureMatches(callbackSignature([token, timestamp, nonce]), signature);
}

/** Safe-mode check: `msg_signature = sha1(sort(token, timestamp, nonce, Encrypt))`. */
export function verifyMsgSignature(
  token: string,
  query: { readonly msgSignature?: string | undefined; readonly timestamp?: string; readonly nonce?: string },
  encrypt: string,
): boolean {
  const { msgSignature, timestamp, nonce } = query;
  if (!msgSignature || !timestamp || !nonce || !encrypt) return false;
  return signatureMatches(callbackSignature([token, timestamp, nonce, encrypt]), msgSignature);
}

const BLOCK = 32;

/** `Base64_Decode(EncodingAESKey + "=")`: the 43-character key gives 32 bytes. */
export function decodeEncodingAesKey(encodingAesKey: string): Buffer {
  if (!/^[A-Za-z0-9+/]{43}$/.test(encodingAesKey))
    throw new CallbackCryptoError("EncodingAESKey must be 43 base64 characters");
  const key = Buffer.from(`${encodingAesKey}=`, "base64");
  if (key.length !== 32) throw new CallbackCryptoError("EncodingAESKey must decode to 32 bytes");
  return key;
}

function decryptWith(key: Buffer, encrypt: string, appId: string): string {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encrypt)) throw new CallbackCryptoError("Encrypt is not base64");
  const cipherText = Buffer.from(encrypt, "base64");
  if (cipherText.length === 0 || cipherText.length % 16 !== 0)
    throw new CallbackCryptoError("ciphertext is not a whole number of AES blocks");
  const decipher = createDecipheriv("aes-256-cbc", key, key.subarray(0, 16));
  decipher.setAutoPadding(false);
  const padded = Buffer.concat([decipher.update(cipherText), decipher.final()]);
  const pad = padded[padded.length - 1] ?? 0;
  if (pad < 1 || pad > BLOCK || pad > padded.length) throw new CallbackCryptoError("bad padding");
  for (let i = padded.length - pad; i < padded.length; i += 1)
    if (padded[i] !== pad) throw new CallbackCryptoError("bad padding");
  const plain = padded.subarray(0, padded.length - pad);
  if (plain.length < 20) throw new CallbackCryptoError("plaintext too short");
  const length = plain.readUInt32BE(16);
  if (20 + length > plain.length) throw new CallbackCryptoError("message length out of range");
  const receivedAppId = plain.subarray(20 + length).toString("utf8");
  if (receivedAppId !== appId) throw new CallbackCryptoError("appId does not match");
  return plain.subarray(20, 20 + length).toString("utf8");
}

export interface CallbackCipherOptions {
  readonly appId: string;
  /** The current EncodingAESKey (43 characters). */
  readonly encodingAesKey: string;
  /** The one before a rotation: tried when the current key cannot decrypt a push. */
  readonly previousEncodingAesKey?: string | undefined;
}

/** Safe-mode envelope: decrypts pushes (current key, then the previous one) and encrypts replies. */
export class CallbackCipher {
  private readonly keys: Buffer[];
  private readonly appId: string;

  constructor(opts: CallbackCipherOptions) {
    this.appId = opts.appId;
    this.keys = [decodeEncodingAesKey(opts.encodingAesKey)];
    if (opts.previousEncodingAesKey) this.keys.push(decodeEncodingAesKey(opts.previousEncodingAesKey));
  }

  /** The XML inside `Encrypt`; throws CallbackCryptoError when no key opens it for this appId. */
  decrypt(encrypt: string): string {
    let failure: CallbackCryptoError | undefined;
    for (const key of this.keys) {
      try {
        return decryptWith(key, encrypt, this.appId);
      } catch (error) {
        if (!(error instanceof CallbackCryptoError)) throw error;
        failure ??= error;
      }
    }
    throw failure ?? new CallbackCryptoError("no key");
  }

  /** `base64(AES(random16 + len + xml + appId))` with the current key, PKCS#7 padded to 32 bytes. */
  encrypt(xml: string, random: Buffer = randomBytes(16)): string {
    const key = this.keys[0] as Buffer;
    const message = Buffer.from(xml, "utf8");
    const length = Buffer.alloc(4);
    length.writeUInt32BE(message.length, 0);
    const plain = Buffer.concat([random, length, message, Buffer.from(this.appId, "utf8")]);
    const pad = BLOCK - (plain.length % BLOCK);
    const cipher = createCipheriv("aes-256-cbc", key, key.subarray(0, 16));
    cipher.setAutoPadding(false);
    return Buffer.concat([
      cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])),
      cipher.final(),
    ]).toString("base64");
  }
}
