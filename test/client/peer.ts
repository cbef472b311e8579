// A small real JSON-RPC 2.0 server over a Unix socket, for testing clients before (and apart
// from) the daemon. It is a test peer, not a model of the daemon: each test scripts its answers.
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import type { HealthResult } from "../../src/protocol.js";
import { tempDir } from "../helpers/tmp.js";

/** A daemon.health answer for a peer to give: an idle, healthy, offline daemon, with `over` on top. */
export function healthResult(over: Partial<HealthResult> = {}): HealthResult {
  return {
    healthy: true,
    uptime: 5,
    state: "OFFLINE",
    paused: false,
    jazz: { connected: false, relay: "ws://127.0.0.1:9", latency: null },
    cache: { entries: 0, sizeBytes: 4096, writable: true, error: null },
    queue: { pending: 0, failed: 0, oldestAgeMs: null },
    lastSync: null,
    lastError: null,
    nextRetryAt: null,
    integrity: { status: "unknown", checkedAt: null, missing: [], missingCommands: 0 },
    ...over,
  };
}

export interface PeerRequest {
  id: unknown;
  method: string;
  params: unknown;
  socket: Socket;
  /** Bytes of the line the request came on. */
  bytes: number;
  reply(result: unknown): void;
  fail(error: { code: number; message: string; data?: unknown }): void;
}

/** Thrown by a handler: answered as a JSON-RPC error object. */
export class PeerError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** Returned by a handler: do not answer now (the test answers later, or never). */
export const HOLD = Symbol("hold");

export type Handler = (req: PeerRequest) => unknown;

export interface Peer {
  socketPath: string;
  dir: string;
  /** Every request and notification received, in arrival order. */
  requests: PeerRequest[];
  connections: Set<Socket>;
  handlers: Map<string, Handler>;
  /** Sends a notification to every connection. */
  notifyAll(method: string, params: unknown): void;
  close(): Promise<void>;
}

/** Starts a peer in a fresh temp dir. `daemon.ping` answers by default; other methods need a handler. */
export async function startPeer(handlers: Record<string, Handler> = {}): Promise<Peer> {
  const tmp = await tempDir("cs-peer-");
  const socketPath = join(tmp.path, "s.sock");
  const requests: PeerRequest[] = [];
  const connections = new Set<Socket>();
  const table = new Map<string, Handler>([
    ["daemon.ping", () => ({ pong: true, version: "0.0.0-peer", uptime: 1 })],
    ...Object.entries(handlers),
  ]);

  const server: Server = createServer((socket) => {
    connections.add(socket);
    socket.on("close", () => connections.delete(socket));
    socket.on("error", () => {});
    let buffered = "";
    socket.setEncoding("utf8");
    socket.on("data", (text: string) => {
      buffered += text;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        onLine(socket, line);
      }
    });
  });

  const write = (socket: Socket, doc: unknown) => {
    if (!socket.destroyed) socket.write(JSON.stringify(doc) + "\n");
  };

  function onLine(socket: Socket, line: string): void {
    const msg = JSON.parse(line) as { id?: unknown; method: string; params?: unknown };
    const req: PeerRequest = {
      id: msg.id,
      method: msg.method,
      params: msg.params,
      socket,
      bytes: Buffer.byteLength(line),
      reply: (result) => write(socket, { jsonrpc: "2.0", id: msg.id, result }),
      fail: (error) => write(socket, { jsonrpc: "2.0", id: msg.id, error }),
    };
    requests.push(req);
    if (msg.id === undefined) return;
    const handler = table.get(msg.method);
    if (!handler) {
      req.fail({ code: -32601, message: "Method not found", data: { reason: "method_not_found" } });
      return;
    }
    void Promise.resolve()
      .then(() => handler(req))
      .then(
        (result) => {
          if (result !== HOLD) req.reply(result);
        },
        (err: { code?: number; message?: string; data?: unknown }) =>
          req.fail({ code: err.code ?? -32603, message: err.message ?? "error", data: err.data }),
      );
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, resolve);
  });

  return {
    socketPath,
    dir: tmp.path,
    requests,
    connections,
    handlers: table,
    notifyAll(method, params) {
      for (const s of connections) write(s, { jsonrpc: "2.0", method, params });
    },
    async close() {
      for (const s of connections) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await tmp.cleanup();
    },
  };
}
