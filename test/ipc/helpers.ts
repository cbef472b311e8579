// A real IPC server on a Unix socket in a temp dir, with a small table of test handlers built from the
// real handler signatures (and the real daemon.subscribe), and a line-oriented test client.
import assert from "node:assert/strict";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { createDispatcher } from "../../src/ipc/dispatch.js";
import { daemonMethods } from "../../src/ipc/methods/daemon.js";
import type { Connection, PartialMethodTable } from "../../src/ipc/methods/types.js";
import { createIpcServer, type IpcLimits, type IpcServer } from "../../src/ipc/server.js";
import { createLogger, silentLogger, type Logger } from "../../src/log/logger.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { systemClock, type Clock } from "../../src/sync/clock.js";
import { ErrorCode, SyncError, type JsonRpcId, type MethodName } from "../../src/protocol.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

export interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}
export function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** What the test handlers record and what a test can steer. */
export class Controls {
  pings = 0;
  slowStarted = 0;
  slowGate = deferred();
  readonly subscribers = new Set<Connection>();
  /** The daemon's state gate; tests replace it to refuse methods. */
  gate: (method: MethodName) => void = () => {};
}

/** Handlers with the real signatures: fast, slow (waits on `slowGate`), throwing, refusing. */
export function testMethods(ctl: Controls) {
  // The daemon's own subscribe (it marks the connection as subscribed); no event ever fires.
  const real = daemonMethods({
    version: "test",
    startedAt: 0,
    clock: systemClock,
    metrics: createMetrics({ queueSize: () => 0 }),
    health: () => {
      throw new Error("not used");
    },
    pendingOperations: () => 0,
    requestShutdown: () => {},
    subscribe: () => () => {},
  });
  const daemon: Partial<PartialMethodTable<"daemon">> = {
    "daemon.ping": () => {
      ctl.pings++;
      return { pong: true, version: "test", uptime: 0 };
    },
    "daemon.metrics": async () => {
      ctl.slowStarted++;
      await ctl.slowGate.promise;
      return { contentType: "text/plain", text: "slow done" };
    },
    "daemon.health": () => {
      throw new Error("secret internal detail: /home/user/.config/cmdai/sync-credentials.json");
    },
    "daemon.subscribe": (params, ctx) => {
      ctl.subscribers.add(ctx.connection);
      ctx.connection.onClose(() => ctl.subscribers.delete(ctx.connection));
      return real["daemon.subscribe"](params, ctx);
    },
    "daemon.unsubscribe": real["daemon.unsubscribe"],
  };
  const sync: Partial<PartialMethodTable<"sync">> = {
    "sync.now": () => {
      throw new SyncError(ErrorCode.NetworkUnreachable, "Network Unreachable: relay down", {
        hint: "check the relay",
      });
    },
    "sync.pull": (params) => ({
      entries: [],
      hasMore: false,
      nextCursor: params?.since ?? 0,
      syncTimestamp: 0,
    }),
    "sync.reset": () => ({ reset: true }),
  };
  return { ...daemon, ...sync };
}

export interface Harness {
  dir: string;
  socketPath: string;
  server: IpcServer;
  ctl: Controls;
  logLines: string[];
  connect(): Promise<TestClient>;
  cleanup(): Promise<void>;
}

/** Starts a server; `logLines` receives its debug log when `captureLog` is set. */
export async function startHarness(
  opts: { limits?: Partial<IpcLimits>; captureLog?: boolean; socketName?: string; clock?: Clock } = {},
): Promise<Harness> {
  const tmp = await tempDir("ipc-");
  const socketPath = join(tmp.path, opts.socketName ?? "s.sock");
  const ctl = new Controls();
  const logLines: string[] = [];
  const logger: Logger = opts.captureLog
    ? createLogger({ level: "debug", destination: { write: (s: string) => void logLines.push(s) } })
    : silentLogger;
  const dispatcher = createDispatcher({ methods: testMethods(ctl), gate: (m) => ctl.gate(m), logger });
  const server = createIpcServer({ socketPath, dispatcher, logger, limits: opts.limits, clock: opts.clock });
  await server.start();
  const clients: TestClient[] = [];
  return {
    dir: tmp.path,
    socketPath,
    server,
    ctl,
    logLines,
    async connect() {
      const client = await TestClient.connect(socketPath);
      clients.push(client);
      return client;
    },
    async cleanup() {
      ctl.slowGate.resolve();
      for (const c of clients) c.destroy();
      await server.stop({ drainMs: 1000 });
      await tmp.cleanup();
    },
  };
}

