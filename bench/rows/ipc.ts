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
    const daemon = await ctx.idleDaemon();
    const echo = await ctx.echoServer();
    const [ours, baseline] = await alternate([daemon.socketPath, echo.socketPath], ctx.opts.quick ? 2 : 4, {
      open: (socketPath) =>
        Promise.all(Array.from({ length: CLIENTS }, () => SyncClient.connect({ socketPath }))),
      warm: (clients) => pingFor(clients, 1000),
      measure: (clients) => pingFor(clients, 1000),
      close: (clients) => clients.forEach((c) => c.close()),
    });
    const rate = (r: { pings: number; ms: number }[]) =>
      sum(r.map((x) => x.pings)) / (sum(r.map((x) => x.ms)) / 1000);
    return { ours: rate(ours), baseline: rate(baseline), ratio: rate(ours) / rate(baseline) };
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
    const segments = ctx.opts.quick ? 2 : 5;
    const daemon = await ctx.idleDaemon();
    const echo = await ctx.echoServer();
    const [ours, base] = await alternate([daemon.socketPath, echo.socketPath], segments, {
      open: (socketPath) => SyncClient.connect({ socketPath }),
      warm: (client) => roundTrips(client, 1000),
      measure: (client) => roundTrips(client, 1000),
      close: (client) => client.close(),
    }).then(([o, b]): [number[], number[]] => [o.flat(), b.flat()]);
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

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * Warms both servers up, then measures them in turn, `segments` times each: on a shared machine the
 * load changes by the second, and taking turns spreads it over both sides alike.
 */
async function alternate<C, R>(
  socketPaths: [ours: string, baseline: string],
  segments: number,
  how: {
    open(path: string): Promise<C>;
    warm(c: C): Promise<unknown>;
    measure(c: C): Promise<R>;
    close(c: C): void;
  },
): Promise<[ours: R[], baseline: R[]]> {
  const conns: C[] = [];
  try {
    for (const path of socketPaths) conns.push(await how.open(path));
    for (const c of conns) await how.warm(c);
    const [ours, baseline] = [[], []] as [R[], R[]];
    for (let i = 0; i < segments; i++) {
      ours.push(await how.measure(conns[0]!));
      baseline.push(await how.measure(conns[1]!));
    }
    return [ours, baseline];
  } finally {
    for (const c of conns) how.close(c);
  }
}

/**
 * Every client pings, one call at a time, for `ms`; how many answered and over how long. The first
 * thousands of calls to a fresh daemon run several times slower (V8 has not optimised the path
 * yet): `alternate` warms up with one such round first.
 */
async function pingFor(clients: SyncClient[], ms: number): Promise<{ pings: number; ms: number }> {
  let stop = false;
  let pings = 0;
  const t = performance.now();
  const timer = setTimeout(() => (stop = true), ms);
  await Promise.all(
    clients.map(async (client) => {
      while (!stop) {
        await client.ping();
        pings++;
      }
    }),
  );
  clearTimeout(timer);
  return { pings, ms: performance.now() - t };
}

/** `n` sequential pings' round trips, in ms. */
async function roundTrips(client: SyncClient, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await client.ping();
    out.push(performance.now() - t);
  }
  return out;
}
