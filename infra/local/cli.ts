/**
 * The command line of the local commands (`npm start`, `npm run dev`, `npm run bench`,
 * `npm run bench:resilience`, `npm run pay`): one description per command gives its `--help` text and
 * its strict parsing (node:util parseArgs), so a typo or a bad value is one line naming the flag, exit
 * code 2, never a stack trace.
 */
import { createServer } from "node:net";
import { parseArgs } from "node:util";

/** A flag: what it means, its default as `--help` shows it, and how its text becomes a value. */
export interface FlagSpec<T = unknown> {
  readonly type: "string" | "boolean";
  readonly description: string;
  /** The value's name in the help text (`--latency <ms>`). */
  readonly placeholder?: string;
  /** Used when the flag is absent; parsed like a given value. */
  readonly default?: string;
  /** The default in words, where it is not one value (it depends on other flags). */
  readonly defaultText?: string;
  /** Turns the text into the value; throws an Error saying what the flag must be ("must be …"). */
  readonly parse?: (text: string) => T;
}

export interface CommandSpec<F extends Readonly<Record<string, FlagSpec>>> {
  /** How the user runs it: `npm start`. */
  readonly command: string;
  readonly summary: string;
  readonly flags: F;
  /** Positional arguments, in order; none when absent. */
  readonly positionals?: readonly { readonly name: string; readonly description: string }[];
  /** Environment variables the command reads, for the help text. */
  readonly environment?: readonly (readonly [name: string, description: string])[];
  readonly examples?: readonly string[];
}

type ValueOf<S> = S extends { type: "boolean" }
  ? boolean
  : S extends { parse: (text: string) => infer T }
    ? S extends { default: string }
      ? T
      : T | undefined
    : S extends { default: string }
      ? string
      : string | undefined;

export type FlagValues<F> = { -readonly [K in keyof F]: ValueOf<F[K]> };

export type CommandLine<F> =
  | { readonly kind: "run"; readonly values: FlagValues<F>; readonly positionals: readonly string[] }
  | { readonly kind: "help"; readonly text: string }
  | { readonly kind: "error"; readonly message: string };

/** A number text: what parseArgs hands over for `--latency -5`, which it would otherwise take for flags. */
const NUMBER_LIKE = /^-(\d|\.\d)/;

/**
 * Parses `argv` against the spec. `--help` / `-h` wins over everything else; an unknown flag, a
 * missing or refused value, or a stray argument is an error message of one line.
 */
export function parseCommandLine<const F extends Readonly<Record<string, FlagSpec>>>(
  spec: CommandSpec<F>,
  argv: readonly string[],
): CommandLine<F> {
  if (argv.some((arg) => arg === "--help" || arg === "-h")) return { kind: "help", text: helpText(spec) };
  const fail = (message: string): CommandLine<F> => ({
    kind: "error",
    message: `${spec.command}: ${message} (${helpCommand(spec)} lists the flags)`,
  });
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: joinNegativeValues(spec, argv),
      options: Object.fromEntries(
        Object.entries(spec.flags).map(([name, flag]) => [name, { type: flag.type }]),
      ),
      strict: true,
      allowPositionals: (spec.positionals?.length ?? 0) > 0,
    });
  } catch (error) {
    return fail(parseArgsMessage(error));
  }
  const expected = spec.positionals ?? [];
  if (parsed.positionals.length > expected.length)
    return fail(`unexpected argument ${JSON.stringify(parsed.positionals[expected.length])}`);
  const missing = expected[parsed.positionals.length];
  if (missing) return fail(`missing <${missing.name}>: ${missing.description}`);

  const values: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(spec.flags)) {
    const given = parsed.values[name];
    if (flag.type === "boolean") {
      values[name] = given === true;
      continue;
    }
    const text = typeof given === "string" ? given : flag.default;
    if (text === undefined || !flag.parse) {
      values[name] = text;
      continue;
    }
    try {
      values[name] = flag.parse(text);
    } catch (error) {
      return fail(`--${name} ${(error as Error).message}, got ${JSON.stringify(text)}`);
    }
  }
  return { kind: "run", values: values as FlagValues<F>, positionals: parsed.positionals };
}

/**
 * The command line of this process: prints the help and exits 0 for `--help`, prints the one-line
 * error and exits 2 for a bad one, and otherwise returns the values.
 */
export function readCommandLine<const F extends Readonly<Record<string, FlagSpec>>>(
  spec: CommandSpec<F>,
  argv: readonly string[] = process.argv.slice(2),
): { values: FlagValues<F>; positionals: readonly string[] } {
  const line = parseCommandLine(spec, argv);
  if (line.kind === "help") {
    process.stdout.write(line.text);
    process.exit(0);
  }
  if (line.kind === "error") exitUsage(line.message);
  return line;
}

