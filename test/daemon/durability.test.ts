// Durability of the real daemon process: an entry acknowledged to a client survives kill -9 (and a
// clean restart) with its identity, exactly once, still queued for the relay, in an intact cache.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { ConnectionError } from "../../src/client/errors.js";
import type { SyncClient } from "../../src/client/SyncClient.js";
import type { InitResult, PulledEntry } from "../../src/protocol.js";
import { spawnDaemon, type DaemonProcess, pullEverything } from "../helpers/daemon.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

/** Acknowledged ids after which the daemon is killed; pushes keep coming from every pusher. */
const KILL_AFTER_ACKED = 1_500;
const PUSHERS = 4;

function commandEntry(deviceId: string) {
  return {
    id: randomUUID(),
    type: "command" as const,
    encrypted: Buffer.concat([Buffer.from([1]), randomBytes(28 + Math.floor(Math.random() * 100))]).toString(
      "base64",
    ),
    metadata: { deviceId, createdAt: Date.now(), safetyLevel: "safe" },
  };
}

async function init(client: SyncClient): Promise<InitResult> {
  return client.init({
    authKey: randomBytes(32).toString("base64"),
    deviceName: "durable",
    platform: "linux",
  });
}

/** Ids seen more than once. */
function duplicates(entries: PulledEntry[]): string[] {
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const e of entries) {
    const key = `${e.type}:${e.id}`;
    if (seen.has(key)) twice.push(e.id);
    seen.add(key);
  }
  return twice;
}

/** PRAGMA integrity_check of a cache file ("ok" when intact). */
function integrity(path: string, opts: { readonly: boolean }): string {
  const db = new Database(path, { readonly: opts.readonly, fileMustExist: true });
  try {
    return String(db.pragma("integrity_check", { simple: true }));
  } finally {
    db.close();
  }
}

/** Waits until the restarted daemon has loaded its identity (INITIALIZING → OFFLINE). */
async function offlineStatus(client: SyncClient) {
  return waitFor(
    async () => {
      const status = await client.status();
      return status.state === "OFFLINE" ? status : null;
    },
    { what: "the restarted daemon to be OFFLINE" },
  );
}

