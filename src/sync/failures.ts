// The one mapping from an internal failure to what clients see (daemon.health.lastError, sync.error,
// and any error a request handler throws that is not already a SyncError): the contract's code, a
// stable `reason` key, and a fixed message per failure kind. The message is built from the kind and
// structured fields only (an HTTP status, an errno code, a timeout), never from an exception's own
// text, which can carry anything (cojson and ws messages, paths, ids). The raw detail belongs in the
// log, where the caller puts it.
import { ErrorCode, SyncError } from "../protocol.js";
import { RemoteConnectError, type ConnectFailure } from "./remote.js";
import {
  describeStorageFault,
  StorageFaultError,
  storageFaultReason,
  type StorageFaultReason,
} from "./storageFault.js";

/** A failure as the wire shows it. `fatal`: the daemon cannot sync until the user acts (unhealthy). */
export interface WireFailure {
  code: ErrorCode;
  reason: string;
  message: string;
  fatal: boolean;
  /** What the user can do, for a request's error (`data.hint`). */
  hint?: string;
}

/** -32008's hints: the request changed nothing, so sending it again later is always right. */
const STORAGE_HINTS: Record<StorageFaultReason, string> = {
  disk_full:
    "free disk space where the daemon keeps its cache, then send the request again: nothing of it was stored",
  read_only:
    "make the file system or the files of the daemon's cache writable again, then send the request again: nothing of it was stored",
  io_error:
    "the disk failed a write (the daemon log has the detail); check it, then send the request again: nothing of it was stored",
};

/** Where a failure happened: the same kind of failure reads differently during a drop or an upload. */
export type FailureSource =
  /** One connection attempt failed. */
  | { during: "connect"; failure: ConnectFailure }
  /** An established relay connection dropped. */
  | { during: "drop"; failure: ConnectFailure }
  /** Remote.open() of the account failed (a classified RemoteConnectError, or anything else). */
  | { during: "open"; error: unknown }
  /** An upload run was not confirmed by the relay. */
  | { during: "upload"; error: unknown }
  /** The stored identity was made without a relay and cannot be opened by the Remote. */
  | { during: "localIdentity" }
  /** A request handler threw something that is not a SyncError. */
  | { during: "request"; error: unknown };

/** An errno-shaped code (ECONNREFUSED, EAI_AGAIN): safe to show, it cannot carry free text. */
const ERRNO = /^E[A-Z0-9_]{2,24}$/;

export function describeFailure(source: FailureSource): WireFailure {
  switch (source.during) {
    case "connect":
      return describeConnect(source.failure);
    case "drop":
      return describeDrop(source.failure);
    case "open":
      return source.error instanceof RemoteConnectError
        ? describeConnect(source.error.failure)
        : (describeStorage(source.error) ??
            failure(
              ErrorCode.InternalError,
              "account_open_failed",
              "the sync account could not be opened; see the daemon log",
            ));
    case "upload":
      // A confirmation the disk refused is the disk's failure, not the relay's.
      return (
        describeStorage(source.error) ??
        failure(
          ErrorCode.NetworkUnreachable,
          "upload_unconfirmed",
          "the relay did not confirm the upload; the entries stay queued",
        )
      );
    case "localIdentity":
      return {
        ...failure(
          ErrorCode.InvalidCredentials,
          "local_identity",
          "this identity was created without a relay; run `caro-sync reset` and init again",
        ),
        fatal: true,
      };
    case "request":
      return source.error instanceof RemoteConnectError
        ? describeConnect(source.error.failure)
        : (describeStorage(source.error) ??
            failure(ErrorCode.InternalError, "internal_error", "Internal error"));
  }
}

/**
 * -32008 for a storage fault (a full disk, a read-only file system or file, an I/O error) of the
 * cache, Jazz's storage or the credentials file; null for anything else. The one mapping from
 * SQLite's and the OS's codes (storageFault.ts) to the wire.
 */
