import { ApiError } from "./api.ts";
import type { Catalog } from "./i18n.ts";

/** What every view is built with: the language's texts, the zone times are shown in, the notice line. */
export interface Ctx {
  readonly t: Catalog;
  readonly zone: string;
  notice(text: string, isError?: boolean): void;
}

/** A 401 was already answered by signing out; nothing more to say about it. */
export const isSignedOut = (error: unknown): boolean => error instanceof ApiError && error.status === 401;

export function errorText(error: unknown, t: Catalog): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  if (error.status === 0) return t.noAnswer;
  return error.message || t.httpError(error.status);
}
