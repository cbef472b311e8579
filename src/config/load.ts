// Loads the configuration: defaults < config file < environment (CARO_SYNC_*) < flags (README "Configuration").
// The result is frozen. A bad file or value is a ConfigError (the daemon exits 78, EX_CONFIG).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { LOG_LEVELS } from "../log/levels.js";
import { ConfigError } from "./errors.js";
import { ENV_SETTINGS, configFilePath, defaultPaths, nonEmpty, socketPathOf } from "./paths.js";
import { DEFAULTS, METRICS_PORT_EXPECTED, fileConfigSchema, type Config, type FileConfig } from "./schema.js";

export { ConfigError, EX_CONFIG } from "./errors.js";
export { defaultPaths } from "./paths.js";

/** Settings that can come from command-line flags (they win over everything else). */
export interface ConfigOverrides {
  configFile?: string;
  socketPath?: string;
  relay?: string;
  logLevel?: string;
  cachePath?: string;
  /** `--metrics-port`: commander hands over the text as typed. */
  metricsPort?: string | number;
}

export interface LoadedConfig {
  config: Readonly<Config>;
  /** Non-fatal findings (unknown keys), to be logged once the logger exists. */
  warnings: string[];
}

type Env = Record<string, string | undefined>;

export function loadConfig(overrides: ConfigOverrides = {}, env: Env = process.env): LoadedConfig {
  const { configDir, cacheDir } = defaultPaths(env);
  const configFile = configFilePath(overrides, env);
  const warnings: string[] = [];
  const file = readConfigFile(configFile, warnings);

  // Environment and flags go through the same schema as the file, so a bad value names its source.
  const fromEnv = Object.assign(
    {},
    ...Object.entries(ENV_SETTINGS).map(([name, key]) =>
      validateLayer("environment", name, { [key]: env[name] }),
    ),
  ) as Pick<FileConfig, "relay" | "logLevel">;
  const fromFlags = {
    ...validateLayer("command line", "--relay", { relay: overrides.relay }),
    ...validateLayer("command line", "--log-level", { logLevel: overrides.logLevel }),
    ...metricsPortFlag(overrides.metricsPort),
  };

  const merged = { ...DEFAULTS, ...file, ...fromEnv, ...fromFlags };
  const cachePath = overrides.cachePath ?? nonEmpty(env.CARO_SYNC_CACHE_PATH) ?? join(cacheDir, "sync.db");
  const config: Config = {
    ...merged,
    configDir,
    configFile,
    credentialsPath: join(configDir, "sync-credentials.json"),
    socketPath: socketPathOf(overrides, env),
    cachePath,
    jazzStoragePath: `${cachePath.replace(/\.db$/, "")}.jazz.db`,
    logFile: join(cacheDir, "sync-daemon.log"),
  };
  return { config: Object.freeze(config), warnings };
}

function readConfigFile(path: string, warnings: string[]): FileConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new ConfigError(path, null, `cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, null, `is not valid JSON (${(err as Error).message})`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(path, null, "expected a JSON object of settings");
  }
  const known = new Set(Object.keys(fileConfigSchema.shape));
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) warnings.push(`${path}: unknown key "${key}" ignored`);
  }
  return parseOrThrow(path, fileConfigSchema.strip(), raw);
}

/** Validates one setting given outside the file; errors name the variable or flag it came from. */
function validateLayer(
  source: string,
  name: string,
  values: { relay?: string | undefined; logLevel?: string | undefined },
): Pick<FileConfig, "relay" | "logLevel"> {
  const present = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined && v !== ""));
  try {
    return parseOrThrow(source, fileConfigSchema.pick({ relay: true, logLevel: true }), present);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(`${source} ${name}`, null, err.expected);
  }
}

/** `--metrics-port N`: digits only (commander gives a string), then the file's range check. */
function metricsPortFlag(value: string | number | undefined): Pick<FileConfig, "metricsPort"> {
  if (value === undefined || value === "") return {};
  const text = String(value).trim();
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  const parsed = fileConfigSchema.shape.metricsPort.safeParse(port);
  if (!parsed.success) throw new ConfigError("command line --metrics-port", null, METRICS_PORT_EXPECTED);
  return { metricsPort: parsed.data };
}

function parseOrThrow<S extends z.ZodType>(source: string, schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const key = issue?.path.join(".") || null;
  throw new ConfigError(source, key, describeExpectation(key, issue?.message ?? "invalid value"));
}

function describeExpectation(key: string | null, message: string): string {
  if (key === "logLevel") return `expected one of ${LOG_LEVELS.join(", ")}`;
  return message.startsWith("Invalid input: expected") ? message.replace("Invalid input: ", "") : message;
}
