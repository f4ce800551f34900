import { createPublicKey, type KeyObject, X509Certificate } from "node:crypto";

/** The public keys WeChat Pay may sign notifies with, looked up by the `Wechatpay-Serial` header. */
export interface WechatPayKeys {
  /**
   * serial → public key: the WeChat Pay public key under its `PUB_KEY_ID_…`, plus any platform-certificate
   * serials. Serials are stored upper-cased; the verifier also tries the upper-cased header value.
   */
  readonly bySerial: ReadonlyMap<string, KeyObject>;
  /** Platform certificates left out because they are not valid now: the caller logs them at start-up. */
  readonly refused: readonly { readonly serial: string; readonly reason: string }[];
}

/** Raised at configuration time (cold start), never per request: the process should refuse to start. */
export class WechatPayKeyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WechatPayKeyConfigError";
  }
}

const PUBLIC_KEY_ID = /^PUB_KEY_ID_[0-9A-Za-z]+$/;
const HEX_SERIAL = /^[0-9A-Fa-f]+$/;
const MIN_MODULUS_BITS = 2048;

/** Upper-cases a serial so hex platform-certificate serials match whatever case WeChat Pay or the operator used. */
export function normalizeSerial(serial: string): string {
  return serial.toUpperCase();
}

/** Builds the serial → key map from the WeChat Pay public key and optional platform certificates. */
export function loadWechatPayKeys(input: {
  publicKeyId: string;
  publicKeyPem: string;
  platformCertificates?: Record<string, string>;
  /** Epoch ms; certificates outside their validity at this time are refused. Default now. */
  now?: number;
}): WechatPayKeys {
  const bySerial = new Map<string, KeyObject>();
  const refused: { serial: string; reason: string }[] = [];
  const now = input.now ?? Date.now();

  // A typo here would make every notify fail as "unknown serial", which looks like an attack, not a misconfiguration.
  if (!PUBLIC_KEY_ID.test(input.publicKeyId)) {
    throw new WechatPayKeyConfigError("WeChat Pay public key id must look like PUB_KEY_ID_<digits>");
  }
  bySerial.set(normalizeSerial(input.publicKeyId), parsePublicKey(input.publicKeyPem, input.publicKeyId));

  for (const [serial, pem] of Object.entries(input.platformCertificates ?? {})) {
    if (!HEX_SERIAL.test(serial)) {
      throw new WechatPayKeyConfigError(`platform certificate serial ${JSON.stringify(serial)} is not hex`);
    }
    const key = normalizeSerial(serial);
    if (bySerial.has(key)) {
      throw new WechatPayKeyConfigError(`duplicate WeChat Pay key serial ${serial}`);
    }
    if (pem.includes("BEGIN CERTIFICATE")) {
      const certificate = certificateFiledUnder(pem, serial);
      const reason = outsideValidity(certificate, now);
      if (reason) {
        refused.push({ serial, reason });
        continue;
      }
    }
    bySerial.set(key, parsePublicKey(pem, serial));
  }

  return { bySerial, refused };
}

/** Why a certificate is not valid at `now` (WeChat Pay's platform certificates last five years), if it is not. */
function outsideValidity(certificate: X509Certificate, now: number): string | undefined {
  if (Date.parse(certificate.validTo) < now)
    return `expired on ${new Date(certificate.validTo).toISOString()}`;
  if (Date.parse(certificate.validFrom) > now)
    return `not valid before ${new Date(certificate.validFrom).toISOString()}`;
  return undefined;
}

function parsePublicKey(pem: string, label: string): KeyObject {
  // createPublicKey happily derives a public key from a private one; refuse so a leaked private key is noticed.
  if (pem.includes("PRIVATE KEY")) {
    throw new WechatPayKeyConfigError(`key for ${label} is a private key; configure the public key only`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new WechatPayKeyConfigError(`key for ${label} is not a PEM public key or X.509 certificate`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== "rsa" || bits < MIN_MODULUS_BITS) {
    throw new WechatPayKeyConfigError(`key for ${label} must be RSA with at least ${MIN_MODULUS_BITS} bits`);
  }
  return key;
}

function certificateFiledUnder(pem: string, serial: string): X509Certificate {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    throw new WechatPayKeyConfigError(`certificate for ${serial} is not a valid X.509 PEM`);
  }
  // Filing a certificate under the wrong serial would silently reject every notify signed with it.
  const certSerial = certificate.serialNumber;
  if (stripLeadingZeros(normalizeSerial(certSerial)) !== stripLeadingZeros(normalizeSerial(serial))) {
    throw new WechatPayKeyConfigError(`certificate configured under ${serial} has serial ${certSerial}`);
  }
  return certificate;
}

function stripLeadingZeros(hex: string): string {
  return hex.replace(/^0+(?=.)/, "");
}
