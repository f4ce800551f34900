/**
 * Dev-only producer of WeChat Pay v3 payment notifies, for the local demo and tests.
 *
 * Deliberately built on wechatpay-axios-plugin rather than on functions/adapters/wechatpay, so a test that
 * passes proves two independent implementations agree on the wire format (WECHAT_FACTS §6, §7.2).
 * One module past 300 lines: all of it is WeChat Pay's side of a notify (the merchant, its signed
 * notifies, the tampered variants and the platform certificates), which the tests use together.
 */
import { execFileSync } from "node:child_process";
import { createPublicKey, generateKeyPairSync, randomInt, randomUUID, X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Aes, Formatter, Rsa } from "wechatpay-axios-plugin";

/** A fake merchant plus the fake "WeChat Pay" key pair that signs its notifies. */
export interface WechatPayTestMerchant {
  readonly appId: string;
  readonly mchId: string;
  /** 32 ASCII characters. */
  readonly apiV3Key: string;
  /** `PUB_KEY_ID_` + 32 digits: the `Wechatpay-Serial` for public-key mode. */
  readonly publicKeyId: string;
  /** Stands in for WeChat Pay's private key; never exists in production. */
  readonly privateKeyPem: string;
  /** What the merchant downloads as `pub_key.pem`. */
  readonly publicKeyPem: string;
}

/** A notify as WeChat Pay would POST it. */
export interface SignedNotify {
  headers: Record<string, string>;
  body: string;
}

/** Knobs for {@link signNotify}; each one exists to produce a specific valid or broken notify. */
export interface SignNotifyOptions {
  /** Unix seconds; default now. */
  timestamp?: number;
  /** `Wechatpay-Nonce` header. */
  nonce?: string;
  /** `Wechatpay-Serial` header; default the merchant's publicKeyId. */
  serial?: string;
  /** Key that signs; default the merchant's privateKeyPem. */
  signingKeyPem?: string;
  eventType?: string;
  /** GCM AAD; `null` omits the field. Default "transaction", as real notifies use. */
  associatedData?: string | null;
  /** Key that encrypts the resource; default the merchant's apiV3Key. */
  apiV3Key?: string;
  /** `resource.algorithm` as written into the body (encryption is always AES-256-GCM). */
  algorithm?: string;
  /** GCM nonce (`resource.nonce`); default 12 random base62 characters. */
  gcmNonce?: string;
  /** Notification id (`id`). */
  id?: string;
}

const PROBE_PREFIX = "WECHATPAY/SIGNTEST/";

/** Creates a merchant with a fresh RSA-2048 "WeChat Pay" key pair and a random APIv3 key. */
export function createTestMerchant(overrides: Partial<WechatPayTestMerchant> = {}): WechatPayTestMerchant {
  let { privateKeyPem, publicKeyPem } = overrides;
  if (privateKeyPem === undefined) {
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    privateKeyPem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    publicKeyPem = publicKeyPem ?? pair.publicKey.export({ type: "spki", format: "pem" }).toString();
  }
  publicKeyPem ??= createPublicKey(privateKeyPem).export({ type: "spki", format: "pem" }).toString();
  return {
    appId: overrides.appId ?? `wx${randomDigits(16)}`,
    mchId: overrides.mchId ?? `19${randomDigits(8)}`,
    apiV3Key: overrides.apiV3Key ?? Formatter.nonce(32),
    publicKeyId: overrides.publicKeyId ?? `PUB_KEY_ID_${randomDigits(32)}`,
    privateKeyPem,
    publicKeyPem,
  };
}

/** Writes the merchant's WeChat Pay public key as `pub_key.pem` in `dir` (for WECHATPAY_PUBLIC_KEY_FILE); returns its path. */
export function writeMerchantFiles(m: WechatPayTestMerchant, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "pub_key.pem");
  writeFileSync(path, m.publicKeyPem);
  return path;
}

/** Builds a realistic decrypted `transaction` resource (WECHAT_FACTS §6.5) for a direct merchant. */
export function buildTransaction(
  m: WechatPayTestMerchant,
  input: {
    outTradeNo: string;
    amountTotal: number;
    tradeState?: string;
    transactionId?: string;
    payerOpenid?: string;
    appId?: string;
    mchId?: string;
  },
): Record<string, unknown> {
  const tradeState = input.tradeState ?? "SUCCESS";
  return {
    appid: input.appId ?? m.appId,
    mchid: input.mchId ?? m.mchId,
    out_trade_no: input.outTradeNo,
    transaction_id: input.transactionId ?? `4200${randomDigits(24)}`,
    trade_type: "JSAPI",
    trade_state: tradeState,
    trade_state_desc: TRADE_STATE_DESC[tradeState] ?? tradeState,
    bank_type: "OTHERS",
    attach: "",
    ...(tradeState === "SUCCESS" && { success_time: chinaTime(new Date()) }),
    payer: { openid: input.payerOpenid ?? `oUpF8u${randomDigits(22)}` },
    amount: {
      total: input.amountTotal,
      payer_total: input.amountTotal,
      currency: "CNY",
      payer_currency: "CNY",
    },
    promotion_detail: [],
  };
}