describe("durability of acknowledged pushes (real process)", () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const start = async (home?: string): Promise<DaemonProcess> => {
    const d = await spawnDaemon(home ? { home } : {});
    cleanups.push(() => d.cleanup());
    return d;
  };

  it("an entry acknowledged to a client survives kill -9, exactly once, still queued", async (t) => {
    const first = await start();
    const setup = await first.client();
    const identity = await init(setup);
    setup.close();

    const pushers = await Promise.all(Array.from({ length: PUSHERS }, () => first.client()));
    const attempted = new Set<string>();
    const acked = new Set<string>();
    let inFlight = 0;
    let inFlightAtKill = -1;
    let killScheduled = false;
    // Every pusher keeps one push in flight until its connection dies with the daemon.
    await Promise.all(
      pushers.map(async (client) => {
        for (;;) {
          const batch = Array.from({ length: 1 + Math.floor(Math.random() * 50) }, () =>
            commandEntry(identity.deviceId),
          );
          for (const e of batch) attempted.add(e.id);
          inFlight++;
          try {
            const result = await client.push({ entries: batch });
            // Answers read after the kill were still written by the daemon: they count as acks.
            assert.deepEqual(result.errors, []);
            for (const e of batch) acked.add(e.id);
          } catch (err) {
            assert.ok(inFlightAtKill >= 0 && err instanceof ConnectionError, `push failed: ${String(err)}`);
            return;
          } finally {
            inFlight--;
          }
          if (acked.size >= KILL_AFTER_ACKED && !killScheduled) {
            killScheduled = true;
            // A moment later, not in step with an answer: the kill may land inside a request.
            setTimeout(() => {
              inFlightAtKill = inFlight;
              first.child.kill("SIGKILL");
            }, Math.random() * 5);
          }
        }
      }),
    );
    for (const client of pushers) client.close();
    assert.equal(await first.exited, "SIGKILL");
    t.diagnostic(
      `${acked.size} acknowledged, ${attempted.size} attempted, ${inFlightAtKill} pushes in flight at the kill`,
    );
    assert.ok(inFlightAtKill >= 1, "pushes were in flight when the daemon was killed");

    // The files exactly as the kill left them, checked on a copy (recovering the WAL writes).
    const copy = await tempDir("csd-db-");
    cleanups.push(copy.cleanup);
    for (const suffix of ["", "-wal", "-shm"]) {
      if (existsSync(first.cachePath + suffix))
        copyFileSync(first.cachePath + suffix, join(copy.path, `c.db${suffix}`));
    }
    assert.equal(integrity(join(copy.path, "c.db"), { readonly: false }), "ok");

    const second = await start(first.home);
    const client = await second.client();
    const status = await offlineStatus(client);
    assert.equal(status.deviceId, identity.deviceId);
    assert.equal(status.accountId, identity.accountId);
    const entries = (await pullEverything(client, { limit: 173 })).entries;
    assert.deepEqual(duplicates(entries), [], "every entry comes exactly once");
    const commands = new Set(entries.filter((e) => e.type === "command").map((e) => e.id));
    const lost = [...acked].filter((id) => !commands.has(id));
    assert.deepEqual(lost, [], "every acknowledged entry survived");
    assert.deepEqual(
      [...commands].filter((id) => !attempted.has(id)),
      [],
      "no entry appears from nowhere",
    );
    t.diagnostic(`${commands.size - acked.size} entries of unanswered pushes were stored too`);
    const health = await client.health();
    assert.equal(health.state, "OFFLINE");
    // Nothing ever reached the (unreachable) relay: every entry, the device record included, is queued.
    assert.equal(health.queue.pending, entries.length);
    assert.equal(health.queue.failed, 0);
    assert.equal(status.pendingUp, entries.length);
    client.close();

    assert.equal(await second.stop(), 0);
    assert.equal(integrity(second.cachePath, { readonly: true }), "ok");
  });

  it("keeps identity and every entry across a clean stop and restart", async () => {
    const first = await start();
    const client = await first.client();
    const identity = await init(client);
    for (let i = 0; i < 20; i++) {
      const batch = Array.from({ length: 1 + i * 3 }, () => commandEntry(identity.deviceId));
      assert.equal((await client.push({ entries: batch })).synced, batch.length);
    }
    const preference = {
      id: "theme",
      type: "preference" as const,
      encrypted: Buffer.concat([Buffer.from([1]), randomBytes(40)]).toString("base64"),
      metadata: { deviceId: identity.deviceId, updatedAt: Date.now() },
    };
    assert.equal((await client.push({ entries: [preference] })).synced, 1);
    const before = (await pullEverything(client, { limit: 173 })).entries;
    const deletedId = before.find((e) => e.type === "command")!.id;
    assert.equal((await client.delete({ ids: [deletedId] })).deleted, 1);
    const expected = (await pullEverything(client, { limit: 173 })).entries;
    client.close();
    assert.equal(await first.stop(), 0);

    const second = await start(first.home);
    const again = await second.client();
    const status = await offlineStatus(again);
    assert.equal(status.deviceId, identity.deviceId);
    assert.equal(status.accountId, identity.accountId);
    const entries = (await pullEverything(again, { limit: 173 })).entries;
    assert.deepEqual(duplicates(entries), []);
    const data = (list: PulledEntry[]) =>
      list.filter((e) => e.type !== "device").sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    assert.deepEqual(data(entries), data(expected), "the same entries with the same payloads and metadata");
    assert.equal(data(entries).length, 1 + 20 * 1 + 3 * 190);
    assert.ok(entries.find((e) => e.id === deletedId)?.metadata.deletedAt, "the tombstone survived");
    const devices = entries.filter((e) => e.type === "device").map((e) => e.id);
    assert.deepEqual(devices, [identity.deviceId]);
    assert.equal((await again.health()).queue.pending, entries.length);
    again.close();
    assert.equal(await second.stop(), 0);
    assert.equal(integrity(second.cachePath, { readonly: true }), "ok");
  });
});
