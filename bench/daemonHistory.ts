// Daemon-level history benchmark (`npm run bench:history`): real processes on loopback, as a user
// would run them: a relay (`--db`), daemon A (first device) and daemon B (a fresh device).
//   1. A: init, pause network sync, push N commands (~400 B of base64 each) through the socket
//      (ack local): a backlog, as after a long time offline.
//   2. A: resume; wait until the relay has confirmed them all (daemon.health queue.pending === 0).
//   3. B: fresh HOME, init joining the same account; wait until all N are pullable from B's cache
//      (paged sync.pull), and read B's RSS.
// The baseline, measured in the same run, is step 1: the same entries committed to the local cache
// only. The ratios say what the relay round trip costs on top of the local write.
// Options: --count N (default 100000). Prints a table and one JSON line.
// BENCH_DAEMON_NODE_OPTIONS is passed to the daemons as NODE_OPTIONS (profiling).
import { randomBytes, randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pushInBatches } from "../src/client/pushInBatches.js";
import type { SyncClient } from "../src/client/SyncClient.js";
import { pullEverything, spawnDaemon, type DaemonProcess } from "../test/helpers/daemon.js";
import { startRelayProcess } from "../test/helpers/relay.js";
import { tempDir } from "../test/helpers/tmp.js";
import { waitFor } from "../test/helpers/wait.js";

const { values: args } = parseArgs({ options: { count: { type: "string", default: "100000" } } });
const count = Number(args.count);
const since = (t: number) => Math.round(performance.now() - t);

/** RSS and peak RSS of a process, in MiB (Linux /proc). */
async function rssMb(pid: number): Promise<{ rss: number; peak: number }> {
  const { readFile } = await import("node:fs/promises");
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: Math.round(kb("VmRSS") / 1024), peak: Math.round(kb("VmHWM") / 1024) };
}

async function homeWithConfig(root: string, name: string): Promise<string> {
  const home = join(root, name);
  await mkdir(join(home, ".config", "cmdai"), { recursive: true });
  // The local rate limit protects the daemon from runaway clients; a bulk import is not one.
  const config = { pushRatePerSecond: 1_000_000, pushBurst: 1_000_000, syncIntervalMs: 1000 };
  await writeFile(join(home, ".config", "cmdai", "sync-daemon.json"), JSON.stringify(config));
  return home;
}

async function main(): Promise<void> {
  const dir = await tempDir("csb-");
  const relay = await startRelayProcess({ dbPath: join(dir.path, "relay.db") });
  const daemons: DaemonProcess[] = [];
  const clients: SyncClient[] = [];
  try {
    const env = {
      CARO_SYNC_RELAY: relay.url,
      CARO_SYNC_LOG_LEVEL: "warn",
      // e.g. BENCH_DAEMON_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles both daemons.
      NODE_OPTIONS: process.env.BENCH_DAEMON_NODE_OPTIONS,
    };
    const a = await spawnDaemon({ home: await homeWithConfig(dir.path, "a"), env });
    daemons.push(a);
    const clientA = await a.client();
    clients.push(clientA);
    const authKey = randomBytes(32).toString("base64");
    const init = await clientA.init({ authKey, deviceName: "bench-a", platform: "linux" });
    await waitFor(async () => (await clientA.status()).state === "ONLINE", {
      timeoutMs: 30_000,
      what: "A online",
    });

    const deviceId = init.deviceId;
    const now = Date.now();
    const entries = Array.from({ length: count }, (_, i) => ({
      id: randomUUID(),
      type: "command" as const,
      encrypted: Buffer.concat([Buffer.from([1]), randomBytes(299)]).toString("base64"),
      metadata: { deviceId, createdAt: now - (count - i), safetyLevel: "safe" },
    }));

    await clientA.pause();
    const t0 = performance.now();
    const pushed = await pushInBatches(clientA, entries);
    const localMs = since(t0);
    if (pushed.synced !== count) throw new Error(`only ${pushed.synced} of ${count} were accepted`);

    const tUpload = performance.now();
    await clientA.resume();
    await waitFor(async () => (await clientA.health()).queue.pending === 0, {
      timeoutMs: 600_000,
      intervalMs: 200,
      what: "the relay to confirm the backlog",
    });
    const uploadMs = since(tUpload);
    const rssA = await rssMb(a.child.pid!);

    const t1 = performance.now();
    const b = await spawnDaemon({ home: await homeWithConfig(dir.path, "b"), env });
    daemons.push(b);
    const clientB = await b.client();
    clients.push(clientB);
    await clientB.init({ authKey, accountId: init.accountId, deviceName: "bench-b", platform: "linux" });
    await waitFor(async () => (await clientB.health()).cache.entries >= count, {
      timeoutMs: 600_000,
      intervalMs: 200,
      what: "the fresh device to receive the history",
    });
    const pullable = (await pullEverything(clientB, { types: ["command"] })).entries.length;
    const freshMs = since(t1);
    if (pullable !== count) throw new Error(`the fresh device can pull ${pullable} of ${count}`);
    const rssB = await rssMb(b.child.pid!);

    const rows: [string, string][] = [
      ["entries", String(count)],
      ["baseline: push, committed locally (ack local)", `${localMs} ms`],
      [
        "backlog uploaded (resume → queue empty)",
        `${uploadMs} ms (${(uploadMs / localMs).toFixed(2)}x baseline)`,
      ],
      [
        "fresh device: start + init + all pullable",
        `${freshMs} ms (${(freshMs / localMs).toFixed(2)}x baseline)`,
      ],
      ["daemon A RSS / peak", `${rssA.rss} / ${rssA.peak} MiB`],
      ["fresh daemon B RSS / peak", `${rssB.rss} / ${rssB.peak} MiB`],
    ];
    for (const [k, v] of rows) console.log(`${k.padEnd(48)} ${v}`);
    console.log(
      JSON.stringify({ count, localMs, uploadMs, freshMs, rssA, rssB, uploadRatio: uploadMs / localMs }),
    );
  } finally {
    for (const c of clients) c.close();
    await Promise.all(daemons.map((d) => d.stop()));
    await relay.stop();
    await dir.cleanup();
  }
}

await main();
