// Where things are, before any setting is validated: the default directories, the config file and
// the socket (which no config file sets). No schema library here: every client command reads these.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

type Env = Record<string, string | undefined>;

/** Settings taken from the environment, validated like the file's (the other CARO_SYNC_* are paths). */
export const ENV_SETTINGS = { CARO_SYNC_RELAY: "relay", CARO_SYNC_LOG_LEVEL: "logLevel" } as const;

export function defaultPaths(env: Env = process.env): { configDir: string; cacheDir: string } {
  const home = env.HOME || homedir();
  return { configDir: join(home, ".config", "cmdai"), cacheDir: join(home, ".cache", "cmdai") };
}

export function configFilePath(
  overrides: { configFile?: string | undefined },
  env: Env = process.env,
): string {
  return overrides.configFile ?? join(defaultPaths(env).configDir, "sync-daemon.json");
}

/** The flag, else CARO_SYNC_SOCKET, else the default place. */
export function socketPathOf(overrides: { socketPath?: string | undefined }, env: Env = process.env): string {
  return (
    overrides.socketPath ??
    nonEmpty(env.CARO_SYNC_SOCKET) ??
    (process.platform === "win32" ? "\\\\.\\pipe\\caro-sync" : join(defaultPaths(env).configDir, "sync.sock"))
  );
}

/**
 * Whether loadConfig has anything to check: a config file, or a setting in the environment.
 * Without either, the configuration is the defaults and cannot be invalid (flags aside).
 */
export function hasSettingsToCheck(
  overrides: { configFile?: string | undefined },
  env: Env = process.env,
): boolean {
  return (
    existsSync(configFilePath(overrides, env)) ||
    Object.keys(ENV_SETTINGS).some((name) => nonEmpty(env[name]) !== undefined)
  );
}

export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
