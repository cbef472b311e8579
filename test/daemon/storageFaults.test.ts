// Storage faults under a real daemon process, on a real tiny file system (a tmpfs, test/helpers/
// smallDisk.ts) and a real relay: a full disk under the cache, a full disk under Jazz's storage,
// and storage that is read-only when the daemon starts. Pushes the disk refuses fail with -32008
// and are not acknowledged; daemon.health is false while the disk refuses writes and true again
// once it takes them, with no restart; everything acknowledged is still there after a restart.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it, type TestContext } from "node:test";
import { RpcError } from "../../src/client/errors.js";
import type { SyncClient } from "../../src/client/SyncClient.js";
import { pullEverything, spawnDaemon, type DaemonProcess } from "../helpers/daemon.js";
import { startTestRelay, type TestRelay } from "../helpers/relay.js";
import { mountSmallDisk, type SmallDisk } from "../helpers/smallDisk.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

const DISK_BYTES = 8 * 1024 * 1024;

function commandEntry(deviceId: string) {
  const encrypted = randomBytes(200);
  encrypted[0] = 1;
  return {
    id: randomUUID(),
    type: "command" as const,
    encrypted: encrypted.toString("base64"),
    metadata: { deviceId, createdAt: Date.now(), safetyLevel: "safe" },
  };
}

/** Asserts that `call` fails with -32008, the reason given, and a hint. */
async function assertStorageError(call: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(err instanceof RpcError, `expected an RpcError, got ${String(err)}`);
    assert.equal(err.code, -32008, `expected -32008, got ${err.code} ${err.message}`);
    assert.equal(err.data?.reason, reason);
    assert.match(err.data?.hint ?? "", /send the request again/);
    return true;
  });
}

async function commandIds(client: SyncClient): Promise<Set<string>> {
  const { entries } = await pullEverything(client, { types: ["command"] });
  return new Set(entries.map((e) => e.id));
}

