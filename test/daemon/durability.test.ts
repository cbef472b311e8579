// Durability of the real daemon process across a clean restart: identity, every entry exactly once,
// still queued for the relay, in an intact cache. kill -9 during pushes, repeated, is a scenario of
// the reliability suite (test/reliability/daemonKill.test.ts).
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import type { SyncClient } from "../../src/client/SyncClient.js";
import type { InitResult, PulledEntry } from "../../src/protocol.js";
import { spawnDaemon, type DaemonProcess, pullEverything } from "../helpers/daemon.js";
import { waitFor } from "../helpers/wait.js";

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
