import { randomBytes } from "node:crypto";
import { chinaDay } from "./clock.ts";
import type { Errcode } from "./errors.ts";

/** Stable and classic tokens share this shape but never each other's lineage (§1.2: fully isolated). */
interface TokenRecord {
  readonly expiresAt: number;
  /** When the token stops being "the latest": a supersede or revoke; Infinity while current. */
  invalidAt: number;
}

export interface TokenGrant {
  readonly access_token: string;
  readonly expires_in: number;
}

export type TokenResult = { ok: true; grant: TokenGrant } | { ok: false; errcode: Errcode };

export interface TokenFetchCounts {
  stable: number;
  stableForced: number;
  classic: number;
}

export interface TokenServiceConfig {
  readonly appId: string;
  readonly appSecret: string;
  readonly ttlSeconds: number;
  readonly now: () => number;
}

/** The platform hands out the successor this long before expiry, so a granted token has ≥ 5 min left. */
const PRE_ROTATE_MS = 5 * 60_000;
/** `/cgi-bin/token` keeps the superseded token alive this long after a new fetch (§1.1). */
const CLASSIC_OVERLAP_MS = 5 * 60_000;
const FORCE_MIN_GAP_MS = 30_000;
const FORCE_PER_DAY = 20;
const CLASSIC_PER_DAY = 2000;

/**
 * Issues and checks access tokens for `/cgi-bin/stable_token` and `/cgi-bin/token` with WeChat's
 * lifetimes: normal-mode stable fetches are idempotent, force refreshes kill the old token at once,
 * classic fetches supersede the previous classic token after an overlap.
 */
export class TokenService {
  private readonly tokens = new Map<string, TokenRecord>();
  private stableCurrent: string | null = null;
  /** The pre-rotated predecessor, still valid until its own expiry. */
  private stablePrevious: string | null = null;
  private classicCurrent: string | null = null;
  private lastForceAt = Number.NEGATIVE_INFINITY;
  private quotaDay = -1;
  private forceToday = 0;
  private classicToday = 0;
  private serial = 0;
  private counts: TokenFetchCounts = { stable: 0, stableForced: 0, classic: 0 };

  constructor(private readonly cfg: TokenServiceConfig) {}

  get fetchCounts(): TokenFetchCounts {
    return { ...this.counts };
  }

  /** Short TTLs (tests) would otherwise sit permanently inside the pre-rotation window. */
  private get preRotateMs(): number {
    return Math.min(PRE_ROTATE_MS, (this.cfg.ttlSeconds * 1000) / 2);
  }

  private credentialsError(appid: unknown, secret: unknown): Errcode | null {
    if (typeof appid !== "string" || appid === "") return 41002;
    if (appid !== this.cfg.appId) return 40013;
    if (typeof secret !== "string" || secret === "") return 41004;
    if (secret !== this.cfg.appSecret) return 40125;
    return null;
  }

  private rollQuotaDay(now: number): void {
    const day = chinaDay(now);
    if (day !== this.quotaDay) {
      this.quotaDay = day;
      this.forceToday = 0;
      this.classicToday = 0;
    }
  }

  private issue(now: number): string {
    this.serial += 1;
    // Real tokens are long opaque strings (store ≥ 512 chars); a realistic length catches truncating stores.
    const token = `${this.serial}_${randomBytes(96).toString("base64url")}`;
    this.tokens.set(token, {
      expiresAt: now + this.cfg.ttlSeconds * 1000,
      invalidAt: Number.POSITIVE_INFINITY,
    });
    return token;
  }

  private grant(token: string, now: number): TokenGrant {
    const record = this.tokens.get(token);
    const remaining = record === undefined ? 0 : record.expiresAt - now;
    return { access_token: token, expires_in: Math.max(0, Math.floor(remaining / 1000)) };
  }

  private liveStable(token: string | null, now: number): TokenRecord | null {
    if (token === null) return null;
    const record = this.tokens.get(token);
    if (record === undefined || now >= record.invalidAt || now >= record.expiresAt) return null;
    return record;
  }

