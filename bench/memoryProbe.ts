// Can a Jazz node hold a large history without keeping it in memory? A standalone probe (not a row of
// the suite): N entries written into feeds of S entries each ("shards"), then unloaded from the node
// (cojsonAdapter.ts `unloadCoValue`, cojson's unmount) and loaded again from storage, with RSS, V8's
// heap and C's heap (malloc) read after each phase. Every Jazz role is its own process (forked from
// this file) against a relay process, as in the suite.
//
//   node dist/bench/memoryProbe.js [--count 100000] [--shard 5000] [--env MALLOC_ARENA_MAX=2] ...
//
// Phases (each after a full GC, idle):
//   writer   written   all shards written and uploaded, all in memory
//            unloaded  every shard unloaded
//            pass      every shard loaded from storage, read and unloaded again, one at a time
//   reader   kept      a fresh device (empty storage) loading every shard from the relay, keeping them
//            pass      another fresh device doing the same one shard at a time, unloading each
//   restart  pass      the writer's storage reopened offline, every shard read one at a time
// `--env K=V` (repeatable) is set in every child's environment (malloc tunables); `--sqlite
// "cache_size=-500;mmap_size=0"` runs PRAGMAs on Jazz's storage connection in every child.
import { execArgv } from "node:process";
import { mkdtemp, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { fork } from "node:child_process";
import { logger as cojsonLogger, LogLevel, type LocalNode, type RawCoStream } from "cojson";
import { createWebSocketPeer } from "cojson-transport-ws";
import {
  createJazzContextForNewAccount,
  createJazzContextFromExistingCredentials,
  Group,
  MockSessionProvider,
} from "jazz-tools";
import { WebSocket } from "ws";
import {
  appendFeedItems,
  contentOf,
  feedSessionLogs,
  isUploadComplete,
  loadCoValue,
  unloadCoValue,
  untilStreamed,
} from "../src/jazz/cojsonAdapter.js";
import { jazzCrypto } from "../src/jazz/crypto.js";
import { CaroSyncAccount, CommandHistoryFeed } from "../src/jazz/schema.js";
import { openJazzStorage } from "../src/jazz/sqliteDriver.js";
import { startRelayProcess } from "../test/helpers/relay.js";
import { waitFor } from "../test/helpers/wait.js";
import { chunks, commandEntries, feedItem, PUSH_BATCH, readRss, since } from "./support.js";

const { values: args } = parseArgs({
  options: {
    role: { type: "string" },
    relay: { type: "string" },
    dir: { type: "string" },
    count: { type: "string", default: "100000" },
    shard: { type: "string", default: "5000" },
    account: { type: "string" },
    secret: { type: "string" },
    shards: { type: "string" },
    keep: { type: "boolean", default: false },
    env: { type: "string", multiple: true, default: [] },
    sqlite: { type: "string", default: "" },
  },
});
const count = Number(args.count);
const shardSize = Number(args.shard);
cojsonLogger.setLevel(LogLevel.WARN);

/** Memory of this process, in MiB: RSS and its parts, C's heap ([heap] in smaps), V8's heap. */
function memory(): Record<string, number> {
  const rss = readRss(process.pid);
  const smaps = readFileSync("/proc/self/smaps", "utf8");
  const heapBlock = /\[heap\]\n(?:.*\n)*?Rss:\s+(\d+) kB/.exec(smaps);
  const mu = process.memoryUsage();
  const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
  return {
    rss: Math.round(rss.rss),
    anon: Math.round(rss.anon),
    file: Math.round(rss.file),
    cHeap: Math.round(Number(heapBlock?.[1] ?? NaN) / 1024),
    v8Used: mib(mu.heapUsed),
    v8Total: mib(mu.heapTotal),
    external: mib(mu.external),
  };
}

/** A full GC (twice: weak references and finalizers of native objects run in between), then idle. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 200));
  }
}

function send(event: string, fields: Record<string, unknown> = {}): void {
  process.send?.({ event, ...fields });
}

function storage(file: string) {
  const { storage, driver } = openJazzStorage(file);
  for (const pragma of args.sqlite.split(";").filter(Boolean)) driver.run(`PRAGMA ${pragma}`, []);
  return storage;
}

function relayPeer() {
  const websocket = new WebSocket(args.relay!);
  websocket.on("error", () => undefined);
  return createWebSocketPeer({ id: "relay", role: "server", websocket });
}

function itemsOf(node: LocalNode, id: string): number {
  const feed = contentOf<RawCoStream>(node, id);
  let n = 0;
  for (const [, items] of feed ? feedSessionLogs(feed) : []) n += items.length;
  return n;
}

/** Loads each shard, counts its items, unloads it (unless --keep); returns items seen and timings. */
async function readShards(node: LocalNode, ids: string[], skipPeer?: string) {
  const t = performance.now();
  let items = 0;
  let refused = 0;
  let loadMs = 0;
  for (const id of ids) {
    const t1 = performance.now();
    if (!(await loadCoValue(node, id, skipPeer))) throw new Error(`shard ${id} did not load`);
    await untilStreamed(node, id);
    loadMs += since(t1);
    items += itemsOf(node, id);
    if (!args.keep && !unloadCoValue(node, id)) refused++;
    await new Promise((r) => setImmediate(r));
  }
  return { items, refused, readMs: Math.round(since(t)), loadMsPerShard: Math.round(loadMs / ids.length) };
}

async function writer(): Promise<void> {
  const secret = jazzCrypto.newRandomAgentSecret();
  const ctx = await createJazzContextForNewAccount({
    creationProps: { name: "probe" },
    initialAgentSecret: secret,
    peers: [relayPeer()],
    crypto: jazzCrypto,
    storage: storage(join(args.dir!, "writer.jazz.db")),
    AccountSchema: CaroSyncAccount,
    sessionProvider: new MockSessionProvider(),
  });
  const node = ctx.node;
  const group = Group.create({ owner: ctx.account });
  const ids: string[] = [];
  const t = performance.now();
  for (const shard of chunks(commandEntries(count, "probe").map(feedItem), shardSize)) {
    // Only the ID is kept: a jazz-tools CoFeed would keep the core reachable.
    const id = CommandHistoryFeed.create([], { owner: group }).$jazz.id;
    const raw = contentOf<RawCoStream>(node, id)!;
    for (const batch of chunks(shard, PUSH_BATCH)) {
      if (!appendFeedItems(raw, batch)) throw new Error("Jazz refused a batch");
      await new Promise((r) => setImmediate(r));
    }
    ids.push(id);
  }
  await waitFor(() => isUploadComplete(node), { timeoutMs: 600_000, intervalMs: 50, what: "upload" });
  const uploadMs = Math.round(since(t));
  await settle();
  send("phase", { role: "writer", phase: "written", uploadMs, ...memory() });

  let refused = 0;
  for (const id of ids) if (!unloadCoValue(node, id)) refused++;
  await settle();
  send("phase", { role: "writer", phase: "unloaded", refused, ...memory() });

  const pass = await readShards(node, ids);
  await settle();
  send("phase", { role: "writer", phase: "pass", ...pass, ...memory() });
  send("done", { account: ctx.account.$jazz.id, secret, shards: ids.join(",") });
  process.on("message", () => void ctx.logOut().then(() => process.exit(0)));
}

async function login(file: string, peers: ReturnType<typeof relayPeer>[]) {
  return createJazzContextFromExistingCredentials({
    credentials: { accountID: args.account!, secret: args.secret! as never },
    peers,
    crypto: jazzCrypto,
    storage: storage(file),
    AccountSchema: CaroSyncAccount,
    sessionProvider: new MockSessionProvider(),
    asActiveAccount: false,
  });
}

async function reader(): Promise<void> {
  const ctx = await login(join(args.dir!, `reader-${process.pid}.jazz.db`), [relayPeer()]);
  await settle();
  send("phase", { role: "reader", phase: "login", ...memory() });
  const pass = await readShards(ctx.node, args.shards!.split(","));
  await settle();
  send("phase", { role: "reader", phase: args.keep ? "kept" : "pass", ...pass, ...memory() });
  send("done");
}

async function restart(): Promise<void> {
  const ctx = await login(join(args.dir!, "writer.jazz.db"), []);
  const pass = await readShards(ctx.node, args.shards!.split(","), "relay");
  await settle();
  send("phase", { role: "restart", phase: "pass", ...pass, ...memory() });
  send("done");
}

const SELF = fileURLToPath(import.meta.url);

/** Forks this file in `role`; collects its "phase" reports until "done". */
function run(
  role: string,
  extra: string[],
): Promise<{ done: Record<string, unknown>; kill: () => Promise<void> }> {
  const env = { ...process.env };
  for (const kv of args.env) {
    const at = kv.indexOf("=");
    env[kv.slice(0, at)] = kv.slice(at + 1);
  }
  const common = ["--count", String(count), "--shard", String(shardSize), "--sqlite", args.sqlite];
  const child = fork(SELF, ["--role", role, ...common, ...extra], {
    execArgv: [...execArgv, "--expose-gc"],
    env,
    stdio: ["ignore", 2, 2, "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.on("message", (raw) => {
      const msg = raw as Record<string, unknown>;
      if (msg.event === "phase") console.log(JSON.stringify({ ...msg, event: undefined }));
      // kill() resolves once the child has exited (its storage closed).
      const kill = () =>
        new Promise<void>((exited) => {
          if (child.exitCode !== null) return exited();
          child.once("exit", () => exited());
          child.send("exit");
        });
      if (msg.event === "done") resolve({ done: msg, kill });
    });
    child.once("exit", (code) => (code === 0 ? undefined : reject(new Error(`${role} exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "caro-memprobe-"));
  const relay = await startRelayProcess({ dbPath: join(dir, "relay.db") });
  try {
    console.log(
      JSON.stringify({ count, shardSize, env: args.env, sqlite: args.sqlite, node: process.version }),
    );
    const base = ["--relay", relay.url, "--dir", dir];
    const w = await run("writer", base);
    const creds = ["--account", String(w.done.account), "--secret", String(w.done.secret)];
    const shards = ["--shards", String(w.done.shards)];
    await run("reader", [...base, ...creds, ...shards, "--keep"]);
    await run("reader", [...base, ...creds, ...shards]);
    await w.kill();
    await run("restart", [...base, ...creds, ...shards]);
  } finally {
    await relay.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const roles: Record<string, () => Promise<void>> = { writer, reader, restart };
const work = args.role ? roles[args.role] : main;
if (!work) throw new Error(`unknown role ${args.role}`);
work().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
