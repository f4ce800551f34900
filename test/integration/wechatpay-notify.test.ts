import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createNotifyVerifier,
  loadWechatPayKeys,
  NotifyRejectedError,
  type NotifyRejectReason,
  type NotifyRequest,
  WechatPayKeyConfigError,
} from "../../functions/adapters/wechatpay/notify-verifier.ts";
import type { PaymentNotice } from "../../functions/core/payment.ts";
import {
  asRequest,
  buildTransaction,
  createTestMerchant,
  createTestPlatformCertificate,
  type SignedNotify,
  signNotify,
  signRawBody,
  type TestPlatformCertificate,
  tamper,
  type WechatPayTestMerchant,
  writeMerchantFiles,
} from "../../infra/local/wechatpay-signer.ts";

// A fixed clock keeps the freshness boundaries exact.
const NOW_S = 1_722_850_421;
const now = () => NOW_S * 1000;

let m: WechatPayTestMerchant;
let stranger: WechatPayTestMerchant;
let cert: TestPlatformCertificate;
let verify: (request: NotifyRequest) => PaymentNotice;
let tmp: string;

beforeAll(() => {
  m = createTestMerchant();
  stranger = createTestMerchant();
  cert = createTestPlatformCertificate();
  tmp = mkdtempSync(join(tmpdir(), "wechatpay-notify-"));
  // Load the key the way the deployed system does: from the file WECHATPAY_PUBLIC_KEY_FILE points at.
  const publicKeyPem = readFileSync(writeMerchantFiles(m, tmp), "utf8");
  verify = createNotifyVerifier({
    apiV3Key: m.apiV3Key,
    keys: loadWechatPayKeys({
      publicKeyId: m.publicKeyId,
      publicKeyPem,
      platformCertificates: { [cert.serial]: cert.certificatePem },
    }),
    now,
  });
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function tx(overrides: Partial<Parameters<typeof buildTransaction>[1]> = {}) {
  return buildTransaction(m, {
    outTradeNo: "FO20240805000001",
    amountTotal: 990,
    transactionId: "4200002345202408051234567890",
    payerOpenid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
    ...overrides,
  });
}

function genuine(opts: Parameters<typeof signNotify>[2] = {}): SignedNotify {
  return signNotify(m, tx(), { timestamp: NOW_S, ...opts });
}

function expectRejected(n: SignedNotify, status: 400 | 401, reason: NotifyRejectReason, message?: RegExp) {
  let caught: unknown;
  try {
    verify(asRequest(n));
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(NotifyRejectedError);
  const err = caught as NotifyRejectedError;
  expect({ status: err.status, reason: err.reason }).toEqual({ status, reason });
  expect(err.message.length).toBeGreaterThan(0);
  expect(err.message).not.toContain(m.apiV3Key);
  if (message) expect(err.message).toMatch(message);
  return err;
}

describe("genuine notifies", () => {
  it("verifies and decrypts to the PaymentNotice", () => {
    const notice = verify(asRequest(genuine()));
    expect(notice).toEqual({
      appId: m.appId,
      mchId: m.mchId,
      outTradeNo: "FO20240805000001",
      transactionId: "4200002345202408051234567890",
      tradeState: "SUCCESS",
      amountTotal: 990,
      currency: "CNY",
      successTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/),
      payerOpenid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
    });
  });

  it("accepts header names in any case and an absent Signature-Type", () => {
    expect(verify(asRequest(tamper.lowerCaseHeaders(genuine()))).outTradeNo).toBe("FO20240805000001");
    expect(verify(asRequest(tamper.dropHeader(genuine(), "Wechatpay-Signature-Type"))).amountTotal).toBe(990);
  });

  it("accepts a timestamp 299 s either side of now", () => {
    expect(verify(asRequest(genuine({ timestamp: NOW_S - 299 }))).amountTotal).toBe(990);
    expect(verify(asRequest(genuine({ timestamp: NOW_S + 299 }))).amountTotal).toBe(990);
  });

  it("decrypts with empty or absent associated_data", () => {
    expect(verify(asRequest(genuine({ associatedData: "" }))).amountTotal).toBe(990);
    expect(verify(asRequest(genuine({ associatedData: null }))).amountTotal).toBe(990);
  });

  it("maps a non-success trade without payer or success_time", () => {
    const t = tx({ tradeState: "CLOSED", amountTotal: 0 });
    delete t.payer;
    const notice = verify(asRequest(signNotify(m, t, { timestamp: NOW_S })));
    expect(notice).toMatchObject({ tradeState: "CLOSED", amountTotal: 0 });
    expect(notice).not.toHaveProperty("successTime");
    expect(notice).not.toHaveProperty("payerOpenid");
  });

  it("accepts a platform-certificate serial when configured, in either hex case", () => {
    const n = genuine({ serial: cert.serial, signingKeyPem: cert.privateKeyPem });
    expect(verify(asRequest(n)).outTradeNo).toBe("FO20240805000001");
    const lower = tamper.setHeader(n, "Wechatpay-Serial", cert.serial.toLowerCase());
    expect(verify(asRequest(lower)).outTradeNo).toBe("FO20240805000001");
  });
});

describe("refused before decryption (401)", () => {
  it("refuses a signature probe", () => {
    expectRejected(tamper.probe(genuine()), 401, "signature_probe", /probe/);
    expectRejected(
      tamper.setHeader(genuine(), "Wechatpay-Signature", "WECHATPAY/SIGNTEST/abc"),
      401,
      "signature_probe",
    );
  });

  it("refuses stale and future timestamps", () => {
    expectRejected(tamper.shiftTimestamp(genuine(), m, -301), 401, "stale", /stale/);
    expectRejected(tamper.shiftTimestamp(genuine(), m, 301), 401, "stale", /stale/);
    expectRejected(tamper.shiftTimestamp(genuine(), m, 86_400), 401, "stale");
  });

  it("refuses a timestamp that is not ten digits of epoch seconds, leading zeros included", () => {
    expectRejected(tamper.replaceTimestamp(genuine(), `${NOW_S}.5`), 401, "bad_timestamp");
    expectRejected(tamper.replaceTimestamp(genuine(), "-1"), 401, "bad_timestamp");
    expectRejected(tamper.replaceTimestamp(genuine(), `0${NOW_S}`), 401, "bad_timestamp");
  });

  it("refuses an unknown serial", () => {
    expectRejected(tamper.unknownSerial(genuine()), 401, "unknown_serial", /Wechatpay-Serial/);
  });

  it("refuses a platform-certificate signature sent under the public key id", () => {
    const n = genuine({ signingKeyPem: cert.privateKeyPem });
    expectRejected(n, 401, "bad_signature");
  });

  it("refuses a body with one byte flipped", () => {
    expectRejected(tamper.flipBodyByte(genuine()), 401, "bad_signature", /signature/);
    expectRejected(tamper.flipBodyByte(genuine(), 0), 401, "bad_signature");
  });

  it("refuses a re-serialised body (keys reordered or re-indented)", () => {
    expectRejected(tamper.reorderJsonKeys(genuine()), 401, "bad_signature");
    expectRejected(tamper.reindentJson(genuine()), 401, "bad_signature");
  });

  it.each(["Wechatpay-Serial", "Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce"])(
    "refuses a notify missing %s",
    (name) => {
      expectRejected(tamper.dropHeader(genuine(), name), 401, "missing_header", new RegExp(name));
      expectRejected(tamper.setHeader(genuine(), name, ""), 401, "missing_header", new RegExp(name));
    },
  );

  it("refuses conflicting spellings of one header", () => {
    const n = genuine();
    expectRejected(
      { headers: { ...n.headers, "wechatpay-serial": "PUB_KEY_ID_0" }, body: n.body },
      401,
      "ambiguous_header",
    );
  });

  it("refuses a signature that is not strict base64", () => {
    expectRejected(tamper.badBase64Signature(genuine()), 401, "bad_signature_encoding", /base64/);
    expectRejected(tamper.unpaddedSignature(genuine()), 401, "bad_signature_encoding");
    expectRejected(tamper.setHeader(genuine(), "Wechatpay-Signature", " "), 401, "bad_signature_encoding");
  });

  it("refuses well-formed base64 of the wrong length", () => {
    expectRejected(tamper.setHeader(genuine(), "Wechatpay-Signature", "AAAA"), 401, "bad_signature");
  });

  it("refuses a wrong Signature-Type", () => {
    expectRejected(
      tamper.setHeader(genuine(), "Wechatpay-Signature-Type", "WECHATPAY2-SM2-WITH-SM3"),
      401,
      "bad_signature_type",
    );
  });

  it("refuses a signature made with another key", () => {
    expectRejected(tamper.signWithKey(genuine(), m, stranger.privateKeyPem), 401, "bad_signature");
  });

  it("refuses a nonce that could shift the signed line boundaries", () => {
    expectRejected(genuine({ nonce: "abc\ndef" }), 401, "bad_nonce");
  });
});

describe("refused after verification (400)", () => {
  it("refuses a resource encrypted with another APIv3 key", () => {
    const n = tamper.wrongApiV3Key(m, tx(), { timestamp: NOW_S });
    expectRejected(n, 400, "cannot_decrypt", /cannot decrypt/);
  });

  it("refuses a tampered GCM nonce length", () => {
    expectRejected(genuine({ gcmNonce: "short" }), 400, "cannot_decrypt");
  });

  it("refuses a body that is not JSON even though it is correctly signed", () => {
    expectRejected(signRawBody(m, "{not json", { timestamp: NOW_S }), 400, "malformed_body");
    expectRejected(signRawBody(m, "", { timestamp: NOW_S }), 400, "malformed_body");
    expectRejected(signRawBody(m, '{"id":"EV-1"}', { timestamp: NOW_S }), 400, "malformed_body", /resource/);
  });

  it("refuses an unsupported algorithm", () => {
    expectRejected(genuine({ algorithm: "AEAD_AES_128_GCM" }), 400, "unsupported_resource", /algorithm/);
  });

  it("refuses a transaction missing fields, naming them without echoing values", () => {
    const t = tx();
    delete t.out_trade_no;
    delete t.amount;
    const err = expectRejected(signNotify(m, t, { timestamp: NOW_S }), 400, "invalid_transaction");
    expect(err.message).toMatch(/out_trade_no/);
    expect(err.message).toMatch(/amount/);
    expect(err.message).not.toContain(m.appId);
  });

  it("refuses a non-integer or negative amount", () => {
    const fractional = { ...tx(), amount: { total: 9.9, currency: "CNY" } };
    expectRejected(
      signNotify(m, fractional, { timestamp: NOW_S }),
      400,
      "invalid_transaction",
      /amount\.total/,
    );
    const negative = { ...tx(), amount: { total: -1, currency: "CNY" } };
    expectRejected(
      signNotify(m, negative, { timestamp: NOW_S }),
      400,
      "invalid_transaction",
      /amount\.total/,
    );
  });
});

describe("configuration", () => {
  it("requires a 32-byte APIv3 key", () => {
    const keys = loadWechatPayKeys({ publicKeyId: m.publicKeyId, publicKeyPem: m.publicKeyPem });
    expect(() => createNotifyVerifier({ apiV3Key: "short", keys })).toThrow(RangeError);
    expect(() => createNotifyVerifier({ apiV3Key: "密".repeat(32), keys })).toThrow(RangeError);
  });

  it("refuses a private key, a bad key id, and a certificate filed under the wrong serial", () => {
    expect(() => loadWechatPayKeys({ publicKeyId: m.publicKeyId, publicKeyPem: m.privateKeyPem })).toThrow(
      WechatPayKeyConfigError,
    );
    expect(() => loadWechatPayKeys({ publicKeyId: "12345", publicKeyPem: m.publicKeyPem })).toThrow(
      WechatPayKeyConfigError,
    );
    expect(() =>
      loadWechatPayKeys({
        publicKeyId: m.publicKeyId,
        publicKeyPem: m.publicKeyPem,
        platformCertificates: { "0ABC": cert.certificatePem },
      }),
    ).toThrow(WechatPayKeyConfigError);
  });

  it("refuses a platform certificate outside its validity, and says why, while the public key still works", () => {
    const day = 86_400_000;
    for (const [now, reason] of [
      [Date.now() + 2 * day, /^expired on /],
      [Date.now() - day, /^not valid before /],
    ] as const) {
      const keys = loadWechatPayKeys({
        publicKeyId: m.publicKeyId,
        publicKeyPem: m.publicKeyPem,
        platformCertificates: { [cert.serial]: cert.certificatePem },
        now,
      });
      expect(keys.bySerial.has(cert.serial)).toBe(false);
      expect(keys.bySerial.has(m.publicKeyId.toUpperCase())).toBe(true);
      expect(keys.refused).toEqual([{ serial: cert.serial, reason: expect.stringMatching(reason) }]);
    }
  });

  it("accepts a bare public key PEM under a hex serial", () => {
    const keys = loadWechatPayKeys({
      publicKeyId: m.publicKeyId,
      publicKeyPem: m.publicKeyPem,
      platformCertificates: { "7A0B1C": stranger.publicKeyPem },
    });
    const v = createNotifyVerifier({ apiV3Key: m.apiV3Key, keys, now });
    const n = genuine({ serial: "7a0b1c", signingKeyPem: stranger.privateKeyPem });
    expect(v(asRequest(n)).outTradeNo).toBe("FO20240805000001");
  });
});
