// The daemon's configuration: every setting, its type and its default (README "Configuration", seed).
import { z } from "zod";
import { LOG_LEVELS, type LogLevel } from "../log/levels.js";

export const METRICS_PORT_EXPECTED = "expected an integer port from 0 to 65535 (0 = off)";
/** Bounds of the background log's rotation: a file of at least 1 KiB, 2 to 100 files kept. */
const LOG_MAX_BYTES_EXPECTED = "expected a whole number of bytes, at least 1024";
const LOG_FILES_EXPECTED = "expected a whole number of files from 2 to 100";

/** Keys allowed in ~/.config/cmdai/sync-daemon.json. Unknown keys warn; wrong types stop start-up. */
export const fileConfigSchema = z.object({
  relay: z
    .string()
    .regex(/^wss?:\/\/\S+$/, "a ws:// or wss:// URL")
    .optional(),
  logLevel: z.enum(LOG_LEVELS).optional(),
  /** The background log file is rotated once it reaches this size, in bytes. */
  logMaxBytes: z.number().int(LOG_MAX_BYTES_EXPECTED).min(1024, LOG_MAX_BYTES_EXPECTED).optional(),
  /** Log files kept: the active one and the rotated ones (logFile.1 … logFile.N-1). */
  logFiles: z
    .number()
    .int(LOG_FILES_EXPECTED)
    .min(2, LOG_FILES_EXPECTED)
    .max(100, LOG_FILES_EXPECTED)
    .optional(),
  cacheMaxSize: z
    .number()
    .int()
    .min(1024 * 1024)
    .optional(),
  syncIntervalMs: z.number().int().min(100).optional(),
  offlineQueueTtlMs: z.number().int().min(1000).optional(),
  /** Local rate limit of sync.push: entries per second, sustained, per daemon. */
  pushRatePerSecond: z.number().positive().optional(),
  /** Burst allowance of the push rate limit, in entries. */
  pushBurst: z.number().int().positive().optional(),
  /** Bound on the flush to the relay at shutdown, in ms. */
  shutdownFlushMs: z.number().int().nonnegative().optional(),
  /** TCP port of the Prometheus `GET /metrics` endpoint on 127.0.0.1; 0 = no HTTP server. */
  metricsPort: z
    .number()
    .int(METRICS_PORT_EXPECTED)
    .min(0, METRICS_PORT_EXPECTED)
    .max(65_535, METRICS_PORT_EXPECTED)
    .optional(),
});
export type FileConfig = z.infer<typeof fileConfigSchema>;

export interface Config {
  /** ~/.config/cmdai: holds the config file and the credentials file. */
  configDir: string;
  configFile: string;
  credentialsPath: string;
  socketPath: string;
  cachePath: string;
  /** Jazz's own local storage (SQLite), beside the cache: a restart offline reads the account at once. */
  jazzStoragePath: string;
  relay: string;
  logLevel: LogLevel;
  /** Log file used when the daemon runs in the background (`caro-sync start`). */
  logFile: string;
  /** Size at which logFile is rotated (renamed logFile.1, the older ones shifted up). */
  logMaxBytes: number;
  /** Files kept, the active one included: the oldest rotated file beyond it is deleted. */
  logFiles: number;
  cacheMaxSize: number;
  syncIntervalMs: number;
  offlineQueueTtlMs: number;
  pushRatePerSecond: number;
  pushBurst: number;
  shutdownFlushMs: number;
  /** 0 = off. Bound to 127.0.0.1 only: the metrics are unauthenticated. */
  metricsPort: number;
}

export const DEFAULTS = {
  relay: "wss://mesh.jazz.tools",
  logLevel: "info",
  logMaxBytes: 10 * 1024 * 1024,
  logFiles: 5,
  cacheMaxSize: 104_857_600,
  syncIntervalMs: 5_000,
  offlineQueueTtlMs: 86_400_000,
  pushRatePerSecond: 2_000,
  pushBurst: 20_000,
  shutdownFlushMs: 3_000,
  metricsPort: 0,
} as const satisfies Required<FileConfig>;
