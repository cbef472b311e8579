// What every command gets: the global options resolved (socket path, output mode) and a way to
// reach the daemon.
import { setTimeout as delay } from "node:timers/promises";
import { RpcError } from "../client/errors.js";
import { SyncClient } from "../client/SyncClient.js";
import { hasSettingsToCheck, nonEmpty, socketPathOf } from "../config/paths.js";
import { ErrorCode } from "../protocol/errors.js";
import { Output } from "./output.js";

/** How long a command waits for a daemon loading its identity, and how often it tries again. */
const LOADING_WAIT_MS = 10_000;
const LOADING_RETRY_MS = 100;

/** Options of the program itself, valid before or after the subcommand. */
export interface GlobalOptions {
  socket?: string;
  json?: boolean;
  /** False with --no-auto-start. */
  autoStart?: boolean;
}

export class CliContext {
  readonly out: Output;
  private resolvedSocket: Promise<string> | undefined;

  constructor(
    readonly globals: GlobalOptions,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.out = new Output(globals.json === true);
  }

  get json(): boolean {
    return this.globals.json === true;
  }

  /**
   * --socket, else CARO_SYNC_SOCKET, else the default (~/.config/cmdai/sync.sock). A configuration
   * the daemon would refuse is a ConfigError here too (exit 78), unless the socket is given.
   */
  socketPath(): Promise<string> {
    this.resolvedSocket ??= this.resolveSocketPath();
    return this.resolvedSocket;
  }

  /** The --socket flag, if given (passed on to a daemon we start). */
  get socketOverride(): string | undefined {
    return nonEmpty(this.globals.socket);
  }

  /**
   * Connects to the daemon. `autoStart` (for commands that need the daemon to do work) starts it
   * when nothing answers, unless the user passed --no-auto-start.
   */
  async connect(opts: { autoStart?: boolean } = {}): Promise<SyncClient> {
    const autoStart = opts.autoStart === true && this.globals.autoStart !== false;
    return SyncClient.connect({ socketPath: await this.socketPath(), autoStart });
  }

  /**
   * Runs `fn` with a connected client and closes it afterwards, whatever happens. With `autoStart`
   * (the command needs the daemon to work) `fn` runs again while the daemon is loading its identity
   * (see whileLoading).
   */
  async withClient<T>(
    fn: (client: SyncClient) => Promise<T>,
    opts: { autoStart?: boolean } = {},
  ): Promise<T> {
    const client = await this.connect(opts);
    try {
      return opts.autoStart === true ? await whileLoading(() => fn(client)) : await fn(client);
    } finally {
      client.close();
    }
  }

  private async resolveSocketPath(): Promise<string> {
    const overrides = { socketPath: this.socketOverride };
    // No config file and no setting in the environment: nothing can be invalid, and the checker
    // (it loads the schema library, most of a short command's start-up) is not needed.
    if (!hasSettingsToCheck({}, this.env)) return socketPathOf(overrides, this.env);
    const { ConfigError, loadConfig } = await import("../config/load.js");
    try {
      return loadConfig(overrides, this.env).config.socketPath;
    } catch (err) {
      // A broken config file must not keep a client from reaching a daemon it can name.
      const explicit = this.socketOverride ?? nonEmpty(this.env.CARO_SYNC_SOCKET);
      if (!(err instanceof ConfigError) || explicit === undefined) throw err;
      this.out.warn(`${err.message} (the daemon will not start with this configuration)`);
      return explicit;
    }
  }
}

/**
 * A daemon that has just started (autostarted, `caro-sync start`, a service) answers at once, but
 * while it loads its identity (INITIALIZING, about a second) it refuses sync.* and device.* with
 * -32001 (docs/protocol.md, the state gate). Runs `fn` again until the daemon takes it, for up to
 * LOADING_WAIT_MS, then lets the refusal through (exit 4, "retry shortly"). Safe to repeat: while
 * INITIALIZING every sync.* and device.* call is refused, so a refused `fn` changed nothing.
 */
export async function whileLoading<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOADING_WAIT_MS;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isLoading(err) || Date.now() >= deadline) throw err;
    }
    await delay(LOADING_RETRY_MS);
  }
}

function isLoading(err: unknown): boolean {
  return (
    err instanceof RpcError &&
    err.code === ErrorCode.NotInitialized &&
    (err.data as { state?: unknown } | undefined)?.state === "INITIALIZING"
  );
}
