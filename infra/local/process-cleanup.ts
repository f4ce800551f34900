/**
 * Last-resort cleanup of emulator and container processes when the parent goes away without calling
 * stop(): on `exit` (normal end, uncaught exception) and on SIGINT/SIGTERM/SIGHUP. Only synchronous
 * work is possible there, so each registration is a function that SIGKILLs what it owns.
 * Behind this, every child also watches its link to the parent (stdin or IPC) and exits when it
 * breaks, which covers a SIGKILLed parent.
 */

type Killer = () => void;

const killers = new Set<Killer>();
let installed = false;

function killAll(): void {
  for (const kill of killers) {
    try {
      kill();
    } catch {
      // A child that is already gone is the goal, not an error.
    }
  }
  killers.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      // Someone else (dev.ts, a test runner) handles this signal: they own the shutdown, and the
      // `exit` hook still runs when they end the process.
      if (process.listenerCount(signal) > 1) return;
      killAll();
      // Listening disabled the default action; restore it so the process still terminates.
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Registers a synchronous killer; returns the function that unregisters it (call it after stop()). */
export function killOnExit(kill: Killer): () => void {
  install();
  killers.add(kill);
  return () => {
    killers.delete(kill);
  };
}
