/**
 * The built-in content check: a list of blocked words and /patterns/, matched against a paid post's
 * content after folding away what changes how text looks but not what it says. The list is the
 * operator's (POST_BLOCKED_WORDS); a moderation service can take its place behind the same port.
 */
import type { ContentCheck, ContentVerdict } from "./ports.ts";

/** The reason of a post held because every paid post is reviewed (POST_REVIEW=manual). */
export const MANUAL_REVIEW = "manual review";

/** Raised for a list entry that cannot be used; says which one and why. */
export class BlocklistError extends Error {
  override readonly name = "BlocklistError";
}

/** A post's content in the two forms entries are matched against. */
interface FoldedText {
  readonly folded: string;
  readonly compact: string;
}

export interface BlockedTerm {
  /** As the operator wrote it: what the hold's reason names. */
  readonly entry: string;
  readonly matches: (text: FoldedText) => boolean;
}

/**
 * Width and case folded: NFKC turns full-width letters, digits and punctuation (ＱＱ１２３！) and the
 * ideographic space into their half-width forms, half-width katakana into full-width, circled and
 * other compatibility forms (①, ㈱) into plain ones; then lower case. Traditional and simplified
 * characters are not folded into each other (賭博 is not 赌博): list both.
 */
function foldText(text: string): string {
  return text.normalize("NFKC").toLowerCase();
}

/**
 * Folded, without what is put between characters to slip past a list: white space, invisible format
 * characters (zero-width space and joiners, soft hyphen), punctuation and symbols (emoji too), so
 * 「Ｑ Ｑ·群」 reads as 「qq群」.
 */
export function compactText(text: string): string {
  return foldText(text).replace(/[\s\p{Cf}\p{P}\p{S}]+/gu, "");
}

/** Where one entry ends and the next begins: commas (ASCII or full-width), 、, semicolons, new lines. */
const SEPARATOR = /[,，、;；\r\n]/;
/** Flags a pattern may carry: `g` and `y` would make matching depend on the previous match. */
const PATTERN_FLAGS = /^[ims]*$/;

/**
 * Reads a blocklist: entries separated by commas (，、; too) or new lines, lines starting with `#`
 * are comments. An entry is a word, matched anywhere in the compacted content, or `/pattern/flags`
 * (flags from `i`, `m`, `s`), a regular expression tested against the folded content and the
 * compacted one, case-insensitively. Throws BlocklistError naming the entry that cannot be used.
 */
export function parseBlocklist(text: string): BlockedTerm[] {
  const source = text
    .split(/\r?\n/)
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n");
  const terms = new Map<string, BlockedTerm>();
  let at = 0;
  while (at < source.length) {
    const char = source[at] as string;
    if (SEPARATOR.test(char) || /\s/.test(char)) {
      at += 1;
      continue;
    }
    const { term, end } = char === "/" ? readPattern(source, at) : readWord(source, at);
    terms.set(term.entry, term);
    at = end;
  }
  return [...terms.values()];
}

function readWord(source: string, start: number): { term: BlockedTerm; end: number } {
  let end = start;
  while (end < source.length && !SEPARATOR.test(source[end] as string)) end += 1;
  const entry = source.slice(start, end).trim();
  const word = compactText(entry);
  if (word === "")
    throw new BlocklistError(
      `"${entry}" has nothing left to match once spaces and punctuation are taken out`,
    );
  return { term: { entry, matches: (text) => text.compact.includes(word) }, end };
}

function readPattern(source: string, start: number): { term: BlockedTerm; end: number } {
  let end = start + 1;
  let inClass = false;
  for (; end < source.length; end += 1) {
    const char = source[end];
    if (char === "\\") end += 1;
    else if (char === "[") inClass = true;
    else if (char === "]") inClass = false;
    else if ((char === "\n" || char === "\r") && !inClass) break;
    else if (char === "/" && !inClass) break;
  }
  if (source[end] !== "/")
    throw new BlocklistError(`${source.slice(start, end).trim()} has no closing / (write /pattern/)`);
  const body = source.slice(start + 1, end);
  const flags = /^[a-z]*/.exec(source.slice(end + 1))?.[0] ?? "";
  const after = end + 1 + flags.length;
  const entry = source.slice(start, after);
  if (
    after < source.length &&
    !SEPARATOR.test(source[after] as string) &&
    !/\s/.test(source[after] as string)
  )
    throw new BlocklistError(`${entry}: put a comma or a new line after a /pattern/`);
  if (!PATTERN_FLAGS.test(flags)) throw new BlocklistError(`${entry}: flags may only be i, m and s`);
  if (body === "") throw new BlocklistError(`${entry}: the pattern is empty`);
  let pattern: RegExp;
  try {
    pattern = new RegExp(body.normalize("NFKC"), `${[...new Set(`${flags}i`)].join("")}u`);
  } catch (error) {
    throw new BlocklistError(`${entry} is not a regular expression: ${(error as Error).message}`);
  }
  return {
    term: { entry, matches: (text) => pattern.test(text.folded) || pattern.test(text.compact) },
    end: after,
  };
}

/** The first entry the content matches, or undefined. */
export function firstBlocked(terms: readonly BlockedTerm[], content: string): BlockedTerm | undefined {
  const text = { folded: foldText(content), compact: compactText(content) };
  return terms.find((term) => term.matches(text));
}

/** Holds a post whose content matches an entry of the list, naming the entry. */
export function blocklistCheck(terms: readonly BlockedTerm[]): ContentCheck {
  return {
    async check(content): Promise<ContentVerdict> {
      const term = firstBlocked(terms, content);
      if (!term) return { held: false };
      return {
        held: true,
        reason: term.entry.startsWith("/") ? `blocked pattern ${term.entry}` : `blocked word "${term.entry}"`,
      };
    },
  };
}

/** Holds every paid post for an operator. */
export const manualCheck: ContentCheck = {
  check: async () => ({ held: true, reason: MANUAL_REVIEW }),
};

/** Lets every paid post go out at once. */
export const noCheck: ContentCheck = { check: async () => ({ held: false }) };