function describeStorage(error: unknown): WireFailure | null {
  const reason = storageFaultReason(error);
  if (reason === null) return null;
  const store = error instanceof StorageFaultError ? error.fault.store : undefined;
  return {
    ...failure(ErrorCode.StorageUnavailable, reason, describeStorageFault({ store, reason })),
    hint: STORAGE_HINTS[reason],
  };
}

/** The failure the retry policy decides on: an open() failure counts as its classified failure. */
export function failureForRetry(source: FailureSource): ConnectFailure {
  switch (source.during) {
    case "connect":
    case "drop":
      return source.failure;
    case "open":
      return source.error instanceof RemoteConnectError
        ? source.error.failure
        : { kind: "network", message: "the account could not be opened" };
    case "localIdentity":
    case "upload":
    case "request":
      // Not a relay failure: nothing a fast retry could fix.
      return { kind: "invalidData", message: source.during };
  }
}

/** A thrown value as the SyncError the wire carries: a SyncError as it is, anything else mapped. */
export function toSyncError(err: unknown): SyncError {
  if (err instanceof SyncError) return err;
  return failureError({ during: "request", error: err });
}

/** The SyncError a request answers with for `source`. */
export function failureError(source: FailureSource, fallbackHint?: string): SyncError {
  const { code, reason, message, hint = fallbackHint } = describeFailure(source);
  return new SyncError(code, message, { reason, ...(hint !== undefined && { hint }) });
}

function describeConnect(f: ConnectFailure): WireFailure {
  switch (f.kind) {
    case "timeout":
      return failure(
        ErrorCode.NetworkUnreachable,
        "relay_timeout",
        f.afterMs === undefined
          ? "relay did not answer in time"
          : `relay did not answer within ${f.afterMs} ms`,
      );
    case "network":
      return failure(
        ErrorCode.NetworkUnreachable,
        "relay_unreachable",
        f.errno !== undefined && ERRNO.test(f.errno) ? `relay unreachable (${f.errno})` : "relay unreachable",
      );
    case "rateLimited":
      return failure(ErrorCode.NetworkUnreachable, "relay_rate_limited", "relay is rate limiting (HTTP 429)");
    case "server":
      return failure(
        ErrorCode.NetworkUnreachable,
        "relay_server_error",
        `relay answered HTTP ${status(f.status)}`,
      );
    case "invalidData":
      return failure(
        ErrorCode.NetworkUnreachable,
        "relay_invalid_data",
        "the relay address or its answer is not usable",
      );
    case "auth":
      return {
        ...failure(
          ErrorCode.InvalidCredentials,
          "auth_refused",
          `relay refused the credentials (HTTP ${status(f.status)})`,
        ),
        fatal: true,
      };
    case "accountNotFound":
      // Fatal (unhealthy: nothing can sync), though still probed: the first device may upload it.
      return {
        ...failure(
          ErrorCode.InvalidCredentials,
          "account_not_found",
          "the relay has no account for these credentials (run init on the first device)",
        ),
        fatal: true,
      };
    case "accountIncomplete":
      // Unhealthy (this device cannot sync the account), though probed: a device holding the rest
      // of the account uploads it when it connects.
      return { ...ACCOUNT_INCOMPLETE, fatal: true };
  }
}

/**
 * The account, or part of it, is neither here nor on the relay: the open failure, and the verdict
 * of the completeness check on a connection (sync/integrity.ts).
 */
export const ACCOUNT_INCOMPLETE: WireFailure = {
  code: ErrorCode.NetworkUnreachable,
  reason: "account_incomplete",
  message: "the relay holds only part of the account; it completes once a device holding the rest connects",
  fatal: true,
};

function describeDrop(f: ConnectFailure): WireFailure {
  const message =
    f.kind === "timeout" ? "relay stopped answering (no ping within the timeout)" : "relay connection closed";
  return failure(ErrorCode.NetworkUnreachable, "relay_connection_lost", message);
}

function failure(code: ErrorCode, reason: string, message: string): WireFailure {
  return { code, reason, message, fatal: false };
}

/** An HTTP status as a number only (a Remote could put anything in the field). */
function status(value: number): string {
  return Number.isInteger(value) && value >= 100 && value <= 999 ? String(value) : "error";
}
