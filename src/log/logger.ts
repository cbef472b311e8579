// Structured, levelled logging (pino). The daemon logs to stderr in the foreground and to a file
// when started in the background. Secrets never reach a line: the keys below are censored at any
// depth, and code logs ids and counts, never params or payloads.
import { pino, type Logger, type DestinationStream } from "pino";

import type { LogLevel } from "./levels.js";

export type { Logger };
export { LOG_LEVELS, type LogLevel } from "./levels.js";

/** Field names whose values are secret or user payload, wherever they appear. */
export const REDACTED_KEYS = [
  "authKey",
  "secret",
  "agentSecret",
  "accountSecret",
  "password",
  "phrase",
  "mnemonic",
  "encrypted",
  "encryptedPayload",
  "entries",
  "params",
  "payload",
  "keys",
] as const;
const CENSOR = "[redacted]";
const MAX_DEPTH = 6;
const redactedSet = new Set<string>(REDACTED_KEYS);

/** Copies `value` with every redacted key censored (depth-bounded so cycles cannot hang it). */
export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Error) return value;
  if (depth >= MAX_DEPTH) return "[depth]";
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactedSet.has(k) ? CENSOR : redact(v, depth + 1);
  return out;
}

export function createLogger(opts: {
  level: LogLevel;
  destination?: DestinationStream;
  name?: string;
}): Logger {
  return pino(
    {
      name: opts.name ?? "caro-sync",
      level: opts.level,
      base: { pid: process.pid },
      formatters: { log: (obj) => redact(obj) as Record<string, unknown> },
      // Error messages can quote input; keep stack and type, censor known secret fields inside.
      serializers: { err: pino.stdSerializers.err },
    },
    opts.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that writes nothing (tests, library use). */
export const silentLogger: Logger = pino({ level: "silent" });
