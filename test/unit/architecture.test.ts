/**
 * The code's shape, checked like behaviour: dependencies point one way (functions/ never imports
 * infra/), the core stays pure (no AWS, HTTP or Lambda middleware), no two modules import each
 * other through any chain, and a long file says why it is long.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return sources(path);
    return path.endsWith(".ts") && !path.endsWith(".d.ts") ? [path] : [];
  });
}

/** Every module a file imports or re-exports from, type-only ones included. */
function importsOf(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(join(root, file), "utf8"), ts.ScriptTarget.Latest);
  const specifiers: string[] = [];
  for (const node of source.statements)
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier)
      specifiers.push((node.moduleSpecifier as ts.StringLiteral).text);
  return specifiers;
}

/** The repository-relative file a relative specifier names; undefined for a package. */
function target(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  return relative(root, resolve(root, dirname(file), specifier));
}

const functionsFiles = sources("functions");

describe("the code's shape", () => {
  it("functions/ never imports infra/", () => {
    const wrong = functionsFiles.flatMap((file) =>
      importsOf(file)
        .map((s) => target(file, s))
        .filter((t): t is string => t?.startsWith("infra/") === true)
        .map((t) => `${file} → ${t}`),
    );
    expect(wrong).toEqual([]);
  });

  it("the core imports no AWS, HTTP, Lambda middleware or adapter", () => {
    const forbidden =
      /^(@aws-sdk\/|@aws-lambda-powertools\/|@middy\/|undici|node:http|node:https|aws-lambda|sst)/;
    const wrong = sources("functions/core").flatMap((file) =>
      importsOf(file)
        .filter((s) => forbidden.test(s) || target(file, s)?.startsWith("functions/adapters/"))
        .map((s) => `${file} → ${s}`),
    );
    expect(wrong).toEqual([]);
  });

  it("no module imports itself back through a chain of imports", () => {
    const files = [...functionsFiles, ...sources("infra/local"), ...sources("common")];
    const graph = new Map(
      files.map((file) => [
        file,
        importsOf(file)
          .flatMap((s) => target(file, s) ?? [])
          .filter((t) => files.includes(t)),
      ]),
    );
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "visiting") {
        cycles.push([...path.slice(path.indexOf(file)), file].join(" → "));
        return;
      }
      state.set(file, "visiting");
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, "done");
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it("a file in functions/ over 300 lines says at its top why it is long", () => {
    const long = functionsFiles.filter((file) => {
      const text = readFileSync(join(root, file), "utf8");
      return text.trimEnd().split("\n").length > 300 && !/^\/\*\*[\s\S]*?long[\s\S]*?\*\//.test(text);
    });
    expect(long).toEqual([]);
  });
});
