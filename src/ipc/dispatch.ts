// JSON-RPC 2.0 dispatch (docs/protocol.md): one line in, one response line (or nothing) out. This is the one
// place where a thrown error becomes a wire error, through the one mapping (sync/failures.ts
// toSyncError): a SyncError keeps its code, message and data; anything else gets its contract code
// and a fixed message (-32603 "Internal error" for the unforeseen), its details go to the log only.
import type { Logger } from "../log/logger.js";
import { RepeatGuard } from "../log/repeatGuard.js";
import { ErrorCode, paramsSchemas, SyncError, type JsonRpcId, type MethodName } from "../protocol.js";
import { toSyncError } from "../sync/failures.js";
import type { Connection, MethodContext, MethodTable } from "./methods/types.js";
import { nestingExceeds, scanRawIds } from "./json-scan.js";

/** Most messages in one batch; a larger batch is one -32600 error, so a line bounds the work it starts. */
export const MAX_BATCH_SIZE = 1000;
/** Deepest nesting of arrays/objects accepted in a line (RFC 8259 §9 allows a limit). */
export const MAX_JSON_DEPTH = 64;
/** Longest client-supplied text (method name, zod issue text) copied into an error's data. */
const MAX_ECHO_CHARS = 200;
/** Most validation issues listed in -32602 data. */
const MAX_ISSUES = 20;

export interface Dispatcher {
  /**
   * Handles one line (a message or a batch): the response line without its `\n`, or null when
   * nothing is to be sent (a notification, a batch of notifications). Answered at once when every
   * handler involved answers synchronously (daemon.ping: no promise, no microtask), else a promise
   * of it. Never throws, never rejects.
   */
  handle(line: string, connection: Connection): Answer;
}

/** A response line, null for none, or the promise of one. */
export type Answer = string | null | Promise<string | null>;

export interface DispatcherOptions {
  /** Handlers by method; a method without one is -32601 (tests pass a partial table). */
  methods: Partial<MethodTable>;
  /** Throws a SyncError when the daemon's state does not allow `method` now (docs/protocol.md). */
  gate: (method: MethodName) => void;
  logger: Logger;
}

type ParamsIssue = { code?: string; path: readonly PropertyKey[]; message: string; keys?: readonly string[] };
type AnyHandler = (params: unknown, ctx: MethodContext) => unknown;
type Message = Record<string, unknown>;

export function createDispatcher({ methods, gate, logger }: DispatcherOptions): Dispatcher {
  // An unforeseen failure is logged with its stack once; the same one again (every push on a full
  // disk, say) is counted, so a client retrying cannot fill the log.
  const handlerFailures = new RepeatGuard({
    logger,
    clock: Date,
    msg: "handler failed",
    recoveredMsg: "handlers work again",
    level: "error",
  });
  function handle(line: string, connection: Connection): Answer {
    if (nestingExceeds(line, MAX_JSON_DEPTH)) {
      const message = `Parse error: JSON nested deeper than ${MAX_JSON_DEPTH} levels`;
      return encodeError(null, new SyncError(ErrorCode.ParseError, message, { maxDepth: MAX_JSON_DEPTH }));
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      // V8's message quotes the input, so it stays out of the response.
      return encodeError(null, new SyncError(ErrorCode.ParseError));
    }
    try {
      if (Array.isArray(parsed))
        return handleBatch(parsed, line, connection).catch(dispatchFailed(connection));
      const rawId = isMessage(parsed) && typeof parsed.id === "number" ? scanRawIds(line)[0] : undefined;
      const answer = handleMessage(parsed, rawId, connection);
      return isThenable(answer) ? answer.catch(dispatchFailed(connection)) : answer;
    } catch (err) {
      return dispatchFailed(connection)(err);
    }
  }

  async function handleBatch(batch: unknown[], line: string, connection: Connection): Promise<string | null> {
    if (batch.length === 0) return encodeError(null, invalidRequest("Invalid Request: empty batch"));
    if (batch.length > MAX_BATCH_SIZE) {
      const message = `Invalid Request: batch of ${batch.length} messages exceeds the limit of ${MAX_BATCH_SIZE}`;
      return encodeError(null, invalidRequest(message, { limit: MAX_BATCH_SIZE }));
    }
    const rawIds = batch.some((m) => isMessage(m) && typeof m.id === "number") ? scanRawIds(line) : [];
    const responses = await Promise.all(
      batch.map((m, i) => Promise.resolve(handleMessage(m, rawIds[i], connection))),
    );
    const lines = responses.filter((r): r is string => r !== null);
    return lines.length === 0 ? null : `[${lines.join(",")}]`;
  }

  /** A defect in dispatch itself (handlers' errors are answered in handleMessage): -32603, logged. */
  function dispatchFailed(connection: Connection): (err: unknown) => string {
    return (err) => {
      logger.error({ err, connection: connection.id }, "dispatch failed");
      return encodeError(null, new SyncError(ErrorCode.InternalError));
    };
  }

  /**
   * One message of a line or batch: its response, or null for a notification. Synchronous when its
   * handler is (daemon.ping): a promise only for a handler that returns one.
   */
  function handleMessage(
    msg: unknown,
    rawId: string | undefined,
    connection: Connection,
  ): string | null | Promise<string | null> {
    if (!isMessage(msg)) return encodeError(null, invalidRequest("Invalid Request: expected an object"));
    const hasId = Object.hasOwn(msg, "id");
    const id = msg.id;
    if (hasId && !isValidId(id)) {
      return encodeError(null, invalidRequest('Invalid Request: "id" must be a string, number or null'));
    }
    const idText = hasId ? idSource(id as JsonRpcId, rawId) : "null";
    const envelopeProblem = checkEnvelope(msg);
    if (envelopeProblem) return encodeResponse(idText, "error", errorJson(invalidRequest(envelopeProblem)));

    const method = msg.method as string;
    // The debug line's fields (and the clock reads) cost even when the line is not written.
    const started = logger.isLevelEnabled("debug") ? performance.now() : undefined;
    const respond = (member: "result" | "error", json: string, code?: number): string | null => {
      if (started !== undefined)
        logger.debug(
          {
            method: clip(method),
            id: typeof id === "string" ? clip(id) : id,
            durationMs: Math.round((performance.now() - started) * 1000) / 1000,
            ...(code === undefined ? {} : { code }),
          },
          hasId ? "request" : "notification",
        );
      // Notifications never produce output, not even errors (JSON-RPC 2.0 §4.1).
      return hasId ? encodeResponse(idText, member, json) : null;
    };
    const failed = (err: unknown): string | null => {
      const wire = toWireError(err, { method, connection: connection.id });
      return respond("error", errorJson(wire), wire.code);
    };
    const succeeded = (value: unknown): string | null => {
      let json: string;
      try {
        // JSON.stringify gives undefined for a function or symbol result: send null, never "undefined".
        json = JSON.stringify(value ?? null) ?? "null";
      } catch (err) {
        return failed(err);
      }
      return respond("result", json);
    };
    let result: unknown;
    try {
      result = call(method, msg.params, connection);
    } catch (err) {
      return failed(err);
    }
    return isThenable(result) ? Promise.resolve(result).then(succeeded, failed) : succeeded(result);
  }

  /** Looks the method up, gates and validates it, and runs its handler (which may return a promise). */
  function call(method: string, params: unknown, connection: Connection): unknown {
    if (!Object.hasOwn(paramsSchemas, method) || !Object.hasOwn(methods, method)) {
      throw new SyncError(ErrorCode.MethodNotFound, `Method not found: ${clip(method)}`, {
        method: clip(method),
      });
    }
    const name = method as MethodName;
    gate(name);
    const checked = paramsSchemas[name].safeParse(params);
    if (!checked.success) throw invalidParams(checked.error.issues);
    const handler = methods[name] as unknown as AnyHandler;
    return handler(checked.data, { connection, signal: connection.signal });
  }

  function toWireError(err: unknown, context: { method: string; connection: number }): SyncError {
    if (err instanceof SyncError) return err;
    handlerFailures.failed({ err, fields: { method: clip(context.method), connection: context.connection } });
    return toSyncError(err);
  }

  /** Serializes a SyncError's wire form; data that cannot be serialized degrades to -32603. */
  function errorJson(err: SyncError): string {
    try {
      return JSON.stringify({ code: err.code, message: err.message, data: err.data });
    } catch (cause) {
      logger.error({ err: cause, code: err.code }, "error data not serializable");
      return JSON.stringify(new SyncError(ErrorCode.InternalError).toJSON());
    }
  }

  return { handle };
}

