// The exit codes of `caro-sync`, one table used by every command (documented in docs/cli.md).
// Scripts may rely on them: they are part of the scripting contract (docs/cli.md).
import { ConfigError, EX_CONFIG } from "../config/errors.js";
import { ConnectionError, RpcError, TimeoutError } from "../client/errors.js";
import { ErrorCode } from "../protocol/errors.js";

export const EXIT = {
  ok: 0,
  /** Anything else: an internal daemon error, an unhealthy daemon, a push with failed entries. */
  failure: 1,
  /** Bad command line or input (also the daemon's -32602 Invalid params). */
  usage: 2,
  /** The daemon is not running or the connection to it was lost. */
  daemonUnavailable: 3,
  notInitialized: 4,
  networkUnreachable: 5,
  invalidCredentials: 6,
  rateLimited: 7,
  alreadyInitialized: 8,
  payloadTooLarge: 9,
  encryptionError: 10,
  /** The daemon did not answer in time. */
  timeout: 11,
  /** The daemon's disk refused the write (-32008: full, read-only, I/O error): retry later. */
  storageUnavailable: 12,
  /** Invalid configuration (EX_CONFIG, as the daemon). */
  config: EX_CONFIG,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const BY_RPC_CODE: Partial<Record<number, ExitCode>> = {
  [ErrorCode.InvalidParams]: EXIT.usage,
  [ErrorCode.NotInitialized]: EXIT.notInitialized,
  [ErrorCode.NetworkUnreachable]: EXIT.networkUnreachable,
  [ErrorCode.InvalidCredentials]: EXIT.invalidCredentials,
  [ErrorCode.RateLimited]: EXIT.rateLimited,
  [ErrorCode.AlreadyInitialized]: EXIT.alreadyInitialized,
  [ErrorCode.PayloadTooLarge]: EXIT.payloadTooLarge,
  [ErrorCode.EncryptionError]: EXIT.encryptionError,
  [ErrorCode.StorageUnavailable]: EXIT.storageUnavailable,
};

/** A failure the command line itself detected, with its exit code, a stable reason and a hint. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exit: ExitCode,
    readonly reason: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** A mistake on the command line or in the input the user gave: exit 2. */
export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.usage, "usage", hint);
    this.name = "UsageError";
  }
}

export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof RpcError) return BY_RPC_CODE[err.code] ?? EXIT.failure;
  if (err instanceof ConnectionError) return EXIT.daemonUnavailable;
  if (err instanceof TimeoutError) return EXIT.timeout;
  if (err instanceof CliError) return err.exit;
  if (err instanceof ConfigError) return EXIT.config;
  return EXIT.failure;
}
