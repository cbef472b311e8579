// The raw jazz-tools baseline: a writer and a reader, each its own process (forked by
// scenarios/jazzHistory.ts, talking over IPC), with the daemon's schema (CaroSyncAccount) and
// Jazz's own SQLite storage as the daemon has, against a relay process of the same kind. No
// daemon, no cache, no socket: what Jazz alone costs for the same feed.
//
// writer: creates an account and its root (jazz-tools' public API), reports "ready"; on "write"
//   appends the N items 1,000 per transaction, as the daemon does (jazz-tools' `push` makes one
//   transaction per item, which cannot carry 100k: docs/jazz.md), then waits for
//   `waitForAllCoValuesSync` and reports "uploaded"; on "probe" pushes one item (`$jazz.push`).
// reader: a fresh device: `startWorker` with the writer's credentials and empty storage, loads the
//   account's root and feed, reports "loaded" once all N items are there, then "seen" for each
//   item that arrives later (the live probes).
// Items are counted through the raw views the daemon itself reads (jazz/cojsonAdapter.ts), so the
// baseline pays no typed-view walk of the whole feed.
import { join } from "node:path";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { parseArgs } from "node:util";
import { logger as cojsonLogger, LogLevel, type RawCoStream } from "cojson";
import { createWebSocketPeer } from "cojson-transport-ws";
import {
  createJazzContextForNewAccount,
  Group,
  MockSessionProvider,
  setDefaultValidationMode,
} from "jazz-tools";
import { startWorker } from "jazz-tools/worker";
import { WebSocket } from "ws";
import {
  appendFeedItems,
  contentOf,
  feedSessionLogs,
  subscribeToCoValue,
} from "../../src/jazz/cojsonAdapter.js";
import { jazzCrypto } from "../../src/jazz/crypto.js";
import { CaroSyncAccount, CaroSyncRoot, ROOT_SCHEMA_VERSION } from "../../src/jazz/schema.js";
import { openJazzStorage } from "../../src/jazz/sqliteDriver.js";
import {
  chunks,
  commandEntries,
  commandEntry,
  exitWithParent,
  feedItem,
  onParentMessage,
  PUSH_BATCH,
  readRss,
  report,
} from "../support.js";

const { values: args } = parseArgs({
  options: {
    role: { type: "string" },
    relay: { type: "string" },
    dir: { type: "string" },
    count: { type: "string" },
    account: { type: "string" },
    secret: { type: "string" },
  },
});
const count = Number(args.count);
exitWithParent();
cojsonLogger.setLevel(LogLevel.WARN);
// As the daemon runs jazz-tools (jazz/JazzSyncService.ts).
setDefaultValidationMode("strict");

async function writer(): Promise<void> {
  const websocket = new WebSocket(args.relay!);
  websocket.on("error", () => undefined);
  const peer = createWebSocketPeer({ id: "relay", role: "server", websocket });
  const secret = jazzCrypto.newRandomAgentSecret();
  const ctx = await createJazzContextForNewAccount({
    creationProps: { name: "bench-writer" },
    initialAgentSecret: secret,
    peers: [peer],
    crypto: jazzCrypto,
    storage: openJazzStorage(join(args.dir!, "writer.jazz.db")).storage,
    AccountSchema: CaroSyncAccount,
    sessionProvider: new MockSessionProvider(),
  });
  const account = ctx.account;
  const now = Date.now();
  const root = CaroSyncRoot.create(
    {
      schemaVersion: ROOT_SCHEMA_VERSION,
      commandHistory: [],
      preferences: { entries: {}, updatedAt: now },
      devices: [],
      createdAt: now,
      updatedAt: now,
    },
    { owner: Group.create({ owner: account }) },
  );
  account.$jazz.set("root", root);
  await account.$jazz.waitForAllCoValuesSync({ timeout: 60_000 });
  const feed = root.commandHistory;
  const items = commandEntries(count, "bench-writer").map(feedItem);

  onParentMessage((msg) => {
    if (msg.cmd === "write") {
      void (async () => {
        const t = performance.now();
        for (const batch of chunks(items, PUSH_BATCH)) {
          if (!appendFeedItems(feed.$jazz.raw, batch)) throw new Error("Jazz refused a batch");
          await yieldToLoop();
        }
        const appendMs = performance.now() - t;
        await account.$jazz.waitForAllCoValuesSync({ timeout: 600_000 });
        void report("uploaded", { appendMs, uploadMs: performance.now() - t });
      })();
    } else if (msg.cmd === "probe") {
      feed.$jazz.push({ ...feedItem(commandEntry("bench-probe", Date.now())), id: String(msg.id) });
    }
  });
  void report("ready", { account: account.$jazz.id, secret, rss: readRss(process.pid).rss });
}

async function reader(): Promise<void> {
  const { worker } = await startWorker({
    accountID: args.account!,
    accountSecret: args.secret!,
    syncServer: args.relay!,
    WebSocket,
    AccountSchema: CaroSyncAccount,
    crypto: jazzCrypto,
    skipInboxLoad: true,
    asActiveAccount: false,
    storage: openJazzStorage(join(args.dir!, "reader.jazz.db")).storage,
  });
  const account = await worker.$jazz.ensureLoaded({ resolve: { root: { commandHistory: true } } });
  const feedId = account.root.commandHistory.$jazz.id;
  const node = worker.$jazz.localNode;

  // Items per session seen so far; after "loaded", every new item is reported as "seen".
  const seen = new Map<string, number>();
  let loaded = false;
  const check = () => {
    const feed = contentOf<RawCoStream>(node, feedId);
    if (!feed) return;
    let total = 0;
    for (const [session, log] of feedSessionLogs(feed)) {
      total += log.length;
      if (!loaded) continue;
      for (let i = seen.get(session) ?? 0; i < log.length; i++)
        void report("seen", { id: (log[i]!.value as { id?: unknown }).id });
      seen.set(session, log.length);
    }
    if (!loaded && total >= count) {
      loaded = true;
      for (const [session, log] of feedSessionLogs(feed)) seen.set(session, log.length);
      void report("loaded", { items: total });
    }
  };
  subscribeToCoValue(node, feedId, check);
  check();
}

const roles: Record<string, () => Promise<void>> = { writer, reader };
const role = roles[args.role ?? ""];
if (!role) throw new Error(`unknown role ${args.role}`);
role().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
