/**
 * Child-process entry running fauxqs on 127.0.0.1 and an ephemeral port; prints `LISTENING <port>`.
 * A separate process keeps fauxqs' synchronous SQLite work off the runner's event loop and confines
 * the listen patch below to a process that hosts nothing else. Runs under Node's own type stripping
 * (no tsx), so it must stay erasable TypeScript.
 */

import net from "node:net";
import { startFauxqs } from "fauxqs";

// fauxqs hard-codes host 0.0.0.0; nothing outside this machine may reach the emulator.
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function loopbackListen(this: net.Server, ...args: unknown[]) {
  const [options] = args;
  if (options !== null && typeof options === "object" && "host" in options) {
    args[0] = { ...options, host: "127.0.0.1" };
  } else if (typeof options === "number" && typeof args[1] === "string") {
    args[1] = "127.0.0.1";
  }
  return Reflect.apply(listen, this, args) as net.Server;
} as typeof listen;

const region = process.argv[2] ?? "us-east-1";
const server = await startFauxqs({ port: 0, logger: false, defaultRegion: region });
process.stdout.write(`LISTENING ${server.port}\n`);

// The parent holds our stdin open; EOF means it is gone, however it died.
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
