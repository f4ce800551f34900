import type { PostView, TaskView } from "../../contracts/api.ts";
import { formatTime } from "./format.ts";
import type { Catalog } from "./i18n.ts";

/** What a post's or a task's hold needs of its view: its status and, deferred, when it goes on. */
type Held = Pick<PostView | TaskView, "status" | "resumesAt">;

/** The status in words; a deferred one says when it goes on, in the display zone. */
export function statusText(view: Held, t: Catalog, zone: string): string {
  const name = t.status[view.status];
  return view.status === "deferred" && view.resumesAt
    ? `${name} · ${t.resumesAt(formatTime(view.resumesAt, zone))}`
    : name;
}

/** Why nothing is being sent and what happens next; empty unless deferred or paused. */
export function holdNote(view: Held, t: Catalog, zone: string): string {
  if (view.status === "deferred") return t.deferredNote(formatTime(view.resumesAt, zone));
  if (view.status === "paused") return t.pausedNote;
  return "";
}

/** 继续发送 is offered for a quota pause only: the API answers 409 to anything else. */
export const canResume = (view: Held): boolean => view.status === "paused";