/** A complete response line for an error with `id` (null for parse errors, oversize lines and the like). */
export function encodeError(id: JsonRpcId, err: SyncError): string {
  return encodeResponse(JSON.stringify(id), "error", JSON.stringify(err.toJSON()));
}

function encodeResponse(idText: string, member: "result" | "error", json: string): string {
  return `{"jsonrpc":"2.0","id":${idText},"${member}":${json}}`;
}

function invalidRequest(message: string, data: Record<string, unknown> = {}): SyncError {
  return new SyncError(ErrorCode.InvalidRequest, message, data);
}

/** Returns what is wrong with a request object's members, or undefined when it is well-formed. */
function checkEnvelope(msg: Message): string | undefined {
  if (msg.jsonrpc !== "2.0") return 'Invalid Request: "jsonrpc" must be "2.0"';
  if (typeof msg.method !== "string") return 'Invalid Request: "method" must be a string';
  if (Object.hasOwn(msg, "params") && (typeof msg.params !== "object" || msg.params === null)) {
    return 'Invalid Request: "params" must be an object or an array';
  }
  return undefined;
}

/** -32602 naming the first offending field; issue messages describe the schema, never the input. */
function invalidParams(issues: readonly ParamsIssue[]): SyncError {
  const list = issues.slice(0, MAX_ISSUES).map((issue) => ({
    // An unknown key is reported on its parent object; name the key itself as the field.
    path: [...issue.path, ...(issue.code === "unrecognized_keys" ? (issue.keys ?? []).slice(0, 1) : [])].map(
      (p) => (typeof p === "number" ? p : clip(String(p))),
    ),
    message: clip(issue.message),
  }));
  const first = list[0];
  const field = first && first.path.length > 0 ? first.path.join(".") : "params";
  const detail = first ? `: ${field}: ${first.message}` : "";
  return new SyncError(ErrorCode.InvalidParams, `Invalid params${detail}`, { field, issues: list });
}

/** The id's text for the response: a number's own source text, so it is echoed exactly. */
function idSource(id: JsonRpcId, rawId: string | undefined): string {
  return typeof id === "number" && rawId !== undefined ? rawId : JSON.stringify(id);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

function isMessage(value: unknown): value is Message {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isValidId(id: unknown): id is JsonRpcId {
  return id === null || typeof id === "string" || typeof id === "number";
}

function clip(text: string): string {
  return text.length > MAX_ECHO_CHARS ? `${text.slice(0, MAX_ECHO_CHARS)}…` : text;
}
