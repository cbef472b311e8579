// What every command gets: the global options resolved (socket path, output mode) and a way to
// reach the daemon.
import { SyncClient } from "../client/SyncClient.js";
import { hasSettingsToCheck, nonEmpty, socketPathOf } from "../config/paths.js";
import { Output } from "./output.js";

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

  /** Runs `fn` with a connected client and closes it afterwards, whatever happens. */
  async withClient<T>(
    fn: (client: SyncClient) => Promise<T>,
    opts: { autoStart?: boolean } = {},
  ): Promise<T> {
    const client = await this.connect(opts);
    try {
      return await fn(client);
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
