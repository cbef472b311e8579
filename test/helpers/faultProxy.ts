// A daemon's network path to the relay: a TCP proxy on 127.0.0.1 that forwards byte for byte until
// told to misbehave. `cut()` resets every connection and refuses new ones (a lost network);
// `setFaults` makes each chunk it forwards, in either direction, risk one fault:
//  - delay:    the chunk waits up to `maxDelayMs` (order is kept: later chunks wait behind it);
//  - drop:     the connection goes silent both ways from this chunk on, with no FIN and no RST (a
//              lost route: only a peer's own timeout notices);
//  - truncate: a random prefix of the chunk goes through (cutting a WebSocket frame), then both
//              sides get a FIN;
//  - reset:    a random prefix goes through, then both sides get an RST.
// The dice are seeded, so a run can be replayed with the same seed.
import { connect, createServer, type Socket } from "node:net";
import { Dice, mulberry32 } from "./fuzzValues.js";
import type { TestRelay } from "./relay.js";

export interface Faults {
  /** Per chunk, checked in this order (at most one fault a chunk). */
  reset?: number;
  truncate?: number;
  drop?: number;
  delay?: number;
  /** Longest delay of a delayed chunk (default 200 ms). */
  maxDelayMs?: number;
}

export interface FaultStats {
  connections: number;
  chunks: number;
  delayed: number;
  dropped: number;
  truncated: number;
  reset: number;
}

export interface FaultProxy extends TestRelay {
  /** Resets every open connection and every new one until `restore()`. */
  cut(): void;
  restore(): void;
  /** Replaces the fault probabilities (`{}`: forward faithfully). */
  setFaults(faults: Faults): void;
  /** Faults injected so far (each counts one chunk or one connection). */
  stats(): FaultStats;
  /** Connections open now. */
  openConnections(): number;
}

export async function startFaultProxy(targetPort: number, opts: { seed?: number } = {}): Promise<FaultProxy> {
  const dice = new Dice(mulberry32(opts.seed ?? Math.floor(Math.random() * 2 ** 31)));
  const pairs = new Set<Pair>();
  const stats: FaultStats = { connections: 0, chunks: 0, delayed: 0, dropped: 0, truncated: 0, reset: 0 };
  let faults: Faults = {};
  let up = true;

  const server = createServer((client) => {
    client.on("error", () => undefined);
    if (!up) return void client.resetAndDestroy();
    stats.connections++;
    const upstream = connect(targetPort, "127.0.0.1");
    upstream.on("error", () => undefined);
    const pair = new Pair(client, upstream, (to, chunk) => forward(pair, to, chunk));
    pairs.add(pair);
    pair.onClose(() => pairs.delete(pair));
  });

  function forward(pair: Pair, to: Socket, chunk: Buffer): void {
    stats.chunks++;
    const cutAt = chunk.length > 1 ? 1 + dice.int(chunk.length - 1) : chunk.length;
    if (dice.chance(faults.reset ?? 0)) {
      stats.reset++;
      pair.send(to, chunk.subarray(0, cutAt), () => pair.reset());
    } else if (dice.chance(faults.truncate ?? 0)) {
      stats.truncated++;
      pair.send(to, chunk.subarray(0, cutAt), () => pair.end());
    } else if (dice.chance(faults.drop ?? 0)) {
      stats.dropped++;
      pair.silence();
    } else if (dice.chance(faults.delay ?? 0)) {
      stats.delayed++;
      pair.send(to, chunk, undefined, 1 + dice.int(faults.maxDelayMs ?? 200));
    } else {
      pair.send(to, chunk);
    }
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    cut: () => {
      up = false;
      for (const p of pairs) p.reset();
    },
    restore: () => (up = true),
    setFaults: (next) => (faults = { ...next }),
    stats: () => ({ ...stats }),
    openConnections: () => pairs.size,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const p of pairs) p.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One proxied connection: both sockets, with per-direction ordering for delayed chunks. */
class Pair {
  private silent = false;
  private closed = false;
  private readonly listeners: (() => void)[] = [];
  /** Per destination socket: when its last scheduled chunk goes out (keeps delayed chunks in order). */
  private readonly busyUntil = new Map<Socket, number>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    onChunk: (to: Socket, chunk: Buffer) => void,
  ) {
    client.on("data", (chunk: Buffer) => this.silent || onChunk(upstream, chunk));
    upstream.on("data", (chunk: Buffer) => this.silent || onChunk(client, chunk));
    // A FIN from one side is passed on once what was sent before it has gone out.
    client.on("end", () => this.after(upstream, () => upstream.end()));
    upstream.on("end", () => this.after(client, () => client.end()));
    for (const s of [client, upstream]) s.on("close", () => this.destroy());
  }

  onClose(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Writes `chunk` to `to` after `delayMs` (and after every chunk scheduled for `to` before it). */
  send(to: Socket, chunk: Buffer, then?: () => void, delayMs = 0): void {
    const now = Date.now();
    const at = Math.max(now + delayMs, this.busyUntil.get(to) ?? 0);
    this.busyUntil.set(to, at);
    const go = () => {
      if (this.closed || this.silent) return;
      to.write(chunk);
      then?.();
    };
    if (at <= now) go();
    else this.later(at - now, go);
  }

  silence(): void {
    this.silent = true;
  }

  end(): void {
    this.client.end();
    this.upstream.end();
  }

  reset(): void {
    if (this.closed) return;
    this.client.resetAndDestroy();
    this.upstream.resetAndDestroy();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.client.destroy();
    this.upstream.destroy();
    for (const l of this.listeners) l();
  }

  private after(to: Socket, fn: () => void): void {
    const wait = (this.busyUntil.get(to) ?? 0) - Date.now();
    if (wait <= 0) fn();
    else this.later(wait, () => this.closed || this.silent || fn());
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}
