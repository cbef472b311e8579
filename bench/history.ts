// Large-history benchmark (`npm run bench:history`): a relay, a writer and a fresh reader, each its
// own process on loopback, as three machines would be.
//   1. writer: opens (creates) the account, appends N commands (~400 B of base64 each), waits until
//      the relay has them all.
//   2. reader: a fresh device (new Jazz storage) opens the same identity and receives all N through
//      onRecords; then it writes probes one by one and the writer measures their live latency.
//   3. writer: restarts from its local Jazz storage without connecting, until all N are visible.
// Options: --count N (default 100000). Prints a summary table and one JSON line.
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { WebSocket } from "ws";
import { JazzSyncService } from "../src/jazz/JazzSyncService.js";
import { silentLogger } from "../src/log/logger.js";
import type { RemoteRecord, RemoteSession } from "../src/sync/remote.js";
import { startRelayProcess } from "../test/helpers/relay.js";
import { tempDir } from "../test/helpers/tmp.js";

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
const emit = (msg: object) => process.stdout.write(`${JSON.stringify(msg)}\n`);
const maxRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);
const since = (t: number) => Math.round(performance.now() - t);

function service(name: string): JazzSyncService {
  return new JazzSyncService({
    relayUrl: args.relay!,
    storagePath: join(args.dir!, `${name}.jazz.db`),
    logger: silentLogger,
    WebSocket,
    loadTimeoutMs: 60_000,
  });
}

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
  const records: RemoteRecord[] = Array.from({ length: count }, (_, i) => ({
    type: "command",
    id: randomUUID(),
    deviceId: "bench-writer",
    encryptedPayload: randomBytes(300).toString("base64"),
    safetyLevel: "safe",
    executed: i % 2 === 0,
    createdAt: Date.now(),
  }));
  t = performance.now();
  await session.write(records);
  const appendMs = since(t);
  await session.waitForUpload(600_000);
  emit({ event: "uploaded", openMs, appendMs, uploadMs: since(t), maxRssMb: maxRssMb() });

  const latencies: number[] = [];
  await new Promise<void>((resolve) => {
    const off = session.onRecords((batch) => {
      for (const r of batch)
        if (r.type === "command" && r.deviceId === "bench-probe") latencies.push(Date.now() - r.createdAt);
      if (latencies.length >= PROBES) {
        off();
        resolve();
      }
    });
  });
  latencies.sort((a, b) => a - b);
  emit({ event: "live", medianMs: latencies[latencies.length >> 1], maxMs: latencies.at(-1) });
  await session.close();

  // Restart from local storage only (never connects).
  t = performance.now();
  const again = await service("writer").open({ identity, mode: "join" });
  const loginMs = since(t);
  await commandCount(again, count + PROBES);
  emit({ event: "restart", loginMs, allVisibleMs: since(t), maxRssMb: maxRssMb() });
  await again.close();
}

async function reader(): Promise<void> {
  const svc = service("reader");
  const identity = svc.deriveIdentity(Buffer.from(args.key!, "hex"));
  const t = performance.now();
  const session = await svc.open({ identity, mode: "join" });
  const openMs = since(t);
  await commandCount(session, count);
  emit({ event: "visible", openMs, allVisibleMs: since(t), maxRssMb: maxRssMb() });
  for (let i = 0; i < PROBES; i++) {
    const probe: RemoteRecord = {
      type: "command",
      id: randomUUID(),
      deviceId: "bench-probe",
      encryptedPayload: randomBytes(300).toString("base64"),
      safetyLevel: "safe",
      executed: false,
      createdAt: Date.now(),
    };
    await session.write([probe]);
    await session.waitForUpload(10_000);
  }
  await session.close();
}

type Msg = Record<string, number | string | undefined> & { event: string };

function run(role: string, extra: string[]): { next: (event: string) => Promise<Msg>; done: Promise<void> } {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--role", role, ...extra], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const seen = new Map<string, Msg>();
  const waiting = new Map<string, { resolve: (m: Msg) => void; reject: (e: Error) => void }>();
  let exited = false;
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (!line.startsWith("{")) return;
    const msg = JSON.parse(line) as Msg;
    seen.set(msg.event, msg);
    waiting.get(msg.event)?.resolve(msg);
  });
  const done = new Promise<void>((resolve, reject) =>
    child.once("exit", (code) => {
      exited = true;
      for (const [event, w] of waiting) w.reject(new Error(`${role} ended without ${event}`));
      if (code === 0) resolve();
      else reject(new Error(`${role} exited with ${code}`));
    }),
  );
  done.catch(() => undefined);
  const next = (event: string): Promise<Msg> => {
    const msg = seen.get(event);
    if (msg) return Promise.resolve(msg);
    if (exited) return Promise.reject(new Error(`${role} ended without ${event}`));
    return new Promise((resolve, reject) => waiting.set(event, { resolve, reject }));
  };
  return { next, done };
}

function peakRssMb(pid: number | undefined): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /VmHWM:\s+(\d+)/.exec(status)?.[1];
    return kb ? Math.round(Number(kb) / 1024) : null;
  } catch {
    return null; // not Linux
  }
}

async function main(): Promise<void> {
  const dir = await tempDir("cs-bench-");
  const relay = await startRelayProcess({ dbPath: join(dir.path, "relay.db") });
  try {
    const common = [
      "--relay",
      relay.url,
      "--dir",
      dir.path,
      "--key",
      randomBytes(32).toString("hex"),
      "--count",
      String(count),
    ];
    const w = run("writer", common);
    const uploaded = await w.next("uploaded");
    const r = run("reader", common);
    const visible = await r.next("visible");
    const live = await w.next("live");
    const restart = await w.next("restart");
    await Promise.all([w.done, r.done]);
    const relayRssMb = peakRssMb(relay.child.pid);
    const rows: [string, string][] = [
      ["entries", String(count)],
      ["writer: open (create) + connect", `${uploaded.openMs} ms`],
      ["writer: append locally", `${uploaded.appendMs} ms`],
      ["writer: append + upload confirmed", `${uploaded.uploadMs} ms`],
      ["fresh device: login", `${visible.openMs} ms`],
      ["fresh device: login + all visible", `${visible.allVisibleMs} ms`],
      ["live latency (median / max of 20)", `${live.medianMs} / ${live.maxMs} ms`],
      ["restart offline: login / all visible", `${restart.loginMs} / ${restart.allVisibleMs} ms`],
      [
        "peak RSS writer / reader / relay",
        `${uploaded.maxRssMb} / ${visible.maxRssMb} / ${relayRssMb ?? "?"} MB`,
      ],
    ];
    for (const [k, v] of rows) console.log(`${k.padEnd(40)} ${v}`);
    console.log(JSON.stringify({ count, uploaded, visible, live, restart, relayRssMb }));
  } finally {
    await relay.kill();
    await dir.cleanup();
  }
}

const roles: Record<string, () => Promise<void>> = { writer, reader };
const role = args.role ? roles[args.role] : main;
if (!role) throw new Error(`unknown role ${args.role}`);
role().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