/** Encrypts `transaction` into a notify body and signs it the way WeChat Pay does. */
export function signNotify(
  m: WechatPayTestMerchant,
  transaction: object,
  opts: SignNotifyOptions = {},
): SignedNotify {
  const gcmNonce = opts.gcmNonce ?? Formatter.nonce(12);
  const aad = opts.associatedData === undefined ? "transaction" : opts.associatedData;
  const ciphertext = Aes.AesGcm.encrypt(
    JSON.stringify(transaction),
    opts.apiV3Key ?? m.apiV3Key,
    gcmNonce,
    aad ?? "",
  );
  const body = JSON.stringify({
    id: opts.id ?? `EV-${randomUUID()}`,
    create_time: chinaTime(new Date()),
    resource_type: "encrypt-resource",
    event_type: opts.eventType ?? "TRANSACTION.SUCCESS",
    summary: "支付成功",
    resource: {
      original_type: "transaction",
      algorithm: opts.algorithm ?? "AEAD_AES_256_GCM",
      ciphertext,
      ...(aad !== null && { associated_data: aad }),
      nonce: gcmNonce,
    },
  });
  return signRawBody(m, body, opts);
}

/** Signs an arbitrary body (e.g. non-JSON) with valid headers, to test what happens after verification. */
export function signRawBody(
  m: WechatPayTestMerchant,
  body: string,
  opts: Pick<SignNotifyOptions, "timestamp" | "nonce" | "serial" | "signingKeyPem"> = {},
): SignedNotify {
  const timestamp = opts.timestamp ?? Formatter.timestamp();
  const nonce = opts.nonce ?? Formatter.nonce(32);
  return {
    headers: {
      "Wechatpay-Serial": opts.serial ?? m.publicKeyId,
      "Wechatpay-Signature": Rsa.sign(
        Formatter.response(timestamp, nonce, body),
        opts.signingKeyPem ?? m.privateKeyPem,
      ),
      "Wechatpay-Timestamp": String(timestamp),
      "Wechatpay-Nonce": nonce,
      "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
      "Content-Type": "application/json",
    },
    body,
  };
}

/** The request shape the verifier takes: the body as raw UTF-8 bytes. */
export function asRequest(n: SignedNotify): { headers: Record<string, string>; rawBody: Buffer } {
  return { headers: { ...n.headers }, rawBody: Buffer.from(n.body, "utf8") };
}

/** Ways to break a genuine notify; every result must be rejected except `lowerCaseHeaders`. */
export const tamper = {
  /** WeChat Pay's signature probe: the real signature behind the `WECHATPAY/SIGNTEST/` marker. */
  probe(n: SignedNotify): SignedNotify {
    return setHeader(n, "Wechatpay-Signature", `${PROBE_PREFIX}${header(n, "Wechatpay-Signature")}`);
  },
  /** Correctly re-signed with the timestamp moved by `deltaSeconds`: only freshness is wrong. */
  shiftTimestamp(n: SignedNotify, m: WechatPayTestMerchant, deltaSeconds: number): SignedNotify {
    return resign(n, m, { timestamp: Number(header(n, "Wechatpay-Timestamp")) + deltaSeconds });
  },
  /** Timestamp header replaced without re-signing. */
  replaceTimestamp(n: SignedNotify, timestamp: string): SignedNotify {
    return setHeader(n, "Wechatpay-Timestamp", timestamp);
  },
  unknownSerial(n: SignedNotify, serial = `PUB_KEY_ID_${randomDigits(32)}`): SignedNotify {
    return setHeader(n, "Wechatpay-Serial", serial);
  },
  /** Flips the low bit of one ASCII byte of the body (default: one in the middle of the ciphertext). */
  flipBodyByte(n: SignedNotify, index?: number): SignedNotify {
    const bytes = Buffer.from(n.body, "utf8");
    let i = index ?? n.body.indexOf('"ciphertext":"') + 14 + 20;
    while (i < bytes.length && (bytes[i] ?? 0) >= 0x80) i++;
    const byte = bytes[i];
    if (byte === undefined) throw new RangeError("no ASCII byte to flip");
    bytes[i] = byte ^ 0x01;
    return { headers: { ...n.headers }, body: bytes.toString("utf8") };
  },
  /** Same JSON value, keys in reverse order: what a framework that re-serialises the body produces. */
  reorderJsonKeys(n: SignedNotify): SignedNotify {
    return { headers: { ...n.headers }, body: JSON.stringify(reverseKeys(JSON.parse(n.body))) };
  },
  /** Same JSON value, pretty-printed. */
  reindentJson(n: SignedNotify): SignedNotify {
    return { headers: { ...n.headers }, body: JSON.stringify(JSON.parse(n.body), null, 2) };
  },
  dropHeader(n: SignedNotify, name: string): SignedNotify {
    const headers = Object.fromEntries(
      Object.entries(n.headers).filter(([k]) => k.toLowerCase() !== name.toLowerCase()),
    );
    return { headers, body: n.body };
  },
  setHeader,
  /** Still a valid notify: header names as API Gateway delivers them. */
  lowerCaseHeaders(n: SignedNotify): SignedNotify {
    return {
      headers: Object.fromEntries(Object.entries(n.headers).map(([k, v]) => [k.toLowerCase(), v])),
      body: n.body,
    };
  },
  /** Signature with characters outside the base64 alphabet, like some real probes. */
  badBase64Signature(n: SignedNotify): SignedNotify {
    return setHeader(n, "Wechatpay-Signature", `*${header(n, "Wechatpay-Signature").slice(1)}`);
  },
  /** The genuine signature without its `=` padding: decodable by lenient parsers, not strict base64. */
  unpaddedSignature(n: SignedNotify): SignedNotify {
    return setHeader(n, "Wechatpay-Signature", header(n, "Wechatpay-Signature").replace(/=+$/, ""));
  },
  /** Re-signs the unchanged body and headers with another private key. */
  signWithKey(n: SignedNotify, m: WechatPayTestMerchant, privateKeyPem: string): SignedNotify {
    return resign(n, m, { signingKeyPem: privateKeyPem });
  },
  /** A correctly signed notify whose resource was encrypted with a different APIv3 key. */
  wrongApiV3Key(m: WechatPayTestMerchant, transaction: object, opts: SignNotifyOptions = {}): SignedNotify {
    return signNotify(m, transaction, { ...opts, apiV3Key: Formatter.nonce(32) });
  },
};

