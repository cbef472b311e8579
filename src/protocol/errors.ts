// Error codes, their stable `data.reason` keys and the one error type that carries a code. Every
// error on the wire has `{code, message, data: {reason, hint?, ...}}` (docs/protocol.md, "Errors").
// No schema library here (ErrorData's schema is in results.ts): the client loads this file.

export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  NotInitialized: -32001,
  InvalidCredentials: -32002,
  NetworkUnreachable: -32003,
  AlreadyInitialized: -32004,
  RateLimited: -32005,
  PayloadTooLarge: -32006,
  EncryptionError: -32007,
  StorageUnavailable: -32008,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
export type ErrorName = keyof typeof ErrorCode;

/** Default message and stable `data.reason` key for each code. */
export const ERROR_TABLE: Record<ErrorCode, { message: string; reason: string }> = {
  [ErrorCode.ParseError]: { message: "Parse error", reason: "parse_error" },
  [ErrorCode.InvalidRequest]: { message: "Invalid Request", reason: "invalid_request" },
  [ErrorCode.MethodNotFound]: { message: "Method not found", reason: "method_not_found" },
  [ErrorCode.InvalidParams]: { message: "Invalid params", reason: "invalid_params" },
  [ErrorCode.InternalError]: { message: "Internal error", reason: "internal_error" },
  [ErrorCode.NotInitialized]: { message: "Not Initialized", reason: "not_initialized" },
  [ErrorCode.InvalidCredentials]: { message: "Invalid Credentials", reason: "invalid_credentials" },
  [ErrorCode.NetworkUnreachable]: { message: "Network Unreachable", reason: "network_unreachable" },
  [ErrorCode.AlreadyInitialized]: { message: "Already Initialized", reason: "already_initialized" },
  [ErrorCode.RateLimited]: { message: "Rate Limited", reason: "rate_limited" },
  [ErrorCode.PayloadTooLarge]: { message: "Payload Too Large", reason: "payload_too_large" },
  [ErrorCode.EncryptionError]: { message: "Encryption Error", reason: "encryption_error" },
  // Its reason is always one of the storage faults; io_error is the one without a refinement.
  [ErrorCode.StorageUnavailable]: { message: "Storage Unavailable", reason: "io_error" },
};

/**
 * Reasons that refine a code's default one (a client may branch on them). Each is documented as
 * its own error in docs/openrpc.json.
 */
export const ERROR_REASON_VARIANTS = {
  UnsupportedProtocolVersion: { code: ErrorCode.InvalidParams, reason: "unsupported_protocol_version" },
  AccountNotFound: { code: ErrorCode.InvalidCredentials, reason: "account_not_found" },
  /** On any connection, `id: null`, just before the daemon closes it (docs/protocol.md §7). */
  TooManyConnections: { code: ErrorCode.RateLimited, reason: "too_many_connections" },
  IdleTimeout: { code: ErrorCode.RateLimited, reason: "idle_timeout" },
  DiskFull: { code: ErrorCode.StorageUnavailable, reason: "disk_full" },
  ReadOnlyStorage: { code: ErrorCode.StorageUnavailable, reason: "read_only" },
} as const;

/** `error.data` of every error: the stable reason, a hint where the user can act, and details. */
export type ErrorData = { reason: string; hint?: string; [key: string]: unknown };

/**
 * The one error type that carries a contract code. The IPC layer sends its code, message and
 * data as they are; any other thrown value becomes -32603 with a generic message.
 */
export class SyncError extends Error {
  readonly code: ErrorCode;
  readonly data: ErrorData;

  constructor(code: ErrorCode, message?: string, data: Partial<ErrorData> & { cause?: unknown } = {}) {
    const { cause, ...rest } = data;
    super(message ?? ERROR_TABLE[code].message, cause === undefined ? undefined : { cause });
    this.name = "SyncError";
    this.code = code;
    this.data = { ...rest, reason: rest.reason ?? ERROR_TABLE[code].reason };
  }

  toJSON(): { code: ErrorCode; message: string; data: ErrorData } {
    return { code: this.code, message: this.message, data: this.data };
  }
}