  /** `POST /cgi-bin/stable_token`. */
  fetchStable(grantType: unknown, appid: unknown, secret: unknown, forceRefresh: boolean): TokenResult {
    if (grantType !== "client_credential") return { ok: false, errcode: 40002 };
    const bad = this.credentialsError(appid, secret);
    if (bad !== null) return { ok: false, errcode: bad };
    const now = this.cfg.now();
    this.rollQuotaDay(now);
    if (forceRefresh) return this.forceStable(now);

    this.counts.stable += 1;
    const current = this.liveStable(this.stableCurrent, now);
    if (current !== null && this.stableCurrent !== null) {
      if (now < current.expiresAt - this.preRotateMs)
        return { ok: true, grant: this.grant(this.stableCurrent, now) };
      this.stablePrevious = this.stableCurrent;
    } else {
      this.stablePrevious = null;
    }
    this.stableCurrent = this.issue(now);
    return { ok: true, grant: this.grant(this.stableCurrent, now) };
  }

  private forceStable(now: number): TokenResult {
    // Every force call counts against the 20/day, including those swallowed by the 30 s gap.
    if (this.forceToday >= FORCE_PER_DAY) return { ok: false, errcode: 45009 };
    this.forceToday += 1;
    this.counts.stableForced += 1;
    const current = this.liveStable(this.stableCurrent, now);
    if (current !== null && this.stableCurrent !== null && now - this.lastForceAt < FORCE_MIN_GAP_MS) {
      return { ok: true, grant: this.grant(this.stableCurrent, now) };
    }
    this.lastForceAt = now;
    this.rotateStable(now);
    return { ok: true, grant: this.grant(this.stableCurrent ?? "", now) };
  }

  /** Invalidates every live stable token at once and issues a successor, as a force refresh does. */
  private rotateStable(now: number): void {
    for (const token of [this.stableCurrent, this.stablePrevious]) {
      const record = token === null ? undefined : this.tokens.get(token);
      if (record !== undefined) record.invalidAt = Math.min(record.invalidAt, now);
    }
    this.stablePrevious = null;
    this.stableCurrent = this.issue(now);
  }

  /** `GET /cgi-bin/token`. */
  fetchClassic(grantType: unknown, appid: unknown, secret: unknown): TokenResult {
    if (grantType !== "client_credential") return { ok: false, errcode: 40002 };
    const bad = this.credentialsError(appid, secret);
    if (bad !== null) return { ok: false, errcode: bad };
    const now = this.cfg.now();
    this.rollQuotaDay(now);
    if (this.classicToday >= CLASSIC_PER_DAY) return { ok: false, errcode: 45009 };
    this.classicToday += 1;
    this.counts.classic += 1;
    const previous = this.classicCurrent === null ? undefined : this.tokens.get(this.classicCurrent);
    if (previous !== undefined) previous.invalidAt = Math.min(previous.invalidAt, now + CLASSIC_OVERLAP_MS);
    this.classicCurrent = this.issue(now);
    return { ok: true, grant: this.grant(this.classicCurrent, now) };
  }

  /** Checks a business call's `access_token`; 0 when it may proceed. */
  check(token: string | null): 0 | Errcode {
    if (token === null || token === "") return 41001;
    const record = this.tokens.get(token);
    if (record === undefined) return 40001;
    const now = this.cfg.now();
    if (now >= record.expiresAt) return 42001;
    if (now >= record.invalidAt) return 40001;
    return 0;
  }

  /**
   * Simulates another party force-refreshing: the stable lineage rotates and the token the caller
   * presented (whatever its kind) dies with it. Not counted as a fetch.
   */
  revokeAsElsewhere(presented: string | null): void {
    const now = this.cfg.now();
    const record = presented === null ? undefined : this.tokens.get(presented);
    if (record !== undefined) record.invalidAt = Math.min(record.invalidAt, now);
    this.rotateStable(now);
  }

  reset(): void {
    this.tokens.clear();
    this.stableCurrent = null;
    this.stablePrevious = null;
    this.classicCurrent = null;
    this.lastForceAt = Number.NEGATIVE_INFINITY;
    this.quotaDay = -1;
    this.forceToday = 0;
    this.classicToday = 0;
    this.resetCounts();
  }

  resetCounts(): void {
    this.counts = { stable: 0, stableForced: 0, classic: 0 };
  }
}
