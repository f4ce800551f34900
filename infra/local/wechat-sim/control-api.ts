import { type Faults, parseFaultsPatch } from "./faults.ts";
import { configureFollowerList, type FollowerList } from "./follower-list.ts";
import type { Delivered } from "./ledger.ts";
import { configureTemplateQuota, type DailyQuota } from "./template-quota.ts";
import type { WindowKind } from "./user-store.ts";

/**
 * The controls the `/__sim/` routes drive. The simulator implements them; declared here so that this
 * module needs nothing of the simulator's and the simulator can route to it.
 */
export interface SimulatorControls {
  addUsers(openids: Iterable<string>, opts?: { followed?: boolean }): void;
  setFollowed(openid: string, followed: boolean): void;
  openWindow(openid: string, kind: WindowKind): void;
  grantSubscription(openid: string, templateId: string, count?: number): void;
  addTemplates(ids: { official?: Iterable<string>; subscribe?: Iterable<string> }): void;
  templateIds(): { readonly official: readonly string[]; readonly subscribe: readonly string[] };
  setFaults(patch: Partial<Faults>): void;
  clearFaults(): void;
  faultSettings(): Readonly<Faults>;
  ledger(openid: string): readonly Delivered[];
  deliveries(from?: number, to?: number): Iterable<Delivered>;
  stats(): { readonly users: number; readonly delivered: number };
  reset(opts?: { keepTokens?: boolean }): void;
  /** The follower list user/get pages (its page size, faults and quota). */
  readonly followers: FollowerList;
  /** The template message's daily quota (quota/get reports it; 45009 past it). */
  readonly templateQuota: DailyQuota;
}

export interface ControlAnswer {
  status: number;
  body: unknown;
}

type Json = Record<string, unknown>;

const DEFAULT_PAGE = 1000;

const bad = (error: string): ControlAnswer => ({ status: 400, body: { error } });
const ok = (extra: Json = {}): ControlAnswer => ({ status: 200, body: { ok: true, ...extra } });

function parseObject(raw: string): Json | string {
  if (raw.trim() === "") return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return parsed as Json;
  } catch {
    return "body is not JSON";
  }
  return "body must be a JSON object";
}

function nonEmptyString(x: unknown): x is string {
  return typeof x === "string" && x !== "";
}

function nonNegativeInt(x: string | null, fallback: number): number | null {
  if (x === null) return fallback;
  const n = Number(x);
  return Number.isInteger(n) && n >= 0 ? n : null;
}

/** Either an explicit `openids` list or `count` ids generated as `<prefix><start + i>`, cheap for 1M. */
function* openidsOf(body: Json): Generator<string> {
  if (Array.isArray(body.openids)) {
    for (const id of body.openids) if (nonEmptyString(id)) yield id;
    return;
  }
  const count = typeof body.count === "number" ? body.count : 0;
  const start = typeof body.start === "number" ? body.start : 0;
  const prefix = typeof body.prefix === "string" ? body.prefix : "";
  for (let i = 0; i < count; i += 1) yield `${prefix}${start + i}`;
}

function postUsers(sim: SimulatorControls, body: Json): ControlAnswer {
  const listed = Array.isArray(body.openids);
  const generated = Number.isInteger(body.count) && (body.count as number) >= 0;
  if (listed === generated) return bad('give either "openids": [...] or "count" (+ "prefix", "start")');
  if (listed && !(body.openids as unknown[]).every(nonEmptyString))
    return bad("openids must be non-empty strings");
  if (body.followed !== undefined && typeof body.followed !== "boolean")
    return bad("followed must be a boolean");
  sim.addUsers(openidsOf(body), body.followed === undefined ? {} : { followed: body.followed });
  return ok({ users: sim.stats().users });
}

function postFollow(sim: SimulatorControls, body: Json): ControlAnswer {
  if (!nonEmptyString(body.openid) || typeof body.followed !== "boolean") {
    return bad('need {"openid": string, "followed": boolean}');
  }
  sim.setFollowed(body.openid, body.followed);
  return ok();
}

function postWindow(sim: SimulatorControls, body: Json): ControlAnswer {
  if (!nonEmptyString(body.openid) || (body.kind !== "message" && body.kind !== "event")) {
    return bad('need {"openid": string, "kind": "message" | "event"}');
  }
  sim.openWindow(body.openid, body.kind);
  return ok();
}

