// The command history in shards (src/jazz/commandHistory.ts): writes fill shards of a fixed size,
// sealed shards leave memory once read and uploaded and still reach every reader, a relay restarted
// empty gets the unloaded ones again, and an account of schema version 1 (its whole history in
// `commandHistory`) keeps working, including when two devices give it a shard list at once.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RawCoStream } from "cojson";
import { createWebSocketPeer } from "cojson-transport-ws";
import {
  createJazzContextForNewAccount,
  createJazzContextFromExistingCredentials,
  Group,
  MockSessionProvider,
} from "jazz-tools";
import { WebSocket } from "ws";
import { appendFeedItems, contentOf } from "../../src/jazz/cojsonAdapter.js";
import { jazzCrypto } from "../../src/jazz/crypto.js";
import type { JazzSession } from "../../src/jazz/JazzSession.js";
import { CaroSyncAccount, CaroSyncRoot } from "../../src/jazz/schema.js";
import { silentLogger } from "../../src/log/logger.js";
import { startRelay, type RelayHandle } from "../../src/relay/server.js";
import type { RemoteIdentity } from "../../src/sync/remote.js";
import { freePort } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { Collector, command, newAuthKey, service, type CommandRecord } from "./fixtures.js";

/** Items per shard in these tests. */
const SHARD = 100;

function relayPeer(url: string) {
  const websocket = new WebSocket(url);
  websocket.on("error", () => undefined);
  return createWebSocketPeer({ id: "plain", role: "server", websocket });
}

/** Logs in as a plain jazz-tools client (no storage); the caller logs out. */
function plainClient(url: string, identity: RemoteIdentity) {
  return createJazzContextFromExistingCredentials({
    credentials: { accountID: identity.accountId, secret: identity.agentSecret as never },
    peers: [relayPeer(url)],
    crypto: jazzCrypto,
    AccountSchema: CaroSyncAccount,
    sessionProvider: new MockSessionProvider(),
    asActiveAccount: false,
  });
}

/**
 * Creates the account as a caro-sync of schema version 1 did: a root without `commandShards`,
 * every command in `commandHistory` (many per transaction). Returns once the relay holds it.
 */
async function createVersion1Account(url: string, identity: RemoteIdentity, commands: CommandRecord[]) {
  const ctx = await createJazzContextForNewAccount({
    creationProps: { name: "caro-sync" },
    initialAgentSecret: identity.agentSecret as never,
    peers: [relayPeer(url)],
    crypto: jazzCrypto,
    AccountSchema: CaroSyncAccount,
    sessionProvider: new MockSessionProvider(),
  });
  const now = Date.now();
  const root = CaroSyncRoot.create(
    {
      schemaVersion: 1,
      commandHistory: [],
      preferences: { entries: {}, updatedAt: now },
      devices: [],
      createdAt: now,
      updatedAt: now,
    },
    { owner: Group.create({ owner: ctx.account }) },
  );
  const feed = contentOf<RawCoStream>(ctx.node, root.commandHistory.$jazz.id)!;
  assert.equal(
    appendFeedItems(
      feed,
      commands.map(({ type: _type, ...entry }) => entry),
    ),
    true,
  );
  ctx.account.$jazz.set("root", root);
  await ctx.account.$jazz.waitForAllCoValuesSync({ timeout: 10_000 });
  await ctx.logOut();
}

/** Every command a plain client reads from root.commandShards (and commandHistory), by id. */
async function plainCommandIds(url: string, identity: RemoteIdentity): Promise<Set<string>> {
  const ctx = await plainClient(url, identity);
  try {
    const account = await CaroSyncAccount.load(identity.accountId, {
      loadAs: ctx.account,
      resolve: { root: { commandHistory: true, commandShards: { $each: true } } },
    });
    assert.ok(account.$isLoaded);
    const feeds = [account.root.commandHistory, ...(account.root.commandShards ?? [])];
    const ids = new Set<string>();
    for (const feed of feeds)
      for (const item of feed.perAccount[identity.accountId as never]?.all ?? []) ids.add(item.value.id);
    return ids;
  } finally {
    await ctx.logOut();
  }
}

const inMemory = (s: unknown) => (s as JazzSession).historyInMemory();