/** A throw-away self-signed X.509 certificate standing in for a WeChat Pay platform certificate. */
export interface TestPlatformCertificate {
  /** 40 upper-case hex digits, as WeChat Pay sends in `Wechatpay-Serial`. */
  readonly serial: string;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

/** Creates a self-signed RSA-2048 certificate with the `openssl` CLI (Node cannot issue certificates itself). */
export function createTestPlatformCertificate(): TestPlatformCertificate {
  // A leading digit below 8 keeps the DER integer positive, so the serial reads back unchanged.
  const serial = `${randomInt(1, 8)}${Array.from({ length: 39 }, () => "0123456789ABCDEF"[randomInt(16)]).join("")}`;
  const dir = mkdtempSync(join(tmpdir(), "wechatpay-cert-"));
  try {
    const keyPath = join(dir, "key.pem");
    const certPath = join(dir, "cert.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        keyPath,
        "-out",
        certPath,
        "-days",
        "1",
        "-subj",
        "/CN=Tenpay.com Root CA test",
        "-set_serial",
        `0x${serial}`,
      ],
      { stdio: "ignore" },
    );
    const certificatePem = readFileSync(certPath, "utf8");
    return {
      serial: new X509Certificate(certificatePem).serialNumber,
      certificatePem,
      privateKeyPem: readFileSync(keyPath, "utf8"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const TRADE_STATE_DESC: Record<string, string> = {
  SUCCESS: "支付成功",
  REFUND: "转入退款",
  NOTPAY: "未支付",
  CLOSED: "已关闭",
  REVOKED: "已撤销",
  USERPAYING: "用户支付中",
  PAYERROR: "支付失败",
};

function resign(
  n: SignedNotify,
  m: WechatPayTestMerchant,
  opts: Pick<SignNotifyOptions, "timestamp" | "signingKeyPem">,
) {
  const signed = signRawBody(m, n.body, {
    timestamp: opts.timestamp ?? Number(header(n, "Wechatpay-Timestamp")),
    nonce: header(n, "Wechatpay-Nonce"),
    serial: header(n, "Wechatpay-Serial"),
    ...(opts.signingKeyPem !== undefined && { signingKeyPem: opts.signingKeyPem }),
  });
  return { headers: { ...n.headers, ...signed.headers }, body: n.body };
}

function setHeader(n: SignedNotify, name: string, value: string): SignedNotify {
  const rest = tamper.dropHeader(n, name);
  return { headers: { ...rest.headers, [name]: value }, body: n.body };
}

function header(n: SignedNotify, name: string): string {
  const hit = Object.entries(n.headers).find(([k]) => k.toLowerCase() === name.toLowerCase());
  if (hit === undefined) throw new RangeError(`notify has no ${name} header`);
  return hit[1];
}

function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reverseKeys(v)]),
    );
  }
  return value;
}

function randomDigits(count: number): string {
  return Array.from({ length: count }, () => randomInt(10)).join("");
}

/** ISO-8601 in UTC+8 with offset, the format WeChat Pay uses for `success_time` and `create_time`. */
function chinaTime(date: Date): string {
  const shifted = new Date(date.getTime() + 8 * 3600_000);
  return `${shifted.toISOString().slice(0, 19)}+08:00`;
}
