// The history at our Jazz layer alone (`npm run bench:jazz`): JazzSyncService, no daemon, no
// cache, no socket. It sits between the raw jazz-tools baseline and the daemon rows of
// `npm run bench` (docs/performance.md), to tell what our Jazz code costs from what the rest does.
// A relay, a writer and a fresh reader, each its own process on loopback:
//   1. writer: opens (creates) the account, appends N commands (~400 B of base64 each), waits until
//      the relay has them all.
//   2. reader: a fresh device (new Jazz storage) opens the same identity and receives all N through
//      onRecords; then it writes probes one by one and the writer measures their live latency.
//   3. writer: restarts from its local Jazz storage without connecting, until all N are visible.
// Options: --count N (default 100000). Prints a table and one JSON line.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { WebSocket } from "ws";
import { JazzSyncService } from "../src/jazz/JazzSyncService.js";
import { silentLogger } from "../src/log/logger.js";
import type { RemoteRecord, RemoteSession } from "../src/sync/remote.js";
import { startRelayProcess } from "../test/helpers/relay.js";
import { tempDir } from "../test/helpers/tmp.js";
import {
  commandEntries,
  commandEntry,
  exitWithParent,
  feedItem,
  forkChild,
  percentile,
  readRss,
  report,
  since,
  type ChildMessage,
} from "./support.js";

const PROBES = 20;
const { values: args } = parseArgs({
  options: {
    role: { type: "string" },
    relay: { type: "string" },
    dir: { type: "string" },
    key: { type: "string" },
    count: { type: "string", default: "100000" },
  },
});
const count = Number(args.count);
const peakMiB = () => Math.round(readRss(process.pid).peak);
const record = (deviceId: string): RemoteRecord => ({
  type: "command",
  ...feedItem(commandEntry(deviceId, Date.now())),
});

function service(name: string): JazzSyncService {
  return new JazzSyncService({
    relayUrl: args.relay!,
    storagePath: join(args.dir!, `${name}.jazz.db`),
    logger: silentLogger,
    WebSocket,
    loadTimeoutMs: 60_000,
  });
}

/** Resolves once `target` distinct commands were delivered; `onRecord` sees every record. */
function commandCount(
  session: RemoteSession,
  target: number,
  onRecord?: (r: RemoteRecord) => void,
): Promise<void> {
  const ids = new Set<string>();
  return new Promise((resolve) => {
    const off = session.onRecords((records) => {
      for (const r of records) {
        if (r.type === "command") ids.add(r.id);
        onRecord?.(r);
      }
      if (ids.size >= target) {
        off();
        resolve();
      }
    });
  });
}

async function writer(): Promise<void> {
  const svc = service("writer");
  const identity = svc.deriveIdentity(Buffer.from(args.key!, "hex"));
  let t = performance.now();
  const session = await svc.open({ identity, mode: "create" });
  await session.connect();
  const openMs = since(t);
  const records = commandEntries(count, "bench-writer").map((e): RemoteRecord => ({
    type: "command",
    ...feedItem(e),
  }));
  t = performance.now();
  await session.write(records);
  const appendMs = since(t);
  await session.waitForUpload(600_000);
  void report("uploaded", { openMs, appendMs, uploadMs: since(t), peakMiB: peakMiB() });

  const latencies: number[] = [];
  await commandCount(session, count + PROBES, (r) => {
    if (r.type === "command" && r.deviceId === "bench-probe") latencies.push(Date.now() - r.createdAt);
  });
  void report("live", { medianMs: percentile(latencies, 50), maxMs: percentile(latencies, 100) });
  await session.close();

  // Restart from local storage only (never connects).
  t = performance.now();
  const again = await service("writer").open({ identity, mode: "join" });
  const loginMs = since(t);
  await commandCount(again, count + PROBES);
  await report("restart", { loginMs, allVisibleMs: since(t), peakMiB: peakMiB() });
  await again.close();
}

async function reader(): Promise<void> {
  const svc = service("reader");
  const identity = svc.deriveIdentity(Buffer.from(args.key!, "hex"));
  const t = performance.now();
  const session = await svc.open({ identity, mode: "join" });
  const openMs = since(t);
  await commandCount(session, count);
  void report("visible", { openMs, allVisibleMs: since(t), peakMiB: peakMiB() });
  for (let i = 0; i < PROBES; i++) {
    await session.write([record("bench-probe")]);
    await session.waitForUpload(10_000);
  }
  await session.close();
}

async function main(): Promise<void> {
  const dir = await tempDir("cs-bench-");
  const relay = await startRelayProcess({ dbPath: join(dir.path, "relay.db") });
  try {
    const key = randomBytes(32).toString("hex");
    const common = ["--relay", relay.url, "--dir", dir.path, "--key", key, "--count", String(count)];
    const self = fileURLToPath(import.meta.url);
    const w = forkChild(self, ["--role", "writer", ...common], "writer");
    const uploaded = await w.next("uploaded");
    const r = forkChild(self, ["--role", "reader", ...common], "reader");
    const visible = await r.next("visible");
    const live = await w.next("live");
    const restart = await w.next("restart");
    await Promise.all([w.done, r.done]);
    const relayPeakMiB = Math.round(readRss(relay.child.pid!).peak);
    const ms = (m: ChildMessage, key: string) => `${Math.round(Number(m[key]))} ms`;
    const rows: [string, string][] = [
      ["entries", String(count)],
      ["writer: open (create) + connect", ms(uploaded, "openMs")],
      ["writer: append locally", ms(uploaded, "appendMs")],
      ["writer: append + upload confirmed", ms(uploaded, "uploadMs")],
      ["fresh device: login", ms(visible, "openMs")],
      ["fresh device: login + all visible", ms(visible, "allVisibleMs")],
      [`live latency (median / max of ${PROBES})`, `${ms(live, "medianMs")} / ${ms(live, "maxMs")}`],
      ["restart offline: login / all visible", `${ms(restart, "loginMs")} / ${ms(restart, "allVisibleMs")}`],
      [
        "peak RSS writer / reader / relay",
        `${String(uploaded.peakMiB)} / ${String(visible.peakMiB)} / ${relayPeakMiB} MiB`,
      ],
    ];
    for (const [k, v] of rows) console.log(`${k.padEnd(40)} ${v}`);
    console.log(JSON.stringify({ count, uploaded, visible, live, restart, relayPeakMiB }));
  } finally {
    await relay.kill();
    await dir.cleanup();
  }
}

const roles: Record<string, () => Promise<void>> = { writer, reader };
if (args.role) exitWithParent();
const role = args.role ? roles[args.role] : main;
if (!role) throw new Error(`unknown role ${args.role}`);
role().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
