/**
 * Runs the real SST components of sst.config.ts under Pulumi's unit-test mocks, with no AWS account and
 * no network, and prints the resource graph as JSON on stdout (one object: resources, calls, outputs).
 * Run by resources.test.ts in a child process (Pulumi keeps global state and `run()` changes directory).
 *
 * It follows what the `sst` CLI does (LOCAL_STACK.md, "SST components under Pulumi mocks"): bundle
 * sst.config.ts with esbuild, injecting SST's shim and `aws`/`sst` in scope, into .sst/platform so
 * `@pulumi/*` resolve from the platform's node_modules; answer the CLI's RPC calls from a loopback stub
 * (Runtime.Build bundles the real handler, so a wrong handler path fails); run the platform's
 * `auto/run`. Depends on SST internals: `sst` is pinned exactly in package.json.
 *
 * Settings (WECHAT_APP_ID, ALARM_EMAIL, …) and SST_SECRET_<Name> come from the environment the test
 * passes in.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { listen, readText, sendJson } from "../../infra/local/http-io.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const platform = join(root, ".sst", "platform");
if (!existsSync(join(platform, "src", "components"))) {
  process.stderr.write(".sst/platform is missing: run `npm run sst:install` first\n");
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), "infra-graph-"));
const stage = process.env.INFRA_STAGE ?? "test";
/** Far above any registration the components send; a bound only so a runaway body cannot fill memory. */
const RPC_BODY_LIMIT = 256 * 1024 * 1024;

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  /** Set for a resource read by id (`.get`), such as an existing Elastic IP allocation. */
  id?: string;
}
const resources: Registered[] = [];
/**
 * Each function's build as the CLI receives it: its SST name, what it links (with their properties)
 * and the esbuild plugins file it names.
 */
const builds: { functionID: string; links: Record<string, unknown>; plugins: string | null }[] = [];
const calls: { token: string; inputs: Record<string, unknown> }[] = [];

async function bundleProgram(): Promise<string> {
  const providers = JSON.parse(readFileSync(join(root, ".sst", "provider-lock.json"), "utf8")) as {
    package: string;
    alias: string;
  }[];
  const components = join(platform, "src", "components");
  const prelude = [
    ...providers.map((p) => `import * as ${p.alias} from "${p.package}";`),
    `import * as sst from ${JSON.stringify(components)};`,
  ].join("\n");
  const entry = join(work, "entry.ts");
  const outfile = join(platform, `.infra-graph-${process.pid}.mjs`);
  await esbuild.build({
    stdin: {
      contents: [
        `import config from ${JSON.stringify(join(root, "sst.config.ts"))};`,
        `import { run } from ${JSON.stringify(join(platform, "src", "auto", "run.ts"))};`,
        "export { config, run };",
      ].join("\n"),
      resolveDir: root,
      sourcefile: entry,
      loader: "ts",
    },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    outfile,
    inject: [join(platform, "src", "shim", "run.js")],
    external: ["@pulumi/*", "@aws-sdk/*", "esbuild"],
    logLevel: "silent",
    banner: {
      js: `import { createRequire as __cr } from "module"; const require = __cr(import.meta.url);`,
    },
    plugins: [
      {
        name: "sst-globals",
        setup(build) {
          build.onLoad({ filter: /\.ts$/ }, (args) => {
            const rel = relative(root, args.path);
            if (rel.startsWith(".sst") || rel.includes("node_modules")) return undefined;
            return { contents: `${prelude}\n${readFileSync(args.path, "utf8")}`, loader: "ts" };
          });
        },
      },
    ],
  });
  return outfile;
}

