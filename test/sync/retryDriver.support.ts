// The production connection stack in-process, on a fake clock: SyncManager on a real SQLite cache and
// a real JazzSyncService, connecting by itself with the retry policy exactly as main.ts builds it. Also
// a fault front: a TCP listener that answers every WebSocket upgrade with a chosen HTTP status, or
// forwards the connection to a real relay, and records when (on the fake clock) each one arrived.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, connect, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { WebSocket, type ClientOptions } from "ws";
import { openLocalStores } from "../../src/cache/index.js";
import { DEFAULTS } from "../../src/config/schema.js";
import { JazzSyncService } from "../../src/jazz/JazzSyncService.js";
import { silentLogger } from "../../src/log/logger.js";
import type { NotificationMap } from "../../src/protocol.js";
import { SyncManager } from "../../src/sync/SyncManager.js";
import { FakeClock } from "../helpers/fakeClock.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

export type Health = ReturnType<SyncManager["healthReport"]>;

export interface Stack {
  clock: FakeClock;
  manager: SyncManager;
  /** Fake-clock times at which a WebSocket to the relay was constructed: every attempt, synchronously. */
  sockets: number[];
  /** sync.error notifications, with the fake-clock time they were emitted at. */
  errors: (NotificationMap["sync.error"] & { at: number })[];
  /** The clock time `sync.init` was called at (open()'s account check and attempt 1 start then). */
  t0: number;
  /** sync.init with a random authKey; `join`: as a second device (accountId given). Sets t0. */
  init(opts?: { join?: boolean }): Promise<void>;
  health(): Health;
  close(): Promise<void>;
}

/** The ws WebSocket, counting constructions: each one is a connection attempt (or open()'s account check). */
function countingWebSocket(onConstruct: () => void): typeof WebSocket {
  class CountingWebSocket extends WebSocket {
    constructor(address: string, options?: ClientOptions) {
      super(address, options);
      onConstruct();
    }
  }
  return CountingWebSocket as unknown as typeof WebSocket;
}

/** Builds and starts the stack against `relayUrl`; `init` (default true) runs `sync.init` too. */
export async function startStack(opts: {
  relayUrl: string;
  syncIntervalMs: number;
  random?: () => number;
  clock?: FakeClock;
  init?: boolean;
}): Promise<Stack> {
  const dir = await tempDir("cs-rd-");
  const clock = opts.clock ?? new FakeClock();
  const sockets: number[] = [];
  const config = {
    ...DEFAULTS,
    relay: opts.relayUrl,
    syncIntervalMs: opts.syncIntervalMs,
    cachePath: join(dir.path, "sync.db"),
    credentialsPath: join(dir.path, "sync-credentials.json"),
  };
  const remote = new JazzSyncService({
    relayUrl: opts.relayUrl,
    storagePath: join(dir.path, "jazz.db"),
    logger: silentLogger,
    WebSocket: countingWebSocket(() => sockets.push(clock.now())),
    clock,
  });
  const manager = await SyncManager.open({
    ...openLocalStores(config),
    config,
    clock,
    logger: silentLogger,
    remote,
    random: opts.random ?? (() => 0.5), // jitter factor exactly 1.0
  });
  const errors: Stack["errors"] = [];
  manager.on("error", (e) => errors.push({ ...e, at: clock.now() }));
  const close = async () => {
    await manager.shutdown();
    await dir.cleanup();
  };
  const stack: Stack = {
    clock,
    manager,
    sockets,
    errors,
    t0: clock.now(),
    init: async ({ join = false } = {}) => {
      stack.t0 = clock.now();
      const key = randomBytes(32);
      const accountId = join ? remote.deriveIdentity(new Uint8Array(key)).accountId : undefined;
      await manager.initialize({
        authKey: key.toString("base64"),
        accountId,
        deviceName: "laptop",
        platform: "linux",
      });
    },
    health: () => manager.healthReport(),
    close,
  };
  try {
    await manager.start();
    if (opts.init ?? true) await stack.init();
  } catch (err) {
    await close();
    throw err;
  }
  return stack;
}

/**
 * Advances the clock to 1 ms before `at` (asserting that no attempt starts), then to `at` (exactly
 * one starts, synchronously with the timer), and waits until the manager has handled its outcome:
 * the health's nextRetryAt moves off `at`. Returns the new nextRetryAt.
 */
