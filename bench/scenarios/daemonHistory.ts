// The product as users run it, on loopback: a relay process (`--db`), daemon A (the first device)
// and daemon B (a fresh device), each its own process, driven over their sockets.
//   1. A: init, pause network sync, push N commands (~400 B of base64 each) through the socket,
//      1,000 per sync.push, ack local: a backlog, as after a long time offline.
//   2. A: resume; timed until the relay has confirmed them all (daemon.health queue.pending === 0).
//   3. B: fresh HOME, timed from its spawn through init (joining the account) until all N are
//      pullable from its own cache (paged sync.pull).
// Both daemons stay up afterwards (live latency, idle memory) until close().
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { SyncClient } from "../../src/client/SyncClient.js";
import { pullEverything, spawnDaemon, type DaemonProcess } from "../../test/helpers/daemon.js";
import { startRelayProcess, type RelayProcess } from "../../test/helpers/relay.js";
import {
  chunks,
  commandEntries,
  daemonNodeOptions,
  homeWithConfig,
  PUSH_BATCH,
  since,
  waitIdle,
} from "../support.js";

export interface DaemonHistory {
  readonly count: number;
  /** Pushing the N entries (network sync paused, ack local). */
  readonly pushMs: number;
  /** resume → the relay has confirmed all N. */
  readonly uploadMs: number;
  /** B's spawn → init → all N pullable from B's cache. */
  readonly freshMs: number;
  /** The slowest daemon.ping answer (one every 100 ms) from A during the upload, from B while joining. */
  readonly uploadMaxPingMs: number;
  readonly freshMaxPingMs: number;
  readonly relay: RelayProcess;
  readonly a: Device;
  readonly b: Device;
  close(): Promise<void>;
}

export interface Device {
  readonly daemon: DaemonProcess;
  readonly client: SyncClient;
  readonly deviceId: string;
  /** The last cursor this benchmark has pulled up to (B: after the history). */
  cursor: number | null;
}

export interface DaemonHistoryOptions {
  count: number;
  /** A directory of its own (relay database, the two HOMEs); the caller removes it. */
  dir: string;
  /** Extra NODE_OPTIONS for both daemons (a heap-snapshot signal, say). */
  nodeOptions?: string[];
}

/**
 * Resolves once `check` holds, asking after each `event` notification from the daemon (and at
 * least once a second). Polling daemon.health instead would cost the daemon a scan of its queue
 * or cache each time, and with it the figure being measured.
 */
async function checkOnEvents(
  client: SyncClient,
  event: "sync.complete" | "sync.entries",
  check: () => Promise<boolean>,
): Promise<void> {
  let wake = (): void => undefined;
  const off = client.on(event, () => wake());
  const deadline = Date.now() + 600_000;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const woken = new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, 1000);
      });
      try {
        if (await check()) return;
        if (Date.now() > deadline) throw new Error(`timed out waiting after ${event}`);
        await woken;
      } finally {
        clearTimeout(timer);
      }
    }
  } finally {
    off();
  }
}

/**
 * Pings the daemon every 100 ms on a connection of its own until stopped; resolves with the
 * slowest answer: how long the daemon's event loop went without answering a client.
 */
async function watchPings(daemon: DaemonProcess): Promise<{ stop(): Promise<number> }> {
  const client = await daemon.client();
  let stopped = false;
  let slowest = 0;
  const loop = (async () => {
    while (!stopped) {
      const t = performance.now();
      await client.ping({ timeoutMs: 600_000 });
      slowest = Math.max(slowest, since(t));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  // A daemon stopped on the way out (a failed run) ends the loop with an error: stop() reports it.
  loop.catch(() => undefined);
  return {
    async stop() {
      stopped = true;
      try {
        await loop;
      } finally {
        client.close();
      }
      return slowest;
    },
  };
}

/** daemon.health while a daemon is busy syncing: its loop may stall longer than a request's 30 s. */
const HEALTH_WAIT = { timeoutMs: 600_000 };

export async function runDaemonHistory(opts: DaemonHistoryOptions): Promise<DaemonHistory> {
  const { count, dir } = opts;
  const relay = await startRelayProcess({ dbPath: join(dir, "relay.db") });
  const opened: { daemon: DaemonProcess; client?: SyncClient }[] = [];
  const close = async () => {
    for (const o of opened) o.client?.close();
    await Promise.all(opened.map((o) => o.daemon.stop()));
    await relay.stop();
  };
  try {
    const env = {
      CARO_SYNC_RELAY: relay.url,
      CARO_SYNC_LOG_LEVEL: "warn",
      ...daemonNodeOptions(opts.nodeOptions),
    };
    const daemonA = await spawnDaemon({ home: await homeWithConfig(dir, "a"), env });
    const slotA: { daemon: DaemonProcess; client?: SyncClient } = { daemon: daemonA };
    opened.push(slotA);
    const clientA = (slotA.client = await daemonA.client());
    const authKey = randomBytes(32).toString("base64");
    const init = await clientA.init({ authKey, deviceName: "bench-a", platform: "linux" });
    await daemonA.waitForState("ONLINE");

    const entries = commandEntries(count, init.deviceId);
    await clientA.pause();
    // The account's creation (root, device record, first upload) must not run into the timing.
    await waitIdle([daemonA.child.pid!], { windowMs: 500, budgetMs: 25 });
    let t = performance.now();
    for (const batch of chunks(entries, PUSH_BATCH)) {
      const pushed = await clientA.push({ entries: batch });
      if (pushed.synced !== batch.length) throw new Error(`push refused entries: ${JSON.stringify(pushed)}`);
    }
    const pushMs = since(t);

    await clientA.subscribe({ events: ["sync.complete"] });
    const pingsA = await watchPings(daemonA);
    t = performance.now();
    await clientA.resume();
    await checkOnEvents(
      clientA,
      "sync.complete",
      async () => (await clientA.health(HEALTH_WAIT)).queue.pending === 0,
    );
    const uploadMs = since(t);
    const uploadMaxPingMs = await pingsA.stop();

    t = performance.now();
    const daemonB = await spawnDaemon({ home: await homeWithConfig(dir, "b"), env });
    const slotB: { daemon: DaemonProcess; client?: SyncClient } = { daemon: daemonB };
    opened.push(slotB);
    const clientB = (slotB.client = await daemonB.client());
    const pingsB = await watchPings(daemonB);
    await clientB.subscribe({ events: ["sync.entries"] });
    const joined = await clientB.init({
      authKey,
      accountId: init.accountId,
      deviceName: "bench-b",
      platform: "linux",
    });
    await checkOnEvents(
      clientB,
      "sync.entries",
      async () => (await clientB.health(HEALTH_WAIT)).cache.entries >= count,
    );
    const pulled = await pullEverything(clientB, { types: ["command"] });
    const freshMs = since(t);
    const freshMaxPingMs = await pingsB.stop();
    if (pulled.entries.length !== count)
      throw new Error(`the fresh device can pull ${pulled.entries.length} of ${count}`);

    return {
      count,
      pushMs,
      uploadMs,
      freshMs,
      uploadMaxPingMs,
      freshMaxPingMs,
      relay,
      a: { daemon: daemonA, client: clientA, deviceId: init.deviceId, cursor: null },
      b: { daemon: daemonB, client: clientB, deviceId: joined.deviceId, cursor: pulled.cursor },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
