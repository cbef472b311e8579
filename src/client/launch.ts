// Starting the daemon in the background and waiting until it answers (docs/protocol.md, "Limits
// and timeouts": the reference client starts the daemon when the socket does not answer and waits
// up to 5 s).
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { PACKAGE_ROOT } from "../packageRoot.js";
import { ConnectionError } from "./errors.js";

export interface DaemonCommand {
  command: string;
  args: string[];
}

/** bin/caro-sync of this package. */
export const BIN_PATH = fileURLToPath(new URL("bin/caro-sync", PACKAGE_ROOT));

/** `node bin/caro-sync --socket PATH daemon --background [extra…]`: the daemon on that socket. */
export function defaultDaemonCommand(socketPath: string, extraArgs: string[] = []): DaemonCommand {
  return {
    command: process.execPath,
    args: [BIN_PATH, "--socket", socketPath, "daemon", "--background", ...extraArgs],
  };
}

/**
 * Memory settings of every daemon this package starts (here, and in the systemd unit of `service
 * install`); docs/performance.md has the measurements.
 * - glibc's malloc raises its mmap threshold each time a large block is freed, so that later
 *   blocks of that size come from the heap, which it rarely gives back: after Jazz's native crypto
 *   and the WebSocket have handled a large history (~0.5 MiB transactions) the freed memory stays
 *   (at 100k entries: 195 MiB idle, ~110 MiB of it malloc). Setting the trim threshold, even to its
 *   default, turns that adjustment off (mallopt(3)): 130 MiB. Other C libraries ignore it.
 * - V8's young generation grows to 2 x 16 MiB under a bulk load and shrinks again only in V8's
 *   own idle-time collection, half a minute later or more; 2 MiB semi-spaces keep it small
 *   (~28 MiB less RSS, no measurable cost to loading or uploading 100k entries).
 * A value already in the environment wins (NODE_OPTIONS is added to, unless it sets the size).
 */
export const DAEMON_MEMORY_ENV: Readonly<Record<string, string>> = {
  MALLOC_TRIM_THRESHOLD_: "131072",
  NODE_OPTIONS: "--max-semi-space-size=2",
};

/** The environment a daemon started from `base` runs with (DAEMON_MEMORY_ENV under `base`). */
export function daemonEnvironment(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...DAEMON_MEMORY_ENV, ...base };
  const own = base.NODE_OPTIONS?.trim();
  if (own && !own.includes("--max-semi-space-size"))
    env.NODE_OPTIONS = `${own} ${DAEMON_MEMORY_ENV.NODE_OPTIONS}`;
  return env;
}

/** Spawns the daemon detached from this process: own session, no stdio, not keeping us alive. */
export function spawnDaemon(cmd: DaemonCommand): ChildProcess {
  const child = spawn(cmd.command, cmd.args, {
    detached: true,
    stdio: "ignore",
    windowsHide: true,
    env: daemonEnvironment(process.env),
  });
  child.unref();
  return child;
}

/**
 * Polls `probe` until it yields a value, the child exits for good, or the deadline passes.
 * `probe` returns null while the daemon is not answering yet. If the child exits early, one
 * last probe runs first: another client may have started a daemon that won the socket.
 */
export async function waitForReady<T>(
  probe: (remainingMs: number) => Promise<T | null>,
  opts: { child: ChildProcess; socketPath: string; timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const { child, socketPath } = opts;
  const deadline = Date.now() + opts.timeoutMs;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  let spawnError: Error | null = null;
  let wake: (() => void) | null = null;
  const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
    exit = { code, signal };
    wake?.();
  };
  const onError = (err: Error) => {
    spawnError = err;
    wake?.();
  };
  child.once("exit", onExit);
  child.once("error", onError);
  try {
    for (;;) {
      if (spawnError) {
        throw new ConnectionError(`cannot start the daemon: ${(spawnError as Error).message}`, {
          socketPath,
          cause: spawnError,
          hint: "check that caro-sync is installed correctly",
        });
      }
      const exited = exit as { code: number | null; signal: NodeJS.Signals | null } | null;
      const value = await probe(Math.max(1, deadline - Date.now()));
      if (value !== null) return value;
      if (exited) {
        const how = exited.signal ? `signal ${exited.signal}` : `code ${exited.code}`;
        throw new ConnectionError(
          `the daemon exited with ${how} before it was ready (socket ${socketPath})`,
          {
            socketPath,
            hint: "run `caro-sync daemon` in the foreground to see why",
          },
        );
      }
      if (Date.now() >= deadline) {
        throw new ConnectionError(`the daemon did not answer on ${socketPath} within ${opts.timeoutMs} ms`, {
          socketPath,
          errno: "ETIMEDOUT",
          hint: "see its log file, or run `caro-sync daemon` in the foreground to see why",
        });
      }
      // Wait for the poll interval, or less if the child exits or fails to spawn meanwhile.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(
          resolve,
          Math.min(opts.intervalMs ?? 25, Math.max(0, deadline - Date.now())),
        );
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  } finally {
    child.off("exit", onExit);
    child.off("error", onError);
  }
}