export async function attemptAt(
  s: Stack,
  at: number,
  opts: { timesOut?: { afterMs: number; arrived: () => boolean } } = {},
): Promise<number | null> {
  const before = s.sockets.length;
  if (at - 1 > s.clock.now()) s.clock.advance(at - 1 - s.clock.now());
  if (s.sockets.length !== before) throw new Error(`an attempt started before ${at - s.t0} ms`);
  s.clock.advance(at - s.clock.now());
  if (s.sockets.length !== before + 1)
    throw new Error(`expected one attempt at ${at - s.t0} ms, saw ${s.sockets.length - before}`);
  // A relay that never answers: once it has the connection (so it stamps the right time), the
  // attempt fails when its connect timeout fires on the clock.
  if (opts.timesOut) {
    await waitFor(opts.timesOut.arrived, { what: `the attempt at +${at - s.t0} ms to reach the relay` });
    s.clock.advance(opts.timesOut.afterMs);
  }
  await waitFor(() => s.health().nextRetryAt !== at, {
    what: `the outcome of the attempt at +${at - s.t0} ms`,
  });
  return s.health().nextRetryAt;
}

/** Waits for the first attempt (started by sync.init) to fail; returns the health then. */
export async function firstFailure(s: Stack) {
  await waitFor(() => s.health().lastError, { what: "the first attempt to fail" });
  return s.health();
}

/** Runs the attempts due at `schedule[i][0]` (offsets from t0) and checks each next retry. */
export async function expectSchedule(s: Stack, schedule: [at: number, next: number | null][]): Promise<void> {
  for (const [at, next] of schedule) {
    const nextRetryAt = await attemptAt(s, s.t0 + at);
    assert.equal(nextRetryAt === null ? null : nextRetryAt - s.t0, next, `next retry after +${at} ms`);
    const h = s.health();
    if (next !== null) assert.equal(h.state, "OFFLINE");
    if (h.state === "OFFLINE") assert.equal(h.lastError?.at, s.t0 + at, "lastError is this attempt's");
  }
}

export type FrontMode =
  | { status: number; headers?: Record<string, string> }
  | { forwardTo: number }
  /** Accepts the connection and never answers. */
  | "silent";

export interface FaultFront {
  url: string;
  /** Fake-clock times of the connections received (one per upgrade attempt). */
  readonly seen: number[];
  mode: FrontMode;
  stop(): Promise<void>;
}

/** A stand-in relay address in front of nothing (status answers) or of a real relay (forwarding). */
export async function startFaultFront(clock: { now(): number }, mode: FrontMode): Promise<FaultFront> {
  const sockets = new Set<Socket>();
  const front = { url: "", seen: [] as number[], mode, stop: () => Promise.resolve() };
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    front.seen.push(clock.now());
    const m = front.mode;
    if (m === "silent") return;
    if ("forwardTo" in m) {
      const upstream = connect(m.forwardTo, "127.0.0.1");
      track(upstream);
      // A dead upstream is a reset connection for the client: a network failure.
      upstream.on("error", () => client.destroy());
      upstream.on("close", () => client.destroy());
      client.on("close", () => upstream.destroy());
      client.pipe(upstream).pipe(client);
      return;
    }
    let head = "";
    client.on("data", (chunk: Buffer) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      const headers = Object.entries({ ...m.headers, "content-length": "0", connection: "close" })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join("");
      client.end(`HTTP/1.1 ${m.status} Front\r\n${headers}\r\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  front.url = `ws://127.0.0.1:${(server.address() as { port: number }).port}`;
  front.stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return front;
}

/** Offsets of `times` from `t0`, for readable sequence assertions. */
export function offsets(times: readonly number[], t0: number): number[] {
  return times.map((t) => t - t0);
}

/** What a test built (stacks, fronts, relays), closed in reverse order by cleanup() after each test. */
export class Fixtures {
  private cleanups: (() => Promise<void>)[] = [];

  add(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  async stack(
    relayUrl: string,
    opts: { syncIntervalMs?: number; clock?: FakeClock; init?: boolean } = {},
  ): Promise<Stack> {
    const s = await startStack({ ...opts, relayUrl, syncIntervalMs: opts.syncIntervalMs ?? 5_000 });
    this.add(() => s.close());
    return s;
  }

  /** A fault front and the stack behind it, sharing one fake clock. */
  async fronted(
    mode: FrontMode,
    opts: { syncIntervalMs?: number; init?: boolean } = {},
  ): Promise<{ f: FaultFront; s: Stack }> {
    const clock = new FakeClock();
    const f = await startFaultFront(clock, mode);
    this.add(() => f.stop());
    return { f, s: await this.stack(f.url, { ...opts, clock }) };
  }

  async cleanup(): Promise<void> {
    const cleanups = this.cleanups.reverse();
    this.cleanups = [];
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}
