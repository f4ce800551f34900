import { SEND_APIS, type SendApi } from "./wechat-api.ts";

/** Injected misbehaviour; rates are shares in [0, 1] drawn from a seeded PRNG so runs repeat exactly. */
export interface Faults {
  /** Added to every WeChat endpoint (token endpoints too) before it answers. */
  latencyMs: number;
  /** Extra latency drawn uniformly from [0, latencyJitterMs). */
  latencyJitterMs: number;
  /** Share of sends answered `{"errcode":-1,"errmsg":"system error"}`, nothing delivered. */
  busyRate: number;
  /** Share of sends answered HTTP 502 with a non-JSON body, nothing delivered. */
  http5xxRate: number;
  /** Share of sends held open without an answer until the client gives up. */
  timeoutRate: number;
  /** Whether a timed-out send was in fact processed (and delivered if it would have succeeded). */
  timeoutDelivers: boolean;
  /** The send APIs the rate faults hit; empty: all of them. */
  faultApis: readonly SendApi[];
  /**
   * At the k-th send call (all send APIs, 1-based, counted from the `setFaults` that set it) the
   * stable token is rotated as by a force_refresh elsewhere and the presented token is revoked:
   * that call and every later one with the old token get 40001. Fires once.
   */
  revokeTokenAtSend: number | null;
  /**
   * Token calls (`stable_token`, `token`) answered with this errcode instead of a token: 40164, the
   * caller's IP is not in the whitelist, or 89503, an administrator must confirm. Null: answered.
   */
  refuseTokenCalls: TokenRefusal | null;
  seed: number;
}

export const TOKEN_REFUSALS = [40164, 89503] as const;
export type TokenRefusal = (typeof TOKEN_REFUSALS)[number];

export const DEFAULT_FAULTS: Readonly<Faults> = Object.freeze({
  latencyMs: 0,
  latencyJitterMs: 0,
  busyRate: 0,
  http5xxRate: 0,
  timeoutRate: 0,
  timeoutDelivers: false,
  faultApis: [],
  revokeTokenAtSend: null,
  refuseTokenCalls: null,
  seed: 1,
});

export type FaultOutcome = "timeout" | "http5xx" | "busy" | "none";

/** mulberry32: tiny, fast, and good enough to spread fault draws evenly. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
}

/** One draw per send decides among the rate faults, so their shares are exact in expectation. */
export function drawFault(faults: Faults, draw: number): FaultOutcome {
  let edge = faults.timeoutRate;
  if (draw < edge) return "timeout";
  edge += faults.http5xxRate;
  if (draw < edge) return "http5xx";
  edge += faults.busyRate;
  if (draw < edge) return "busy";
  return "none";
}

const RATE_KEYS = ["busyRate", "http5xxRate", "timeoutRate"] as const;
const NON_NEGATIVE_KEYS = ["latencyMs", "latencyJitterMs"] as const;

/** Checks an untrusted fault patch (from `/__sim/faults`); returns the patch or an error message. */
export function parseFaultsPatch(input: unknown): Partial<Faults> | string {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return "faults must be an object";
  const raw = input as Record<string, unknown>;
  const known = new Set<string>(Object.keys(DEFAULT_FAULTS));
  for (const key of Object.keys(raw)) if (!known.has(key)) return `unknown fault "${key}"`;
  const patch: Partial<Faults> = {};
  for (const key of RATE_KEYS) {
    const v = raw[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !(v >= 0 && v <= 1)) return `${key} must be a number in [0, 1]`;
    patch[key] = v;
  }
  for (const key of NON_NEGATIVE_KEYS) {
    const v = raw[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !(v >= 0) || !Number.isFinite(v)) return `${key} must be a number ≥ 0`;
    patch[key] = v;
  }
  if (raw.timeoutDelivers !== undefined) {
    if (typeof raw.timeoutDelivers !== "boolean") return "timeoutDelivers must be a boolean";
    patch.timeoutDelivers = raw.timeoutDelivers;
  }
  if (raw.faultApis !== undefined) {
    const v = raw.faultApis;
    if (!Array.isArray(v) || !v.every((api) => (SEND_APIS as readonly unknown[]).includes(api)))
      return `faultApis must be a list of ${SEND_APIS.join(", ")}`;
    patch.faultApis = v as SendApi[];
  }
  if (raw.revokeTokenAtSend !== undefined) {
    const v = raw.revokeTokenAtSend;
    if (v !== null && (typeof v !== "number" || !Number.isInteger(v) || v < 1)) {
      return "revokeTokenAtSend must be a positive integer or null";
    }
    patch.revokeTokenAtSend = v;
  }
  if (raw.refuseTokenCalls !== undefined) {
    const v = raw.refuseTokenCalls;
    if (v !== null && !(TOKEN_REFUSALS as readonly unknown[]).includes(v))
      return `refuseTokenCalls must be ${TOKEN_REFUSALS.join(", ")} or null`;
    patch.refuseTokenCalls = v as TokenRefusal | null;
  }
  if (raw.seed !== undefined) {
    if (typeof raw.seed !== "number" || !Number.isInteger(raw.seed)) return "seed must be an integer";
    patch.seed = raw.seed;
  }
  return patch;
}
