// The log levels, apart from the logger: the config schema and the CLI name them without loading pino.
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