describe("storage faults (real daemon, real file systems)", () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  let relay: TestRelay | null = null;
  const relayUrl = async () => {
    if (!relay) {
      relay = await startTestRelay();
      const r = relay;
      cleanups.unshift(() => r.stop());
    }
    return relay.url;
  };
  const disk = async (t: TestContext): Promise<SmallDisk | null> => {
    const d = await mountSmallDisk(t, { sizeBytes: DISK_BYTES });
    if (d) cleanups.push(() => d.cleanup());
    return d;
  };
  /** A daemon on `cachePath` (Jazz's storage beside it), or again on `like`'s HOME and files. */
  const daemon = async (opts: { cachePath: string } | { like: DaemonProcess }): Promise<DaemonProcess> => {
    const d =
      "like" in opts
        ? await spawnDaemon({ home: opts.like.home, env: opts.like.env })
        : await spawnDaemon({
            env: { CARO_SYNC_CACHE_PATH: opts.cachePath, CARO_SYNC_RELAY: await relayUrl() },
          });
    cleanups.push(() => d.stop().then(() => undefined));
    return d;
  };
  const online = async (d: DaemonProcess): Promise<{ client: SyncClient; deviceId: string }> => {
    const client = await d.client();
    const { deviceId } = await client.init({
      authKey: randomBytes(32).toString("base64"),
      deviceName: "storage",
      platform: "linux",
    });
    await d.waitForState("ONLINE");
    return { client, deviceId };
  };

  it("a full disk under the cache: -32008 disk_full, nothing acknowledged, health false; room again: the next push works, health true, nothing lost", async (t) => {
    const small = await disk(t);
    if (!small) return;
    const first = await daemon({ cachePath: join(small.path, "sync.db") });
    const { client, deviceId } = await online(first);
    const acked = new Set<string>();
    const pushAcked = async (n: number) => {
      const entries = Array.from({ length: n }, () => commandEntry(deviceId));
      const result = await client.push({ entries });
      assert.deepEqual(result, { synced: n, failed: [], errors: [] });
      for (const e of entries) acked.add(e.id);
    };
    await pushAcked(20);
    assert.equal((await client.health()).healthy, true);

    small.fill();
    const full = await client.health();
    assert.equal(full.healthy, false);
    assert.equal(full.cache.writable, false);
    assert.equal(full.cache.error?.code, -32008);
    assert.equal(full.cache.error?.reason, "disk_full");
    const refused = Array.from({ length: 50 }, () => commandEntry(deviceId));
    await assertStorageError(client.push({ entries: refused }), "disk_full");
    await assertStorageError(client.push({ entries: [commandEntry(deviceId)], ack: "relay" }), "disk_full");
    await assertStorageError(
      client.call("device.register", { name: "renamed", platform: "linux" }),
      "disk_full",
    );
    // Reads keep working, and show only what was acknowledged.
    assert.deepEqual(await commandIds(client), acked);
    assert.equal((await client.status()).state, "ONLINE");
    assert.equal((await client.health()).healthy, false, "still false: nothing could be written since");

    small.free();
    await pushAcked(10);
    const healed = await client.health();
    assert.equal(healed.healthy, true);
    assert.deepEqual(healed.cache, { ...healed.cache, writable: true, error: null });
    assert.equal(first.child.exitCode, null, "the daemon kept running");
    client.close();

    await first.stop();
    const second = await daemon({ like: first });
    await second.waitForState("ONLINE");
    const again = await second.client();
    assert.deepEqual(await commandIds(again), acked, "every acknowledged entry, and none of the refused");
    again.close();
  });

  it("a full disk under Jazz's storage: the daemon keeps running, pushes are acknowledged from the cache and confirmed by the relay, health false until Jazz can write again", async (t) => {
    const small = await disk(t);
    if (!small) return;
    const home = await tempDir("csjz-");
    cleanups.push(home.cleanup);
    // Jazz's storage is the cache's path with .jazz.db: a symlink puts it on the small disk.
    mkdirSync(join(home.path, "cache"), { mode: 0o700 });
    symlinkSync(join(small.path, "sync.jazz.db"), join(home.path, "cache", "sync.jazz.db"));
    const first = await daemon({ cachePath: join(home.path, "cache", "sync.db") });
    const { client, deviceId } = await online(first);
    const acked = new Set<string>();
    const pushConfirmed = async (n: number) => {
      const entries = Array.from({ length: n }, () => commandEntry(deviceId));
      const result = await client.push({ entries, ack: "relay" });
      assert.deepEqual(result, { synced: n, failed: [], errors: [] });
      for (const e of entries) acked.add(e.id);
    };
    await pushConfirmed(5);

    small.fill();
    const full = await client.health();
    assert.equal(full.healthy, false);
    assert.equal(full.cache.error?.reason, "disk_full");
    assert.match(full.cache.error?.message ?? "", /Jazz's local storage/);
    await pushConfirmed(50);
    await pushConfirmed(50);
    assert.equal(first.child.exitCode, null, "a Jazz write the disk refused did not end the daemon");
    assert.equal((await client.health()).cache.writable, false);

    small.free();
    assert.equal((await client.health()).healthy, true, "health tried a write and it worked");
    await pushConfirmed(5);
    assert.equal((await client.status()).pendingUp, 0);
    client.close();

    await first.stop();
    const second = await daemon({ like: first });
    await second.waitForState("ONLINE");
    const again = await second.client();
    assert.deepEqual(await commandIds(again), acked);
    assert.equal((await again.health()).healthy, true);
    again.close();
  });

  it("read-only storage at start: Jazz's storage read-only leaves pushes queued and health false (read_only) until it is writable again; a read-only cache stops the start with a clear message", async (t) => {
    const small = await disk(t);
    if (!small) return;
    const home = await tempDir("csro-");
    cleanups.push(home.cleanup);
    mkdirSync(join(home.path, "cache"), { mode: 0o700 });
    symlinkSync(join(small.path, "sync.jazz.db"), join(home.path, "cache", "sync.jazz.db"));
    const first = await daemon({ cachePath: join(home.path, "cache", "sync.db") });
    const { client, deviceId } = await online(first);
    const before = commandEntry(deviceId);
    assert.equal((await client.push({ entries: [before], ack: "relay" })).synced, 1);
    client.close();
    await first.stop();

    // Linux refuses this while a process has a file here open for writing: the daemon is stopped.
    small.remountReadOnly();
    const second = await daemon({ like: first });
    const c = await second.client();
    const readOnly = await waitFor(
      async () => {
        const h = await c.health();
        return h.cache.error?.reason === "read_only" ? h : null;
      },
      { timeoutMs: 20_000, what: "health to report read_only" },
    );
    assert.equal(readOnly.healthy, false);
    assert.equal(readOnly.lastError?.code, -32008);
    const during = commandEntry(deviceId);
    assert.equal((await c.push({ entries: [during] })).synced, 1, "the cache still takes pushes");
    assert.equal((await c.status()).pendingUp, 1, "queued: the relay is out of reach without Jazz");

    small.remountReadWrite();
    await waitFor(
      async () => {
        const [h, s] = await Promise.all([c.health(), c.status()]);
        return h.healthy && s.state === "ONLINE" && s.pendingUp === 0;
      },
      { timeoutMs: 30_000, what: "the daemon to recover by itself and upload the queue" },
    );
    assert.deepEqual(await commandIds(c), new Set([before.id, during.id]));
    c.close();
    await second.stop();

    // The cache itself on a read-only file system: the daemon cannot run on it and says why.
    const cacheDisk = await disk(t);
    if (!cacheDisk) return;
    const third = await daemon({ cachePath: join(cacheDisk.path, "sync.db") });
    await third.stop();
    cacheDisk.remountReadOnly();
    const refused = await spawnDaemon({ home: third.home, env: third.env, waitReady: false });
    cleanups.push(() => refused.stop().then(() => undefined));
    assert.equal(await refused.exited, 1);
    assert.match(refused.stderr(), /the cache cannot be written: the file system or the file is read-only/);
  });
});
