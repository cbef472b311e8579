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
import { waitFor } from "../../test/helpers/wait.js";
import { chunks, commandEntries, daemonNodeOptions, homeWithConfig, PUSH_BATCH, since } from "../support.js";

export interface DaemonHistory {
  readonly count: number;
  /** Pushing the N entries (network sync paused, ack local). */
  readonly pushMs: number;
  /** resume → the relay has confirmed all N. */
  readonly uploadMs: number;
  /** B's spawn → init → all N pullable from B's cache. */
  readonly freshMs: number;
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
    let t = performance.now();
    for (const batch of chunks(entries, PUSH_BATCH)) {
      const pushed = await clientA.push({ entries: batch });
      if (pushed.synced !== batch.length) throw new Error(`push refused entries: ${JSON.stringify(pushed)}`);
    }
    const pushMs = since(t);

    t = performance.now();
    await clientA.resume();
    await waitFor(async () => (await clientA.health()).queue.pending === 0, {
      timeoutMs: 600_000,
      intervalMs: 50,
      what: "the relay to confirm the backlog",
    });
    const uploadMs = since(t);

    t = performance.now();
    const daemonB = await spawnDaemon({ home: await homeWithConfig(dir, "b"), env });
    const slotB: { daemon: DaemonProcess; client?: SyncClient } = { daemon: daemonB };
    opened.push(slotB);
    const clientB = (slotB.client = await daemonB.client());
    const joined = await clientB.init({
      authKey,
      accountId: init.accountId,
      deviceName: "bench-b",
      platform: "linux",
    });
    await waitFor(async () => (await clientB.health()).cache.entries >= count, {
      timeoutMs: 600_000,
      intervalMs: 50,
      what: "the fresh device to receive the history",
    });
    const pulled = await pullEverything(clientB, { types: ["command"] });
    const freshMs = since(t);
    if (pulled.entries.length !== count)
      throw new Error(`the fresh device can pull ${pulled.entries.length} of ${count}`);

    return {
      count,
      pushMs,
      uploadMs,
      freshMs,
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