/** The `sst` CLI's side of the RPC the components call. */
async function startRpcStub(): Promise<{ url: string; close: () => void }> {
  const server = createServer(async (req, res) => {
    const body = await readText(req, RPC_BODY_LIMIT);
    const { method, params } = JSON.parse(body) as { method: string; params: [Record<string, unknown>] };
    const answer = (result: unknown, error: string | null = null) => sendJson(res, 200, { result, error });
    try {
      if (method === "Provider.Aws.Bootstrap")
        return answer({
          asset: "sst-asset-bucket",
          assetEcrRegistryId: "000000000000",
          assetEcrUrl: "000000000000.dkr.ecr.us-east-1.amazonaws.com/sst-asset",
          state: "sst-state-bucket",
          appsyncHttp: "",
          appsyncRealtime: "",
        });
      if (method === "Runtime.Build") return answer(await buildHandler(params[0]));
      if (method.startsWith("Resource.")) return answer({ id: "stub", outs: params[0] });
      return answer(null, `rpc: can't find ${method}`);
    } catch (error) {
      return answer(null, (error as Error).message);
    }
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/**
 * The plugins a function's `nodejs.plugins` names, loaded as the CLI does: the file (relative to
 * sst.config.ts) default-exports a list of esbuild plugins.
 */
async function pluginsOf(file: string | null): Promise<esbuild.Plugin[]> {
  if (file === null) return [];
  const mod = (await import(pathToFileURL(join(root, file)).href)) as { default: esbuild.Plugin[] };
  return mod.default;
}

/** Bundles a handler like SST does, so a wrong handler path or a broken import fails the graph. */
async function buildHandler(input: Record<string, unknown>) {
  const properties = (input.properties ?? {}) as { plugins?: unknown };
  const plugins = typeof properties.plugins === "string" ? properties.plugins : null;
  builds.push({
    functionID: String(input.functionID),
    links: (input.links ?? {}) as Record<string, unknown>,
    plugins,
  });
  const handler = String(input.handler);
  const file = handler.slice(0, handler.lastIndexOf("."));
  const source = [".ts", ".mts", ".js", ".mjs"].map((ext) => join(root, file + ext)).find(existsSync);
  if (!source) return { handler, out: "", errors: [`handler file not found: ${handler}`], sourcemaps: [] };
  const out = join(work, "functions", String(input.functionID ?? file.replaceAll("/", "_")));
  mkdirSync(out, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [source],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    outfile: join(out, `${file}.mjs`),
    logLevel: "silent",
    banner: { js: `import { createRequire as __cr } from "module"; const require = __cr(import.meta.url);` },
    // Without its plugins the admin function does not build: its console assets are `?bundle` imports.
    plugins: await pluginsOf(plugins),
  });
  return { handler, out, errors: result.errors.map((e) => e.text), sourcemaps: [] };
}

async function main() {
  const outfile = await bundleProgram();
  const rpc = await startRpcStub();
  process.env.SST_SERVER = rpc.url;
  const requireFromPlatform = createRequire(join(platform, "package.json"));
  const pulumi = requireFromPlatform("@pulumi/pulumi") as typeof import("@pulumi/pulumi");

  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        resources.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          ...(args.id ? { id: args.id } : {}),
        });
        const physical = `${args.name}-${stage}`;
        const state: Record<string, unknown> = {
          ...args.inputs,
          arn: `arn:aws:mock:us-east-1:000000000000:${args.type}/${physical}`,
          name: args.inputs.name ?? physical,
        };
        if (args.type === "aws:sqs/queue:Queue")
          state.url = `https://sqs.us-east-1.amazonaws.com/000000000000/${physical}`;
        if (args.type === "aws:lambda/functionUrl:FunctionUrl")
          state.functionUrl = `https://${physical}.lambda-url.us-east-1.on.aws/`;
        // Elastic IPs: fresh ones from the documentation range, existing allocations read by id.
        if (args.type === "aws:ec2/eip:Eip")
          state.publicIp = `203.0.113.${resources.filter((r) => r.type === "aws:ec2/eip:Eip").length}`;
        if (args.type === "random:index/randomBytes:RandomBytes")
          state.base64 = Buffer.alloc(32, 1).toString("base64");
        if (args.type === "aws:apigatewayv2/api:Api") {
          state.apiEndpoint = `https://${physical}.execute-api.us-east-1.amazonaws.com`;
          state.executionArn = `arn:aws:execute-api:us-east-1:000000000000:${physical}`;
        }
        return { id: args.id || `${physical}-id`, state };
      },
      call(args) {
        calls.push({ token: args.token, inputs: args.inputs });
        switch (args.token) {
          case "aws:index/getRegion:getRegion":
            return { name: "us-east-1", region: "us-east-1", id: "us-east-1" };
          case "aws:index/getPartition:getPartition":
            return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
          case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: "000000000000", arn: "arn:aws:iam::000000000000:user/test", userId: "test" };
          case "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {
              names: ["us-east-1a", "us-east-1b", "us-east-1c"],
              zoneIds: ["use1-az1", "use1-az2", "use1-az3"],
            };
          case "aws:ec2/getAmi:getAmi":
            return { id: "ami-0fcknat000000000", architecture: "arm64" };
          case "aws:iam/getPolicyDocument:getPolicyDocument":
            return {
              statements: args.inputs.statements,
              json: JSON.stringify({ Version: "2012-10-17", Statement: args.inputs.statements ?? [] }),
            };
          default:
            return args.inputs;
        }
      },
    },
    "wechat-fanout",
    stage,
    false,
  );

  const mod = (await import(pathToFileURL(outfile).href)) as {
    config: { app: (input: { stage: string }) => Record<string, unknown>; run: () => Promise<unknown> };
    run: (program: () => Promise<unknown>) => Promise<Record<string, unknown>>;
  };
  const app = mod.config.app({ stage });
  Object.assign(globalThis, {
    $app: { ...app, stage, protect: false, providers: app.providers ?? {} },
    $dev: false,
    $cli: {
      command: "deploy",
      dev: false,
      paths: { home: work, root, work, platform },
      state: { version: {} },
    },
  });

  let outputs: Record<string, unknown> = {};
  let failure: unknown;
  await pulumi.runtime.runInPulumiStack(async () => {
    try {
      outputs = await mod.run(mod.config.run);
    } catch (error) {
      failure = error;
    }
    return outputs;
  });
  if (failure) throw failure;
  // Components register resources asynchronously (inside apply): wait until Pulumi has no promise
  // left in flight (its exit check fails the run otherwise) and the count has settled. On a loaded
  // machine that takes a while.
  const { getStore } = requireFromPlatform("@pulumi/pulumi/runtime/state") as {
    getStore: () => { leakCandidates: Set<unknown> };
  };
  let last = -1;
  const deadline = Date.now() + 60_000;
  for (let stable = 0; stable < 5 && Date.now() < deadline; ) {
    await sleep(100);
    const settled = resources.length === last && getStore().leakCandidates.size === 0;
    stable = settled ? stable + 1 : 0;
    last = resources.length;
  }
  const resolved = await new Promise<unknown>((done) =>
    pulumi.output(outputs).apply((v) => {
      done(v);
      return v;
    }),
  );
  rpc.close();
  rmSync(outfile, { force: true });
  rmSync(work, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify({ resources, calls, builds, outputs: resolved })}\n`);
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