/** A usage problem found after parsing (an unusable environment variable, a busy port): one line, exit 2. */
export function exitUsage(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

/** `--latency -5` as `--latency=-5`: a value for the flag, refused or accepted by its own rule. */
function joinNegativeValues(spec: CommandSpec<Readonly<Record<string, FlagSpec>>>, argv: readonly string[]) {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    const flag = arg.startsWith("--") ? spec.flags[arg.slice(2)] : undefined;
    if (flag?.type === "string" && next !== undefined && NUMBER_LIKE.test(next)) {
      out.push(`${arg}=${next}`);
      i += 1;
    } else out.push(arg);
  }
  return out;
}

/** parseArgs' error in the words of this command line: which flag, and what is wrong with it. */
function parseArgsMessage(error: unknown): string {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  const option = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown flag ${option ?? message}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return /argument missing|ambiguous/.test(message)
        ? `${option} needs a value`
        : `${option} takes no value`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument ${JSON.stringify(/'([^']*)'/.exec(message)?.[1] ?? message)}`;
    default:
      return message.split("\n", 1)[0] ?? message;
  }
}

function helpCommand(spec: { command: string }): string {
  return `${spec.command}${spec.command.startsWith("npm ") ? " --" : ""} --help`;
}

/** Usage, every flag with its default, the positionals and environment variables, examples. */
export function helpText(spec: CommandSpec<Readonly<Record<string, FlagSpec>>>): string {
  const dashes = spec.command.startsWith("npm ") ? " --" : "";
  const positionals = (spec.positionals ?? []).map((p) => ` <${p.name}>`).join("");
  const left = (name: string, flag: FlagSpec) =>
    flag.type === "boolean" ? `--${name}` : `--${name} <${flag.placeholder ?? "value"}>`;
  const args = (spec.positionals ?? []).map((p): [string, string] => [`<${p.name}>`, p.description]);
  const flags: [string, string][] = [
    ...Object.entries(spec.flags).map(([name, flag]): [string, string] => [
      left(name, flag),
      `${flag.description} (default: ${flag.defaultText ?? flag.default ?? (flag.type === "boolean" ? "off" : "none")})`,
    ]),
    ["--help, -h", "show this help"],
  ];
  const width = Math.max(...[...args, ...flags, ...(spec.environment ?? [])].map(([l]) => l.length));
  const table = (entries: readonly (readonly [string, string])[]) =>
    entries.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`);
  return [
    spec.summary,
    "",
    `Usage: ${spec.command}${dashes} [flags]${positionals}`,
    "",
    ...(args.length ? ["Arguments:", ...table(args), ""] : []),
    "Flags:",
    ...table(flags),
    ...(spec.environment?.length ? ["", "Environment:", ...table(spec.environment)] : []),
    ...(spec.examples?.length ? ["", "Examples:", ...spec.examples.map((e) => `  ${e}`)] : []),
    "",
  ].join("\n");
}

// ——— Value rules, for FlagSpec.parse

/** A whole number in [min, max]. */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER, unit = "") {
  return (text: string): number => {
    const n = Number(text);
    if (text.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
      const range =
        max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max.toLocaleString("en-US")}`;
      throw new Error(`must be a whole number${unit ? ` of ${unit}` : ""} ${range}`);
    }
    return n;
  };
}

/** A finite number ≥ min. */
export function numberAtLeast(min: number, unit = "") {
  return (text: string): number => {
    const n = Number(text);
    if (text.trim() === "" || !Number.isFinite(n) || n < min)
      throw new Error(`must be a number${unit ? ` of ${unit}` : ""} ≥ ${min}`);
    return n;
  };
}

/** Comma-separated whole numbers ≥ min. */
export function wholeNumbers(min: number) {
  return (text: string): number[] => {
    const list = text.split(",").map((part) => (part.trim() === "" ? Number.NaN : Number(part)));
    if (list.some((n) => !Number.isInteger(n) || n < min))
      throw new Error(`must be comma-separated whole numbers ≥ ${min}`);
    return list;
  };
}

/** One of the given words. */
export function oneOf<const W extends string>(words: readonly W[]) {
  return (text: string): W => {
    const word = words.find((w) => w === text);
    if (!word) throw new Error(`must be one of ${words.join(", ")}`);
    return word;
  };
}

// ——— Start-up problems a user can fix

/** The port a listen error names, when it is one the user can move with PORT (in use, or privileged). */
export function portProblem(error: unknown): string | undefined {
  const e = error as { code?: string; port?: number; syscall?: string };
  if (e?.syscall !== "listen") return undefined;
  if (e.code === "EADDRINUSE") return `port ${e.port} is in use: set PORT=… or stop the other process`;
  if (e.code === "EACCES") return `port ${e.port} needs privileges: set PORT=… (1024 or above)`;
  return undefined;
}

/**
 * Fails at once, before the emulators start, when `port` cannot be listened on: the error a later
 * listen would give (EADDRINUSE), without the wait. Port 0 (any free port) always passes.
 */
export function checkPortFree(port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
  });
}
