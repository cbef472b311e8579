// `caro-sync relay`: runs the self-hosted relay in the foreground until SIGTERM or SIGINT.
import { startRelay, type RelayHandle, type RelayOptions } from "./server.js";

export interface RelayCommandOptions extends RelayOptions {
  /** Called once the relay listens (the CLI prints the URL; tests read the port). */
  onListening?: (relay: Pick<RelayHandle, "url" | "port">) => void;
}

/**
 * Starts the relay, then waits for SIGTERM/SIGINT and closes it gracefully. Resolves with the exit
 * code (0 after a clean stop, 1 when closing failed); rejects when the relay cannot start (e.g. the
 * port is taken), so the caller can print why and exit non-zero.
 */
export async function runRelayCommand(opts: RelayCommandOptions): Promise<number> {
  if (!opts.inMemory && !opts.dbPath) throw new Error("relay needs --db PATH or --in-memory");
  const { onListening: _onListening, ...relayOptions } = opts;
  const relay = await startRelay(relayOptions);
  opts.onListening?.({ url: relay.url, port: relay.port });

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      resolve(sig);
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
  opts.logger.info({ signal }, "relay stopping");
  try {
    await relay.close();
    return 0;
  } catch (err) {
    opts.logger.error({ err }, "relay did not close cleanly");
    return 1;
  }
}
