// Runs the real daemon as a child process (`bin/caro-sync daemon`) with its own HOME in a temp dir,
// waits until its socket answers, and stops it (and removes the temp dir) afterwards.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { daemonEnvironment } from "../../src/client/launch.js";
import { SyncClient } from "../../src/client/SyncClient.js";
import type { EntryType, PulledEntry, SyncState } from "../../src/protocol.js";
import { tempDir } from "./tmp.js";
import { waitFor } from "./wait.js";

export const BIN = fileURLToPath(new URL("../../../bin/caro-sync", import.meta.url));

export interface DaemonProcess {
  readonly home: string;
  readonly socketPath: string;
  readonly cachePath: string;
  readonly env: NodeJS.ProcessEnv;
  readonly child: ChildProcess;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  client(): Promise<SyncClient>;
  /**
   * Polls sync.status until the daemon is in `state`. On timeout the error carries the last status
   * and the tail of the daemon's log, so a failure in CI says why the state never came.
   */
  waitForState(state: SyncState, timeoutMs?: number): Promise<void>;
  /** SIGTERM, wait for exit; SIGKILL if it does not exit in time. */
  stop(): Promise<number | string>;
  /** Stops the daemon and removes its HOME. */
  cleanup(): Promise<void>;
}

/** A relay URL nothing listens on: the daemon works offline against its cache. */
export const UNREACHABLE_RELAY = "ws://127.0.0.1:9";

export async function spawnDaemon(
  opts: {
    home?: string;
    env?: NodeJS.ProcessEnv;
    args?: string[];
    waitReady?: boolean;
    /** A command that execs the daemon, e.g. `["prlimit", "--nofile=64:64", "--"]`. */
    wrapper?: readonly string[];
  } = {},
): Promise<DaemonProcess> {
  const dir = opts.home ? { path: opts.home, cleanup: async () => {} } : await tempDir("csd-");
  const home = dir.path;
  // As `caro-sync start`, the client's autostart and the systemd unit run it (memory settings).
  const env: NodeJS.ProcessEnv = daemonEnvironment({
    PATH: process.env.PATH,
    HOME: home,
    CARO_SYNC_RELAY: UNREACHABLE_RELAY,
    CARO_SYNC_LOG_LEVEL: "info",
    ...opts.env,
  });
  const socketPath = env.CARO_SYNC_SOCKET ?? join(home, ".config", "cmdai", "sync.sock");
  const cachePath = env.CARO_SYNC_CACHE_PATH ?? join(home, ".cache", "cmdai", "sync.db");
  const argv = [...(opts.wrapper ?? []), process.execPath, BIN, "daemon", ...(opts.args ?? [])];
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  let exitedYet = false;
  void exited.then(() => (exitedYet = true));

  const connect = () => SyncClient.connect({ socketPath });
  const stop = async () => {
    if (!exitedYet) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    return exited;
  };
  const daemon: DaemonProcess = {
    home,
    socketPath,
    cachePath,
    env,
    child,
    exited,
    stderr: () => stderr,
    client: connect,
    waitForState: async (state, timeoutMs = 30_000) => {
      const client = await connect();
      let last = "no answer";
      try {
        await waitFor(
          async () => {
            const status = await client.status();
            last = JSON.stringify(status);
            return status.state === state;
          },
          { timeoutMs, intervalMs: 50, what: `the daemon to be ${state}` },
        );
      } catch (err) {
        const tail = stderr.split("\n").slice(-40).join("\n");
        throw new Error(`${(err as Error).message}; last status ${last}; daemon log:\n${tail}`);
      } finally {
        client.close();
      }
    },
    stop,
    cleanup: async () => {
      await stop();
      await dir.cleanup();
    },
  };

  if (opts.waitReady !== false) {
    try {
      await waitFor(
        async () => {
          if (exitedYet) throw new Error(`daemon exited early: ${stderr}`);
          const client = await connect();
          try {
            return await client.ping();
          } finally {
            client.close();
          }
        },
        { timeoutMs: 15_000, what: "the daemon to answer daemon.ping" },
      );
    } catch (err) {
      await daemon.cleanup();
      throw err;
    }
  }
  return daemon;
}

/**
 * Pages `sync.pull` from `since` until `hasMore` is false, checking that the cursor moves on.
 * Returns every entry in order and the last cursor handed out.
 */
export async function pullEverything(
  client: SyncClient,
  opts: { since?: number | null; limit?: number; types?: EntryType[] } = {},
): Promise<{ entries: PulledEntry[]; cursor: number | null }> {
  const entries: PulledEntry[] = [];
  let since = opts.since ?? null;
  for (;;) {
    const page = await client.pull({
      since,
      limit: opts.limit ?? 1000,
      ...(opts.types ? { types: opts.types } : {}),
    });
    entries.push(...page.entries);
    if (page.entries.length > 0)
      assert.ok(
        page.nextCursor !== null && (since === null || page.nextCursor > since),
        "the cursor moves on",
      );
    since = page.nextCursor;
    if (!page.hasMore) return { entries, cursor: since };
  }
}
