// The data is ordinary Jazz data: a plain jazz-tools client with the same credentials and schema
// reads the root and its fields, and what it writes through the public API reaches the service.
// Also the regression test for the batched feed writes (core.makeTransaction with many changes,
// below jazz-tools' documented API, pinned to cojson 0.20.19): every change is one feed item. The
// service here starts a new shard every SHARD items, so the history spans several feeds.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createWebSocketPeer } from "cojson-transport-ws";
import { createJazzContextFromExistingCredentials, MockSessionProvider } from "jazz-tools";
import { WebSocket } from "ws";
import { jazzCrypto } from "../../src/jazz/crypto.js";
import { FEED_BATCH_ENTRIES } from "../../src/jazz/rootWriter.js";
import { CaroSyncAccount, parsePreferenceValue } from "../../src/jazz/schema.js";
import type { RemoteIdentity, RemoteSession } from "../../src/sync/remote.js";
import { startTestRelay, type TestRelay } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { blob, Collector, command, device, newAuthKey, preference, service } from "./fixtures.js";

async function plainClient(url: string, identity: RemoteIdentity) {
  const websocket = new WebSocket(url);
  websocket.on("error", () => undefined);
  await new Promise((resolve) => websocket.once("open", resolve));
  const peer = createWebSocketPeer({ id: "plain", role: "server", websocket });
  const ctx = await createJazzContextFromExistingCredentials({
    credentials: { accountID: identity.accountId, secret: identity.agentSecret as never },
    peers: [peer],
    crypto: jazzCrypto,
    AccountSchema: CaroSyncAccount,
    sessionProvider: new MockSessionProvider(),
    asActiveAccount: false,
  });
  return ctx;
}

describe("a plain Jazz client reads what the service wrote", () => {
  let relay: TestRelay;
  let dir: { path: string; cleanup: () => Promise<void> };
  let session: RemoteSession;
  let identity: RemoteIdentity;
  const commands = Array.from({ length: FEED_BATCH_ENTRIES * 2 + 7 }, (_, i) =>
    command({ createdAt: 1000 + i }),
  );
  const big = Array.from({ length: 40 }, () => command({ encryptedPayload: blob(48 * 1024) }));
  /** Items per shard: the commands fill three shards, the big ones a fourth. */
  const SHARD = FEED_BATCH_ENTRIES;

  before(async () => {
    relay = await startTestRelay();
    dir = await tempDir("cs-jp-");
    const svc = service(relay.url, dir.path, "svc", { shardEntries: SHARD });
    identity = svc.deriveIdentity(newAuthKey());
    session = await svc.open({ identity, mode: "create" });
    await session.connect();
    await session.write([...commands, ...big, preference("theme", 7, "device-a"), device("device-a")]);
    await session.waitForUpload(20_000);
  });
  after(async () => {
    await session?.close();
    await relay?.stop();
    await dir?.cleanup();
  });

  it("loads the root with jazz-tools and finds every field of the seed's schema", async () => {
    const ctx = await plainClient(relay.url, identity);
    try {
      const account = await CaroSyncAccount.load(identity.accountId, {
        loadAs: ctx.account,
        resolve: {
          root: {
            commandHistory: true,
            commandShards: { $each: true },
            preferences: { entries: true },
            devices: { $each: true },
          },
        },
      });
      assert.ok(account.$isLoaded, "account loads");
      const root = account.root;
      assert.equal(root.$jazz.id, session.syncRootId());
      assert.equal(root.schemaVersion, 2);
      assert.equal(typeof root.createdAt, "number");
      assert.ok(root.updatedAt >= root.createdAt);

      // Many entries per transaction, yet one feed item each, in order, for jazz-tools readers: the
      // history is commandHistory (empty in a root created sharded) then each shard in turn.
      assert.equal([...(root.commandHistory.perAccount[identity.accountId as never]?.all ?? [])].length, 0);
      const shards = root.commandShards;
      assert.ok(shards, "the root lists its shards");
      assert.deepEqual(
        shards.map((feed) => [...(feed.perAccount[identity.accountId as never]?.all ?? [])].length),
        [SHARD, SHARD, commands.length - 2 * SHARD + big.length],
      );
      const items = shards.flatMap((feed) => [...(feed.perAccount[identity.accountId as never]?.all ?? [])]);
      assert.equal(items.length, commands.length + big.length);
      const first = items[0]!.value;
      const { type: _t, ...expected } = commands[0]!;
      assert.deepEqual({ ...first }, expected);
      assert.deepEqual(
        items.slice(0, commands.length).map((item) => item.value.id),
        commands.map((c) => c.id),
      );
      assert.equal(items.at(-1)!.value.encryptedPayload, big.at(-1)!.encryptedPayload);

      const theme = parsePreferenceValue(root.preferences.entries["theme"]);
      assert.deepEqual(theme && { updatedAt: theme.updatedAt, deviceId: theme.deviceId }, {
        updatedAt: 7,
        deviceId: "device-a",
      });
      assert.equal(root.devices.length, 1);
      assert.equal(root.devices[0]?.deviceId, "device-a");
      assert.equal(root.devices[0]?.isActive, true);

      // And what the plain client pushes through the public API reaches the service live, into
      // commandHistory or into a sealed shard (which the service no longer holds in memory).
      const seen = new Collector(session);
      const { type: _type, ...entry } = command({ deviceId: "plain" });
      root.commandHistory.$jazz.push(entry);
      await seen.until("plain client's push", (c) => c.command(entry.id));
      const { type: _type2, ...late } = command({ deviceId: "plain" });
      shards[0]!.$jazz.push(late);
      await seen.until("plain client's push into a sealed shard", (c) => c.command(late.id));
      await waitFor(() => seen.count("command") === commands.length + big.length + 2, {
        what: "all commands",
      });
      seen.off();
    } finally {
      await ctx.logOut();
    }
  });
});
