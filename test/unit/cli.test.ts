import { createServer } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  checkPortFree,
  helpText,
  numberAtLeast,
  oneOf,
  parseCommandLine,
  portProblem,
  readCommandLine,
  wholeNumber,
  wholeNumbers,
} from "../../infra/local/cli.ts";

const spec = {
  command: "npm start",
  summary: "The demo.",
  flags: {
    subscribers: {
      type: "string",
      placeholder: "n",
      default: "10000",
      description: "audience size",
      parse: wholeNumber(1, 1_000_000),
    },
    latency: {
      type: "string",
      placeholder: "ms",
      default: "20",
      description: "WeChat latency",
      parse: numberAtLeast(0, "milliseconds"),
    },
    only: { type: "string", description: "one scenario", defaultText: "all", parse: oneOf(["a", "b"]) },
    audiences: { type: "string", description: "sizes", parse: wholeNumbers(1) },
    verbose: { type: "boolean", description: "print logs" },
  },
  environment: [["PORT", "the HTTP port"]],
} as const;

const run = (...argv: string[]) => parseCommandLine(spec, argv);
/** A command that takes one positional argument. */
const pay = {
  command: "npm run pay",
  summary: "Pays.",
  flags: {},
  positionals: [{ name: "id", description: "the order" }],
};
const errorOf = (...argv: string[]) => {
  const line = run(...argv);
  if (line.kind !== "error") throw new Error(`expected an error, got ${line.kind}`);
  return line.message;
};

describe("--help", () => {
  it("lists the usage, every flag with its default, and the environment", () => {
    const line = run("--latency", "5", "--help");
    expect(line.kind).toBe("help");
    const text = line.kind === "help" ? line.text : "";
    expect(text).toContain("Usage: npm start -- [flags]");
    expect(text).toMatch(/--subscribers <n> +audience size \(default: 10000\)/);
    expect(text).toMatch(/--latency <ms> +WeChat latency \(default: 20\)/);
    expect(text).toMatch(/--only <value> +one scenario \(default: all\)/);
    expect(text).toMatch(/--audiences <value> +sizes \(default: none\)/);
    expect(text).toMatch(/--verbose +print logs \(default: off\)/);
    expect(text).toMatch(/--help, -h +show this help/);
    expect(text).toMatch(/Environment:\n {2}PORT +the HTTP port/);
    expect(parseCommandLine(spec, ["-h"]).kind).toBe("help");
  });

  it("names the positional arguments", () => {
    expect(helpText(pay)).toContain("Usage: npm run pay -- [flags] <id>");
    expect(helpText(pay)).toMatch(/Arguments:\n {2}<id> +the order/);
  });
});

describe("a bad command line", () => {
  it("is one line naming the unknown flag and where the flags are listed", () => {
    const message = errorOf("--bogus");
    expect(message).toBe("npm start: unknown flag --bogus (npm start -- --help lists the flags)");
    expect(errorOf("-x")).toContain("unknown flag -x");
  });

  it("takes --latency -5 as a value and refuses it by the flag's rule, as --latency=-5", () => {
    const spaced = errorOf("--latency", "-5");
    expect(spaced).toBe(
      'npm start: --latency must be a number of milliseconds ≥ 0, got "-5" (npm start -- --help lists the flags)',
    );
    expect(errorOf("--latency=-5")).toBe(spaced);
    expect(errorOf("--audiences", "-1,2")).toContain("--audiences must be comma-separated whole numbers ≥ 1");
    // A negative number is a value only for a flag that takes one: after a boolean it is a stray flag.
    expect(errorOf("--verbose", "-5")).toContain("unknown flag -5");
  });

  it("says which value is missing, refused or not wanted", () => {
    expect(errorOf("--latency")).toContain("--latency needs a value");
    expect(errorOf("--latency", "--verbose")).toContain("--latency needs a value");
    expect(errorOf("--subscribers", "0")).toContain(
      '--subscribers must be a whole number from 1 to 1,000,000, got "0"',
    );
    expect(errorOf("--subscribers", "2.5")).toContain("--subscribers must be a whole number");
    expect(errorOf("--only", "c")).toContain('--only must be one of a, b, got "c"');
    expect(errorOf("--verbose=yes")).toContain("--verbose takes no value");
    expect(errorOf("stray")).toContain('unexpected argument "stray"');
  });

  it("asks for a missing positional and refuses an extra one", () => {
    expect(parseCommandLine(pay, [])).toEqual({
      kind: "error",
      message: "npm run pay: missing <id>: the order (npm run pay -- --help lists the flags)",
    });
    expect(parseCommandLine(pay, ["A1", "A2"])).toMatchObject({
      message: expect.stringContaining('unexpected argument "A2"'),
    });
    expect(parseCommandLine(pay, ["A1"])).toMatchObject({ kind: "run", positionals: ["A1"] });
  });
});

describe("a good command line", () => {
  it("gives typed values, defaults parsed like given values", () => {
    expect(run()).toEqual({
      kind: "run",
      values: { subscribers: 10_000, latency: 20, only: undefined, audiences: undefined, verbose: false },
      positionals: [],
    });
    expect(run("--latency", "0.5", "--subscribers=3", "--verbose", "--audiences", "1,10")).toMatchObject({
      values: { subscribers: 3, latency: 0.5, verbose: true, audiences: [1, 10] },
    });
  });
});

describe("readCommandLine", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  function exits(argv: string[]): { code: number | undefined; stdout: string; stderr: string } {
    let stdout = "";
    let stderr = "";
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      stdout += String(chunk);
      return true;
    });
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
    vi.spyOn(process, "exit").mockImplementation((code) => {
      throw Object.assign(new Error("exit"), { code });
    });
    try {
      readCommandLine(spec, argv);
      return { code: undefined, stdout, stderr };
    } catch (error) {
      return { code: (error as { code?: number }).code, stdout, stderr };
    }
  }

  it("exits 2 with the one line on stderr for a bad flag, 0 with the help on stdout for --help", () => {
    const bad = exits(["--latency", "-5"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(bad.stderr).toContain("--latency must be");
    expect(bad.stdout).toBe("");
    const help = exits(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--subscribers <n>");
    expect(exits(["--latency", "3"])).toEqual({ code: undefined, stdout: "", stderr: "" });
  });
});

describe("a busy port", () => {
  it("is found before anything starts, and named with the PORT setting that moves it", async () => {
    const holder = createServer();
    const port = await new Promise<number>((resolve) =>
      holder.listen(0, "127.0.0.1", () => resolve((holder.address() as { port: number }).port)),
    );
    try {
      const error = await checkPortFree(port).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(portProblem(error)).toBe(`port ${port} is in use: set PORT=… or stop the other process`);
      await expect(checkPortFree(0)).resolves.toBeUndefined();
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
    await expect(checkPortFree(port)).resolves.toBeUndefined();
    expect(portProblem(new Error("something else"))).toBeUndefined();
  });
});
