// The IPC rows, against an idle daemon (never initialised: the socket server and dispatch alone)
// and the bare NDJSON echo server (baselines/echoServer.ts), through the same client (SyncClient).
import { SyncClient } from "../../src/client/SyncClient.js";
import { fmtCount, fmtMs, type Row } from "../row.js";
import { percentile } from "../support.js";

const CLIENTS = 32;
const THROUGHPUT_RATIO = 0.85;
const P99_TARGET = 0.2;

export const pingThroughput: Row = {
  id: "throughput",
  what: `daemon.ping throughput, ${CLIENTS} concurrent clients`,
  target: `≥ ${THROUGHPUT_RATIO}x baseline`,
  baseline: "bare Node NDJSON echo server on a Unix socket",
  uses: ["idleDaemon", "echoServer"],
  async measure(ctx) {
    const durationMs = ctx.opts.quick ? 1500 : 4000;
    const daemon = await ctx.idleDaemon();
    const echo = await ctx.echoServer();
    const ours = await throughput(daemon.socketPath, durationMs);
    const baseline = await throughput(echo.socketPath, durationMs);
    return { ours, baseline, ratio: ours / baseline };
  },
  judge: (m) => ({
    ours: fmtCount(m.ours, "pings/s"),
    baseline: fmtCount(m.baseline, "pings/s"),
    ratio: m.ratio!,
    pass: m.ratio! >= THROUGHPUT_RATIO,
  }),
};

export const roundTrip: Row = {
  id: "roundtrip",
  what: "single-client round trip (daemon.ping)",
  target: `p99 < ${P99_TARGET} ms`,
  baseline: "the same echo server",
  uses: ["idleDaemon", "echoServer"],
  async measure(ctx) {
    const n = ctx.opts.quick ? 1000 : 5000;
    const daemon = await ctx.idleDaemon();
    const echo = await ctx.echoServer();
    const ours = await roundTrips(daemon.socketPath, n);
    const base = await roundTrips(echo.socketPath, n);
    const p99 = percentile(ours, 99);
    const baseP99 = percentile(base, 99);
    return {
      p50: percentile(ours, 50),
      p99,
      baseP50: percentile(base, 50),
      baseP99,
      ratio: p99 / baseP99,
    };
  },
  judge: (m) => ({
    ours: `p50 ${fmtMs(m.p50)}, p99 ${fmtMs(m.p99)}`,
    baseline: `p50 ${fmtMs(m.baseP50)}, p99 ${fmtMs(m.baseP99)}`,
    ratio: m.ratio!,
    pass: m.p99! < P99_TARGET,
  }),
};

/** Pings per second over `durationMs` (after a 300 ms warm-up), each client one call at a time. */
async function throughput(socketPath: string, durationMs: number): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, () => SyncClient.connect({ socketPath })),
  );
  try {
    let counting = false;
    let stop = false;
    let done = 0;
    const loops = clients.map(async (client) => {
      while (!stop) {
        await client.ping();
        if (counting) done++;
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    counting = true;
    const t = performance.now();
    await new Promise((r) => setTimeout(r, durationMs));
    counting = false;
    const elapsed = performance.now() - t;
    stop = true;
    await Promise.all(loops);
    return done / (elapsed / 1000);
  } finally {
    for (const c of clients) c.close();
  }
}

/** `n` sequential pings' round trips in ms, after 200 that warm up. */
async function roundTrips(socketPath: string, n: number): Promise<number[]> {
  const client = await SyncClient.connect({ socketPath });
  try {
    for (let i = 0; i < 200; i++) await client.ping();
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await client.ping();
      out.push(performance.now() - t);
    }
    return out;
  } finally {
    client.close();
  }
}