/** A response or notification as a test reads it off the wire. */
export interface Wire {
  jsonrpc: string;
  id?: JsonRpcId;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data: Record<string, unknown> };
}
/** One line from the server: a single message or a batch's array. */
export type WireLine = Wire | Wire[];

/** A client that collects every line the server sends. */
export class TestClient {
  readonly lines: string[] = [];
  ended = false;
  closed = false;
  private readonly decoder = new StringDecoder("utf8");
  private partial = "";
  private cursor = 0;
  private readonly parsed: WireLine[] = [];

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      const parts = (this.partial + this.decoder.write(chunk)).split("\n");
      this.partial = parts.pop() ?? "";
      this.lines.push(...parts);
    });
    socket.on("end", () => (this.ended = true));
    socket.on("close", () => (this.closed = true));
    socket.on("error", () => {});
  }

  static connect(path: string): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      socket.once("connect", () => resolve(new TestClient(socket)));
      socket.once("error", reject);
    });
  }

  /**
   * Connects, trying again while the listen backlog is full (EAGAIN): a process that connects in a
   * tight loop outruns the daemon's accept loop, and the kernel, not the daemon, pushes back.
   */
  static async connectThroughBacklog(path: string, timeoutMs = 10_000): Promise<TestClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await TestClient.connect(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EAGAIN" || Date.now() > deadline) throw err;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  /** Every line parsed (the server only ever writes JSON lines). */
  get messages(): WireLine[] {
    while (this.parsed.length < this.lines.length) {
      this.parsed.push(JSON.parse(this.lines[this.parsed.length]!) as WireLine);
    }
    return this.parsed;
  }

  /** Every message received, batches flattened. */
  get flat(): Wire[] {
    return this.messages.flat();
  }

  /** Writes raw text or bytes, waiting for 'drain' when the socket asks for it. */
  async send(data: string | Buffer): Promise<void> {
    if (!this.socket.write(data)) {
      await new Promise<void>((resolve, reject) => {
        const onClose = () => reject(new Error("socket closed while waiting for drain"));
        this.socket.once("close", onClose);
        this.socket.once("drain", () => {
          this.socket.off("close", onClose);
          resolve();
        });
      });
    }
  }

  /** The next line not yet returned by next()/nextBatch(), which must be a single message. */
  async next(what = "next line"): Promise<Wire> {
    const line = await this.nextLine(what);
    assert.ok(!Array.isArray(line), `expected a single message, got ${JSON.stringify(line).slice(0, 200)}`);
    return line;
  }

  /** The next line, which must be a batch response. */
  async nextBatch(what = "next batch"): Promise<Wire[]> {
    const line = await this.nextLine(what);
    assert.ok(Array.isArray(line), `expected a batch, got ${JSON.stringify(line).slice(0, 200)}`);
    return line;
  }

  private async nextLine(what: string): Promise<WireLine> {
    await waitFor(() => this.lines.length > this.cursor || this.closed, { what, timeoutMs: 10_000 });
    if (this.lines.length <= this.cursor) throw new Error(`connection closed while waiting for ${what}`);
    return this.messages[this.cursor++]!;
  }

  /** Sends one request and resolves with the response carrying its id (responses may be unordered). */
  async call(method: string, params?: unknown, id: string | number = `r${Math.random()}`): Promise<Wire> {
    await this.send(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
    return this.responseTo(id);
  }

  async responseTo(id: JsonRpcId): Promise<Wire> {
    return waitFor(() => this.messages.find((m): m is Wire => !Array.isArray(m) && m.id === id), {
      what: `response to ${JSON.stringify(id)}`,
    });
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
