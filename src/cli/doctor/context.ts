// What the doctor's checks share: the configuration as the daemon would load it (or, when it does
// not load, the default locations), and the one look at the daemon, made at most once.
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectionError, TimeoutError } from "../../client/errors.js";
import { SyncClient } from "../../client/SyncClient.js";
import { defaultKeysPath } from "../../client/crypto/index.js";
import { ConfigError, loadConfig } from "../../config/load.js";
import type { Config } from "../../config/schema.js";
import type { HealthResult, PingResult, StatusResult } from "../../protocol.js";

/** How long each step of the look at the daemon (connect, ping, health + status) may take. */
export const DAEMON_STEP_TIMEOUT_MS = 2_000;

export type DaemonSnapshot =
  | { reachable: true; ping: PingResult; health: HealthResult; status: StatusResult | null }
  | { reachable: false; reason: string };

export interface DoctorContext {
  readonly env: NodeJS.ProcessEnv;
  /** Resolved as the daemon would; with an invalid configuration, the defaults' paths. */
  readonly config: Readonly<Config>;
  /** Set when the configuration does not load: the daemon would refuse to start (exit 78). */
  readonly configError: ConfigError | null;
  /** Non-fatal findings of loadConfig (unknown keys). */
  readonly configWarnings: readonly string[];
  readonly keysPath: string;
  /** The daemon's ping, health and status, fetched once (never starts the daemon). */
  daemon(): Promise<DaemonSnapshot>;
}

export function createDoctorContext(opts: {
  env: NodeJS.ProcessEnv;
  socketOverride: string | undefined;
}): DoctorContext {
  const { env, socketOverride } = opts;
  let config: Readonly<Config>;
  let configError: ConfigError | null = null;
  let configWarnings: string[] = [];
  try {
    ({ config, warnings: configWarnings } = loadConfig({ socketPath: socketOverride }, env));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    configError = err;
    config = loadConfig(
      { socketPath: socketOverride, configFile: noSuchFile() },
      withoutSettings(env),
    ).config;
  }
  let snapshot: Promise<DaemonSnapshot> | undefined;
  return {
    env,
    config,
    configError,
    configWarnings,
    keysPath: defaultKeysPath(env),
    daemon: () => (snapshot ??= lookAtDaemon(config.socketPath)),
  };
}

/**
 * Connects without auto-start, pings, then asks for health and status. Every step has its own
 * timeout and the connection is always closed, so a daemon that accepts and never answers costs
 * at most a few seconds. `sync.status` is refused by an uninitialized daemon: status is null then.
 */
async function lookAtDaemon(socketPath: string): Promise<DaemonSnapshot> {
  let client: SyncClient;
  try {
    client = await SyncClient.connect({ socketPath, connectTimeoutMs: DAEMON_STEP_TIMEOUT_MS });
  } catch (err) {
    return { reachable: false, reason: reasonOf(err) };
  }
  const opts = { timeoutMs: DAEMON_STEP_TIMEOUT_MS };
  try {
    const ping = await client.ping(opts);
    const [health, status] = await Promise.all([client.health(opts), client.status(opts).catch(() => null)]);
    return { reachable: true, ping, health, status };
  } catch (err) {
    return { reachable: false, reason: reasonOf(err) };
  } finally {
    client.close();
  }
}

function reasonOf(err: unknown): string {
  if (err instanceof TimeoutError)
    return `the daemon did not answer ${err.method} within ${err.timeoutMs} ms`;
  if (err instanceof ConnectionError || err instanceof Error) return err.message;
  return String(err);
}

/**
 * The settings that can be invalid (the file, CARO_SYNC_RELAY, CARO_SYNC_LOG_LEVEL) left out, so a
 * broken configuration still lets the other checks find the socket, credentials and caches.
 */
function withoutSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { CARO_SYNC_RELAY: _relay, CARO_SYNC_LOG_LEVEL: _level, ...rest } = env;
  return rest;
}

function noSuchFile(): string {
  return join(tmpdir(), `caro-sync-doctor-${randomUUID()}.json`);
}
