// What every command gets: the global options resolved (socket path, output mode) and a way to
// reach the daemon.
import { ConfigError, loadConfig } from "../config/load.js";
import { SyncClient } from "../client/SyncClient.js";
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
  private resolvedSocket: string | undefined;

  constructor(
    readonly globals: GlobalOptions,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.out = new Output(globals.json === true);
  }

  get json(): boolean {
    return this.globals.json === true;
  }

  /** --socket, else CARO_SYNC_SOCKET, else the configured default (~/.config/cmdai/sync.sock). */
  get socketPath(): string {
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
  connect(opts: { autoStart?: boolean } = {}): Promise<SyncClient> {
    const autoStart = opts.autoStart === true && this.globals.autoStart !== false;
    return SyncClient.connect({ socketPath: this.socketPath, autoStart });
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

  private resolveSocketPath(): string {
    const explicit = this.socketOverride ?? nonEmpty(this.env.CARO_SYNC_SOCKET);
    try {
      return loadConfig({ socketPath: this.socketOverride }, this.env).config.socketPath;
    } catch (err) {
      // A broken config file must not keep a client from reaching a daemon it can name.
      if (!(err instanceof ConfigError) || explicit === undefined) throw err;
      this.out.warn(`${err.message} (the daemon will not start with this configuration)`);
      return explicit;
    }
  }
}

export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
