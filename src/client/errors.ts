// The three ways a call can fail, as seen by a client: the daemon answered with an error
// (RpcError), the daemon did not answer in time (TimeoutError), or there is no usable connection
// (ConnectionError). Callers tell them apart with instanceof.
import type { ErrorData } from "../protocol.js";

const START_HINT = "is the daemon running? try `caro-sync start`";

/** No connection to the daemon: nothing listens on the socket, or the connection was lost. */
export class ConnectionError extends Error {
  readonly socketPath: string;
  /** The errno code behind it (ENOENT, ECONNREFUSED, EPIPE…), when there is one. */
  readonly errno: string | undefined;
  readonly hint: string;

  constructor(
    message: string,
    opts: { socketPath: string; errno?: string | undefined; hint?: string; cause?: unknown },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "ConnectionError";
    this.socketPath = opts.socketPath;
    this.errno = opts.errno;
    this.hint = opts.hint ?? START_HINT;
  }

  /** True when the socket does not answer at all (no file, or a stale file nobody listens on). */
  get notRunning(): boolean {
    return this.errno === "ENOENT" || this.errno === "ECONNREFUSED";
  }

  static cannotConnect(socketPath: string, cause: unknown): ConnectionError {
    const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
    const why =
      errno === "ENOENT"
        ? "no socket"
        : errno === "ECONNREFUSED"
          ? "connection refused"
          : errno === "EAGAIN"
            ? "its accept queue stayed full: the daemon is overloaded"
            : (errno ?? (cause instanceof Error ? cause.message : String(cause)));
    return new ConnectionError(`cannot connect to the caro-sync daemon at ${socketPath} (${why})`, {
      socketPath,
      errno,
      cause,
    });
  }
}

/** The daemon answered a request with a JSON-RPC error object. */
export class RpcError extends Error {
  readonly code: number;
  readonly data: ErrorData | undefined;
  readonly method: string;

  constructor(method: string, error: { code: number; message: string; data?: ErrorData }) {
    super(error.message);
    this.name = "RpcError";
    this.method = method;
    this.code = error.code;
    this.data = error.data;
  }

  /** The stable `data.reason` key of the contract, when the daemon sent one. */
  get reason(): string | undefined {
    return typeof this.data?.reason === "string" ? this.data.reason : undefined;
  }

  /** What the user can do about it, when the daemon said. */
  get hint(): string | undefined {
    return typeof this.data?.hint === "string" ? this.data.hint : undefined;
  }
}

/** The daemon did not answer within the call's timeout. The request may still be carried out. */
export class TimeoutError extends Error {
  readonly method: string;
  readonly timeoutMs: number;

  constructor(method: string, timeoutMs: number) {
    super(`${method}: no answer from the daemon within ${timeoutMs} ms`);
    this.name = "TimeoutError";
    this.method = method;
    this.timeoutMs = timeoutMs;
  }
}
