import { ensureCapacity } from "./growable.ts";
import type { UserStore } from "./user-store.ts";

export type Channel = "custom" | "template" | "subscribe";

/** One message a user actually received. */
export interface Delivered extends DeliveryFields {
  openid: string;
}

/** A delivery to append, its user by index in the user store. */
export interface NewDelivery extends DeliveryFields {
  userIdx: number;
}

interface DeliveryFields {
  channel: Channel;
  /** WeChat's msgid for template/subscribe sends; custom messages get none. */
  msgid: number | null;
  templateId?: string;
  clientMsgId?: string;
  /**
   * The request as WeChat would display it (OA `thing` values truncated); `undefined` past the
   * ledger's body limit, so a million-message run keeps only metadata.
   */
  body: unknown;
  /** Simulator clock, epoch ms. */
  at: number;
}

const CHANNELS: readonly Channel[] = ["custom", "template", "subscribe"];
const INITIAL = 1024;

/**
 * Append-only record of deliveries in columns (≈ 35 bytes per row plus the client_msg_id string),
 * with each user's rows chained through `previous` so `forUser` never scans the whole ledger.
 */
export class Ledger {
  private count = 0;
  private users = new Int32Array(INITIAL);
  private channels = new Uint8Array(INITIAL);
  /** NaN stands for "no msgid". */
  private msgids = new Float64Array(INITIAL);
  private times = new Float64Array(INITIAL);
  /** 1-based index into `templateNames`; 0 = none. */
  private templates = new Uint16Array(INITIAL);
  private clientMsgIds: (string | undefined)[] = [];
  /** Row of the same user's previous delivery; -1 ends the chain. */
  private previous = new Int32Array(INITIAL);
  /** Per user index: 1 + the row of their latest delivery; 0 = none yet. */
  private lastRowOfUser = new Int32Array(INITIAL);
  private templateNames: string[] = [];
  private readonly templateIndex = new Map<string, number>();
  private bodies: unknown[] = [];

  constructor(
    private readonly userStore: UserStore,
    private readonly bodyLimit: number,
  ) {}

  get size(): number {
    return this.count;
  }

  append(d: NewDelivery): number {
    const row = this.count;
    this.users = ensureCapacity(this.users, row);
    this.channels = ensureCapacity(this.channels, row);
    this.msgids = ensureCapacity(this.msgids, row);
    this.times = ensureCapacity(this.times, row);
    this.templates = ensureCapacity(this.templates, row);
    this.previous = ensureCapacity(this.previous, row);
    this.users[row] = d.userIdx;
    this.channels[row] = CHANNELS.indexOf(d.channel);
    this.msgids[row] = d.msgid ?? Number.NaN;
    this.times[row] = d.at;
    this.templates[row] = d.templateId === undefined ? 0 : this.internTemplate(d.templateId);
    this.clientMsgIds.push(d.clientMsgId);
    this.lastRowOfUser = ensureCapacity(this.lastRowOfUser, d.userIdx);
    this.previous[row] = (this.lastRowOfUser[d.userIdx] ?? 0) - 1;
    this.lastRowOfUser[d.userIdx] = row + 1;
    if (row < this.bodyLimit) this.bodies.push(d.body);
    this.count += 1;
    return row;
  }

  private internTemplate(templateId: string): number {
    let id = this.templateIndex.get(templateId);
    if (id === undefined) {
      this.templateNames.push(templateId);
      id = this.templateNames.length;
      this.templateIndex.set(templateId, id);
    }
    return id;
  }

  msgidAt(row: number): number | null {
    const msgid = this.msgids[row] ?? Number.NaN;
    return Number.isNaN(msgid) ? null : msgid;
  }

  timeAt(row: number): number {
    return this.times[row] ?? 0;
  }

  row(row: number): Delivered {
    const delivered: Delivered = {
      openid: this.userStore.openidOf(this.users[row] ?? -1),
      channel: CHANNELS[this.channels[row] ?? 0] ?? "custom",
      msgid: this.msgidAt(row),
      body: this.bodies[row],
      at: this.timeAt(row),
    };
    const template = this.templateNames[(this.templates[row] ?? 0) - 1];
    if (template !== undefined) delivered.templateId = template;
    const clientMsgId = this.clientMsgIds[row];
    if (clientMsgId !== undefined) delivered.clientMsgId = clientMsgId;
    return delivered;
  }

  forUser(userIdx: number): Delivered[] {
    const rows: Delivered[] = [];
    for (let r = (this.lastRowOfUser[userIdx] ?? 0) - 1; r >= 0; r = this.previous[r] ?? -1)
      rows.push(this.row(r));
    return rows.reverse();
  }

  *iterate(from = 0, to = this.count): Generator<Delivered> {
    for (let r = Math.max(0, from); r < Math.min(to, this.count); r += 1) yield this.row(r);
  }

  clear(): void {
    this.count = 0;
    this.users = new Int32Array(INITIAL);
    this.channels = new Uint8Array(INITIAL);
    this.msgids = new Float64Array(INITIAL);
    this.times = new Float64Array(INITIAL);
    this.templates = new Uint16Array(INITIAL);
    this.clientMsgIds = [];
    this.previous = new Int32Array(INITIAL);
    this.lastRowOfUser = new Int32Array(INITIAL);
    this.templateNames = [];
    this.templateIndex.clear();
    this.bodies = [];
  }
}
