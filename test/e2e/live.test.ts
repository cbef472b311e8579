// Issue #4, live sync between three daemons on one relay: pushes on one device reach the others
// through the Jazz subscription (no daemon polls the relay: syncIntervalMs is set to 10 minutes
// here, so nothing interval-driven can explain a delivery), preferences converge by LWW on
// updatedAt (tie → greater deviceId) even when a stale value is uploaded last, deletes travel as
// tombstones, and `ack: "relay"` resolves once the relay holds the entries.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { PulledEntry } from "../../src/protocol.js";
import { waitFor } from "../helpers/wait.js";
import {
  Cluster,
  command,
  initAccount,
  preference,
  pullAll,
  record,
  waitForCommands,
  waitForState,
  type Device,
} from "./support.js";

/** Far beyond every deadline below: a delivery cannot come from a periodic round. */
const NO_POLLING = { syncIntervalMs: 600_000 };

describe("e2e: live sync between three daemons", () => {
  const cluster = new Cluster();
  let devices: [Device, Device, Device];
  let deviceIds: string[];

  before(async () => {
    const relay = await cluster.relay();
    const names = ["alpha", "bravo", "charlie"];
    devices = (await Promise.all(names.map((n) => cluster.device(n, relay.url, NO_POLLING)))) as [
      Device,
      Device,
      Device,
    ];
    ({ deviceIds } = await initAccount(devices[0], [devices[1], devices[2]]));
    await Promise.all(devices.map((d) => waitForState(d, "ONLINE")));
  });
  after(() => cluster.cleanup());

  it("delivers a push on one daemon to the others live, announced by sync.entries", async () => {
    const [a, b, c] = devices;
    for (const [writer, readers] of [
      [a, [b, c]],
      [c, [a, b]],
    ] as const) {
      const cursors = await Promise.all(readers.map(async (d) => (await pullAll(d)).cursor));
      await Promise.all(readers.map((d) => d.client.subscribe({ events: ["sync.entries"] })));
      const notes = readers.map((d) => record(d, "sync.entries"));
      const entries = Array.from({ length: 5 }, () => command(deviceIds[devices.indexOf(writer)]!));
      const pushed = await writer.client.push({ entries });
      assert.deepEqual(pushed, { synced: 5, failed: [], errors: [] });
      for (const [i, reader] of readers.entries()) {
        // A client that pulls only when told: after each sync.entries, from its last cursor.
        const got = await waitFor(
          async () => {
            const told = notes[i]!.at(-1);
            if (!told) return null;
            const page = await pullAll(reader, { since: cursors[i] ?? null, types: ["command"] });
            const all = entries.every((e) => page.entries.some((f) => f.id === e.id));
            // The notification that announced the last of them carries its cursor (or a later one).
            return all && told.cursor >= page.cursor! ? page.entries : null;
          },
          { timeoutMs: 10_000, intervalMs: 20, what: `${reader.name}: sync.entries, then the new entries` },
        );
        for (const e of entries) {
          const f = got.find((x) => x.id === e.id)!;
          assert.equal(f.encrypted, e.encrypted);
          assert.equal(f.metadata.createdAt, e.metadata.createdAt);
          assert.equal(f.metadata.deviceId, e.metadata.deviceId);
        }
        await reader.client.unsubscribe();
      }
    }
  });

  it("converges a preference by updatedAt, and a stale value uploaded last loses everywhere", async () => {
    const [a, b, c] = devices;
    const key = "ui.theme";
    const t = Date.now();
    const older = preference(key, deviceIds[0]!, t);
    const newer = preference(key, deviceIds[1]!, t + 10);
    const stale = preference(key, deviceIds[2]!, t + 5);

    await a.client.push({ entries: [older] });
    await b.client.push({ entries: [newer] });
    await convergedPreference(devices, key, newer.encrypted);

    // charlie goes offline (pause), writes a value older than the winner, and uploads it last.
    await c.client.pause();
    await waitForState(c, "OFFLINE");
    assert.equal((await c.client.push({ entries: [stale] })).synced, 1);
    await c.client.resume();
    await waitForState(c, "ONLINE");
    await waitFor(async () => (await c.client.health()).queue.pending === 0, {
      timeoutMs: 20_000,
      intervalMs: 50,
      what: "charlie to upload the stale value",
    });
    // And a stale value pushed on a daemon that already holds the winner.
    await a.client.push({ entries: [preference(key, deviceIds[0]!, t + 1)] });
    await convergedPreference(devices, key, newer.encrypted);
  });

  it("breaks an updatedAt tie by the greater deviceId, whatever the arrival order", async () => {
    const [a, b] = devices;
    const key = "ui.tie";
    const t = Date.now();
    const [low, high] = [deviceIds[0]!, deviceIds[1]!].sort() as [string, string];
    const fromA = preference(key, deviceIds[0]!, t);
    const fromB = preference(key, deviceIds[1]!, t);
    await Promise.all([a.client.push({ entries: [fromA] }), b.client.push({ entries: [fromB] })]);
    const winner = high === deviceIds[0] ? fromA : fromB;
    assert.notEqual(low, high);
    await convergedPreference(devices, key, winner.encrypted);
  });

  it("propagates sync.delete as a tombstone with deletedAt and the same encrypted", async () => {
    const [a, b, c] = devices;
    const entry = command(deviceIds[0]!);
    await a.client.push({ entries: [entry] });
    await Promise.all([waitForCommands(b, [entry.id]), waitForCommands(c, [entry.id])]);
    const cursors = await Promise.all([b, c].map(async (d) => (await pullAll(d)).cursor));

    assert.deepEqual(await a.client.delete({ ids: [entry.id] }), { deleted: 1 });
    for (const [i, d] of [b, c].entries()) {
      const tombstone = await waitFor(
        async () => {
          const { entries } = await pullAll(d, { since: cursors[i] ?? null, types: ["command"] });
          return entries.find((e) => e.id === entry.id && e.metadata.deletedAt !== undefined);
        },
        { timeoutMs: 10_000, intervalMs: 50, what: `${d.name} to pull the tombstone` },
      );
      assert.equal(tombstone.encrypted, entry.encrypted);
      assert.equal(tombstone.metadata.createdAt, entry.metadata.createdAt);
      assert.equal(typeof tombstone.metadata.deletedAt, "number");
    }
    // The deleting device's own history shows it deleted too, once.
    const own = (await pullAll(a, { types: ["command"] })).entries.filter((e) => e.id === entry.id);
    assert.equal(own.length, 1);
    assert.equal(typeof own[0]!.metadata.deletedAt, "number");
  });

  it('resolves `ack: "relay"` with the entries synced once the relay holds them', async () => {
    const [a, b] = devices;
    const entries = [command(deviceIds[0]!), command(deviceIds[0]!)];
    const result = await a.client.push({ entries, ack: "relay" });
    assert.deepEqual(result, { synced: 2, failed: [], errors: [] });
    // Confirmed means no longer queued, and the relay can hand them to another device.
    assert.equal((await a.client.health()).queue.pending, 0);
    await waitForCommands(
      b,
      entries.map((e) => e.id),
    );
  });
});

/** Waits until every daemon's preference `key` holds `encrypted`, then checks it stays so. */
async function convergedPreference(devices: readonly Device[], key: string, encrypted: string) {
  const valueOn = async (d: Device): Promise<PulledEntry | undefined> =>
    (await pullAll(d, { types: ["preference"] })).entries.find((e) => e.id === key);
  for (const d of devices) {
    await waitFor(async () => (await valueOn(d))?.encrypted === encrypted, {
      timeoutMs: 15_000,
      intervalMs: 50,
      what: `${d.name} to converge on ${key}`,
    });
  }
  // Every upload is done: nothing in flight can still change the winner.
  for (const d of devices) {
    await waitFor(async () => (await d.client.health()).queue.pending === 0, {
      timeoutMs: 15_000,
      intervalMs: 50,
      what: `${d.name} queue to drain`,
    });
  }
  for (const d of devices) {
    const entries = (await pullAll(d, { types: ["preference"] })).entries.filter((e) => e.id === key);
    assert.equal(entries.length, 1, `${d.name}: ${key} once`);
    assert.equal(entries[0]!.encrypted, encrypted, `${d.name}: ${key} converged`);
  }
}