describe("the command history in shards", () => {
  let port: number;
  let url: string;
  let relay: RelayHandle;
  let dir: { path: string; cleanup: () => Promise<void> };
  /** An in-memory relay on the same port each time: started again, it holds nothing. */
  const listen = async () => (relay = await startRelay({ port, inMemory: true, logger: silentLogger }));
  before(async () => {
    port = await freePort();
    url = `ws://127.0.0.1:${port}`;
    dir = await tempDir("cs-js-");
    await listen();
  });
  after(async () => {
    await relay.close();
    await dir.cleanup();
  });

  it("fills shards of a fixed size and keeps only the live one in memory; every reader gets everything", async () => {
    const svc = service(url, dir.path, "fill-a", { shardEntries: SHARD });
    const identity = svc.deriveIdentity(newAuthKey());
    const a = await svc.open({ identity, mode: "create" });
    const fresh = service(url, dir.path, "fill-b", { shardEntries: SHARD });
    try {
      await a.connect();
      const first = Array.from({ length: 2 * SHARD + 30 }, (_, i) => command({ createdAt: 1000 + i }));
      await a.write(first);
      const second = Array.from({ length: SHARD + 40 }, (_, i) => command({ createdAt: 5000 + i }));
      await a.write(second);
      await a.waitForUpload(10_000);
      // commandHistory and four shards (100, 100, 100, 70); of them only the live shard stays, and
      // commandHistory, empty in a root created sharded (an empty CoValue is never unloaded).
      await waitFor(() => inMemory(a).loaded === 2, { what: "sealed shards to leave memory" });
      assert.equal(inMemory(a).feeds, 5);

      // A change to a command of a sealed shard goes into the live one; readers merge it.
      const changed = { ...first[0]!, executed: true, executedAt: 2000, success: true };
      await a.write([changed]);
      await a.waitForUpload(10_000);

      const b = await fresh.open({ identity, mode: "join" });
      try {
        const seenB = new Collector(b);
        await seenB.until("everything on a fresh device", (c) => c.count("command") === 370);
        assert.deepEqual(seenB.command(first[0]!.id), changed);
        await waitFor(() => inMemory(b).loaded === 2, { what: "the fresh device to unload sealed shards" });
      } finally {
        await b.close();
      }
      const ids = await plainCommandIds(url, identity);
      assert.equal(ids.size, 370, "a plain client reads every shard");
    } finally {
      await a.close();
    }
    // A restart replays everything from local storage, shard by shard; untilDelivered says when.
    const again = await svc.open({ identity, mode: "join" });
    try {
      const seen = new Collector(again);
      await again.untilDelivered();
      assert.equal(seen.count("command"), 370, "all delivered when untilDelivered resolves");
      await waitFor(() => inMemory(again).loaded === 2, { what: "sealed shards to leave memory again" });
    } finally {
      await again.close();
    }
  });

  it("what write() appends is not handed back to the writer's listeners; others' writes are", async () => {
    const svc = service(url, dir.path, "echo-a", { shardEntries: SHARD });
    const identity = svc.deriveIdentity(newAuthKey());
    const a = await svc.open({ identity, mode: "create" });
    try {
      await a.connect();
      const seenA = new Collector(a);
      await a.untilDelivered(); // the listener's first pass: from here on it is caught up
      const before = seenA.delivered;
      // Across a shard boundary: the live shard fills and a new one is started within the write.
      const written = Array.from({ length: SHARD + 30 }, () => command());
      await a.write(written);
      await a.waitForUpload(10_000);
      await a.untilDelivered();
      const echoed = written.filter((c) => seenA.command(c.id));
      assert.equal(echoed.length, 0, "the writer's own records came from its cache: not delivered back");

      const b = await service(url, dir.path, "echo-b", { shardEntries: SHARD }).open({
        identity,
        mode: "join",
      });
      try {
        const seenB = new Collector(b);
        await seenB.until("A's writes at B", (c) => c.count("command") === written.length);
        const fromB = command({ deviceId: "device-b" });
        await b.write([fromB]);
        await b.waitForUpload(10_000);
        await seenA.until("B's write at A", (c) => c.command(fromB.id));
        assert.deepEqual(seenA.command(fromB.id), fromB);
        assert.ok(seenA.delivered > before);
      } finally {
        await b.close();
      }
    } finally {
      await a.close();
    }
  });

  it("a relay restarted empty gets every shard again on reconnect, the unloaded ones included", async () => {
    const svc = service(url, dir.path, "heal-a", { shardEntries: SHARD });
    const identity = svc.deriveIdentity(newAuthKey());
    const a = await svc.open({ identity, mode: "create" });
    try {
      await a.connect();
      const written = Array.from({ length: 3 * SHARD + 10 }, () => command());
      await a.write(written);
      await a.waitForUpload(10_000);
      await waitFor(() => inMemory(a).loaded === 2, { what: "sealed shards to leave memory" });

      const dropped = new Promise<void>((resolve) => a.onDisconnected(() => resolve()));
      await relay.close();
      await dropped;
      await listen();
      await waitFor(
        async () =>
          a
            .connect()
            .then(() => true)
            .catch(() => false),
        { what: "the reconnect" },
      );
      await a.waitForUpload(10_000);
      const inv = await a.inventory({ timeoutMs: 10_000 });
      assert.deepEqual(inv.relay?.missing, []);
      assert.equal(inv.relay?.commands.length, written.length);
      assert.equal(inv.local.commands.length, written.length);
      await waitFor(() => inMemory(a).loaded === 2, { what: "the inventory to unload what it read" });

      const b = await service(url, dir.path, "heal-b", { shardEntries: SHARD }).open({
        identity,
        mode: "join",
      });
      try {
        const seen = new Collector(b);
        await seen.until("everything from the restarted relay", (c) => c.count("command") === written.length);
      } finally {
        await b.close();
      }
    } finally {
      await a.close();
    }
  });

  it("an account of schema version 1 keeps working: its commandHistory is read, new writes go to shards", async () => {
    const svc = service(url, dir.path, "v1-a", { shardEntries: SHARD });
    const identity = svc.deriveIdentity(newAuthKey());
    const old = Array.from({ length: 2 * SHARD + 5 }, () => command({ deviceId: "old" }));
    await createVersion1Account(url, identity, old);

    const a = await svc.open({ identity, mode: "join" });
    try {
      await a.connect();
      const seen = new Collector(a);
      await seen.until("the version-1 history", (c) => c.count("command") === old.length);
      const added = command();
      const deleted = { ...old[1]!, deletedAt: 3000 };
      await a.write([added, deleted]);
      await a.waitForUpload(10_000);
      // commandHistory (read, then unloaded) and the new live shard.
      await waitFor(() => inMemory(a).loaded === 1 && inMemory(a).feeds === 2, {
        what: "commandHistory to leave memory",
      });

      const ctx = await plainClient(url, identity);
      try {
        const account = await CaroSyncAccount.load(identity.accountId, {
          loadAs: ctx.account,
          resolve: { root: { commandShards: { $each: true } } },
        });
        assert.ok(account.$isLoaded);
        assert.equal(account.root.schemaVersion, 2);
        assert.equal(account.root.commandShards?.length, 1);
      } finally {
        await ctx.logOut();
      }
      const b = await service(url, dir.path, "v1-b", { shardEntries: SHARD }).open({
        identity,
        mode: "join",
      });
      try {
        const seenB = new Collector(b);
        await seenB.until("old and new commands", (c) => c.count("command") === old.length + 1);
        assert.deepEqual(seenB.command(old[1]!.id), deleted);
      } finally {
        await b.close();
      }
    } finally {
      await a.close();
    }
  });

  it("two devices giving a version-1 root a shard list at once: both are read, and the first one gathers all", async () => {
    const identity = service(url, dir.path, "x").deriveIdentity(newAuthKey());
    await createVersion1Account(url, identity, [command({ deviceId: "old" })]);
    const a = await service(url, dir.path, "race-a", { shardEntries: SHARD }).open({
      identity,
      mode: "join",
    });
    const b = await service(url, dir.path, "race-b", { shardEntries: SHARD }).open({
      identity,
      mode: "join",
    });
    try {
      await a.connect();
      const [fromA, fromB, laterB] = [command({ deviceId: "a" }), command({ deviceId: "b" }), command()];
      // b is offline: each device adds a list of its own.
      await b.write([fromB]);
      await a.write([fromA]);
      await a.waitForUpload(10_000);
      await b.connect();
      const seenA = new Collector(a);
      const seenB = new Collector(b);
      for (const seen of [seenA, seenB])
        await seen.until("both devices' commands", (c) => c.command(fromA.id) && c.command(fromB.id));
      // The next write gathers every shard into the first list and points the root at it.
      await b.write([laterB]);
      await b.waitForUpload(10_000);
      await seenA.until("b's later write", (c) => c.command(laterB.id));
      const ids = await waitFor(
        async () => {
          const found = await plainCommandIds(url, identity);
          return [fromA, fromB, laterB].every((c) => found.has(c.id)) ? found : null;
        },
        { what: "a plain client to find every command through root.commandShards" },
      );
      assert.equal(ids.size, 4);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