function postSubscription(sim: SimulatorControls, body: Json): ControlAnswer {
  const count = body.count ?? 1;
  if (!nonEmptyString(body.openid) || !nonEmptyString(body.templateId)) {
    return bad('need {"openid": string, "templateId": string, "count"?: positive integer}');
  }
  if (typeof count !== "number" || !Number.isInteger(count) || count < 1)
    return bad("count must be a positive integer");
  sim.grantSubscription(body.openid, body.templateId, count);
  return ok();
}

function postTemplates(sim: SimulatorControls, body: Json): ControlAnswer {
  const list = (x: unknown) => x === undefined || (Array.isArray(x) && x.every(nonEmptyString));
  if (!list(body.templateIds) || !list(body.subscribeTemplateIds))
    return bad('need {"templateIds"?: string[], "subscribeTemplateIds"?: string[]}');
  sim.addTemplates({
    official: (body.templateIds as string[] | undefined) ?? [],
    subscribe: (body.subscribeTemplateIds as string[] | undefined) ?? [],
  });
  return ok();
}

/** The template ids the send APIs accept, as `POST /__sim/templates` takes them. */
function templatesBody(sim: SimulatorControls): Json {
  const { official, subscribe } = sim.templateIds();
  return { templateIds: official, subscribeTemplateIds: subscribe };
}

function getLedger(sim: SimulatorControls, query: URLSearchParams): ControlAnswer {
  const openid = query.get("openid");
  if (openid !== null) return { status: 200, body: { openid, deliveries: sim.ledger(openid) } };
  const offset = nonNegativeInt(query.get("offset"), 0);
  const limit = nonNegativeInt(query.get("limit"), DEFAULT_PAGE);
  if (offset === null || limit === null) return bad("offset and limit must be non-negative integers");
  const deliveries = Array.from(sim.deliveries(offset, offset + limit));
  return { status: 200, body: { total: sim.stats().delivered, offset, deliveries } };
}

type Handler = (sim: SimulatorControls, body: Json, query: URLSearchParams) => ControlAnswer;

const ROUTES: Readonly<Record<string, Partial<Record<string, Handler>>>> = {
  "/__sim/users": { POST: postUsers },
  "/__sim/follow": { POST: postFollow },
  "/__sim/window": { POST: postWindow },
  "/__sim/subscriptions": { POST: postSubscription },
  "/__sim/templates": {
    GET: (sim) => ({ status: 200, body: templatesBody(sim) }),
    POST: (sim, body) => {
      const answer = postTemplates(sim, body);
      return answer.status === 200 ? ok(templatesBody(sim)) : answer;
    },
  },
  "/__sim/follower-list": {
    POST: (sim, body) => {
      const answer = configureFollowerList(sim.followers, body);
      return typeof answer === "string" ? bad(answer) : { status: 200, body: { ok: true, ...answer } };
    },
  },
  "/__sim/faults": {
    GET: (sim) => ({ status: 200, body: sim.faultSettings() }),
    POST: (sim, body) => {
      const patch = parseFaultsPatch(body);
      if (typeof patch === "string") return bad(patch);
      sim.setFaults(patch);
      return ok({ faults: sim.faultSettings() });
    },
    DELETE: (sim) => {
      sim.clearFaults();
      return ok({ faults: sim.faultSettings() });
    },
  },
  "/__sim/quota": {
    GET: (sim) => ({ status: 200, body: { template: sim.templateQuota.state() } }),
    POST: (sim, body) => {
      const answer = configureTemplateQuota(sim.templateQuota, body);
      return typeof answer === "string" ? bad(answer) : ok({ template: answer });
    },
  },
  "/__sim/ledger": { GET: (sim, _body, query) => getLedger(sim, query) },
  "/__sim/stats": { GET: (sim) => ({ status: 200, body: sim.stats() }) },
  "/__sim/reset": {
    POST: (sim, body) => {
      if (body.keepTokens !== undefined && typeof body.keepTokens !== "boolean")
        return bad("keepTokens must be a boolean");
      sim.reset({ keepTokens: body.keepTokens === true });
      return ok();
    },
  },
};

/** The `/__sim/` control surface: the simulator's in-process controls as JSON over HTTP. */
export function handleControl(sim: SimulatorControls, method: string, url: URL, raw: string): ControlAnswer {
  const methods = ROUTES[url.pathname];
  if (methods === undefined) return { status: 404, body: { error: `no control endpoint ${url.pathname}` } };
  const handler = methods[method];
  if (handler === undefined)
    return { status: 405, body: { error: `use ${Object.keys(methods).join(" or ")}` } };
  const body = parseObject(raw);
  if (typeof body === "string") return bad(body);
  return handler(sim, body, url.searchParams);
}
