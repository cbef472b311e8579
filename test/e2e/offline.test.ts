// Issue #4, long absences: a device away for "30 days" catches up after its last cursor, and a
// daemon restarted while the relay is down serves its whole history from its cache at once.
//
// How "30 days offline" is simulated, honestly: real time cannot pass, so what a month away means
// to the daemon is reproduced piece by piece.
// - The device is switched off (process stopped) while the other device writes thousands of
//   entries whose createdAt is 30 days old (many sharing one createdAt), a preference and a delete.
// - It comes back without a network (its only path to the relay is a TCP proxy that resets every
//   connection), serves its old history, and writes entries offline, also dated 30 days back.
// - Its queue outlives the offline TTL: offlineQueueTtlMs is scaled down from 24 h to 1 s, so the
//   queued entries move to `failed` exactly as after a day offline (SPEC §5).
// - Its retry burst (1 s, 2 s, 4 s, 8 s) is spent and it probes every syncIntervalMs (200 ms),
//   as it would after days away; then the network comes back while the daemon keeps running.
// It must then pull everything after the cursor it had before leaving, each entry once, and
// upload its failed entries on the next successful connection.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { RelayProcess } from "../helpers/relay.js";
import { waitFor } from "../helpers/wait.js";
import {
  assertUnique,
  Cluster,
  command,
  initAccount,
  preference,
  pullAll,
  record,
  waitForCommands,
  waitForState,
  type Device,
  type NetworkLink,
} from "./support.js";

const DAY_MS = 86_400_000;
const AWAY = 2000;
const OFFLINE_WRITES = 50;

describe("e2e: a device away for 30 days catches up", () => {
  const cluster = new Cluster();
  let a: Device;
  let b: Device;
  let net: NetworkLink;
  let deviceIds: string[];

  before(async () => {
    const relay = await cluster.relay();
    net = await cluster.link(relay);
    a = await cluster.device("home", relay.url, { syncIntervalMs: 200 });
    b = await cluster.device("travel", net.url, { syncIntervalMs: 200, offlineQueueTtlMs: 1000 });
    ({ deviceIds } = await initAccount(a, [b]));
    await Promise.all([a, b].map((d) => waitForState(d, "ONLINE")));
  });
  after(() => cluster.cleanup());

  it("pulls everything written meanwhile after its last cursor, and uploads what it wrote offline", async () => {
    const before = [command(deviceIds[0]!), command(deviceIds[0]!)];
    await a.client.push({ entries: before });
    await waitForCommands(
      b,
      before.map((e) => e.id),
    );
    const { entries: known, cursor: lastCursor } = await pullAll(b);
    assert.ok(lastCursor !== null);

    await cluster.stop(b);
    const monthAgo = Date.now() - 30 * DAY_MS;
    const away = Array.from({ length: AWAY }, (_, i) =>
      command(deviceIds[0]!, { createdAt: monthAgo + Math.floor(i / 100) }),
    );
    for (let i = 0; i < away.length; i += 500) {
      const r = await a.client.push({ entries: away.slice(i, i + 500) });
      assert.equal(r.synced, Math.min(500, away.length - i));
    }
    const pref = preference("editor", deviceIds[0]!, Date.now());
    await a.client.push({ entries: [pref] });
    assert.deepEqual(await a.client.delete({ ids: [before[0]!.id] }), { deleted: 1 });
    await waitFor(async () => (await a.client.health()).queue.pending === 0, {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: "home to upload",
    });

    // Back, with no network: the old history is there, new writes queue and outlive the TTL.
    net.cut();
    await cluster.restart(b, net.url);
    await b.client.subscribe({ events: ["sync.error"] });
    const errors = record(b, "sync.error");
    await waitForState(b, "OFFLINE");
    assert.deepEqual(
      (await pullAll(b)).entries.map((e) => e.id).sort(),
      known.map((e) => e.id).sort(),
      "the history it had before leaving",
    );
    const offline = Array.from({ length: OFFLINE_WRITES }, () =>
      command(deviceIds[1]!, { createdAt: monthAgo }),
    );
    assert.equal((await b.client.push({ entries: offline })).synced, OFFLINE_WRITES);
    await waitFor(async () => (await b.client.health()).queue.failed === OFFLINE_WRITES, {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: "the offline writes to outlive the queue TTL",
    });
    // Wait for the retry burst (1 s, 2 s, 4 s, 8 s) to be spent: sync.error then announces the
    // next attempt in syncIntervalMs (200 ms ± 20 %) instead of seconds.
    await waitFor(() => errors.some((e) => e.retryInMs !== null && e.retryInMs > 0 && e.retryInMs <= 240), {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: "a sync.error announcing a probe within syncIntervalMs",
    });
    const burst = errors.map((e) => e.retryInMs);
    assert.ok(
      // (The first failure, announcing 1 s, may come before the subscription.)
      [2000, 4000, 8000].every((ms) => burst.some((r) => r !== null && Math.abs(r - ms) < 200)),
      `the burst's delays were announced: ${burst.join(", ")}`,
    );

    net.restore();
    await waitForState(b, "ONLINE", 10_000);
    const all = [...before, ...away].map((e) => e.id);
    await waitForCommands(b, all, 30_000);
    const { entries: caughtUp } = await pullAll(b, { since: lastCursor });
    assertUnique(caughtUp, "catch-up pull");
    const ids = new Set(caughtUp.filter((e) => e.type === "command").map((e) => e.id));
    for (const e of [...away, ...offline]) assert.ok(ids.has(e.id), `catch-up lacks ${e.id}`);
    const tombstone = caughtUp.find((e) => e.id === before[0]!.id);
    assert.equal(typeof tombstone?.metadata.deletedAt, "number", "the delete made while away");
    assert.equal(tombstone?.encrypted, before[0]!.encrypted);
    assert.equal(caughtUp.find((e) => e.id === "editor")?.encrypted, pref.encrypted);
    const oldOnes = caughtUp.filter((e) => away.some((x) => x.id === e.id));
    assert.ok(
      oldOnes.every((e) => e.metadata.createdAt < lastCursor - 29 * DAY_MS),
      "createdAt kept",
    );

    // The failed entries were retried on the connection and reached the other device.
    await waitFor(
      async () => {
        const h = await b.client.health();
        return h.queue.pending === 0 && h.queue.failed === 0;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: "travel's queue to drain" },
    );
    await waitForCommands(
      a,
      offline.map((e) => e.id),
      30_000,
    );
    const full = (await pullAll(b)).entries;
    assertUnique(full, "full pull");
    assert.equal(full.filter((e) => e.type === "command").length, before.length + AWAY + OFFLINE_WRITES);
    for (const d of [a, b]) {
      const devices = (await d.client.listDevices()).devices;
      assert.deepEqual(
        devices.map((x) => x.deviceId).sort(),
        [...deviceIds].sort(),
        `${d.name}: devices once each`,
      );
    }
  });
});

describe("e2e: a daemon restarted while the relay is down", () => {
  const cluster = new Cluster();
  let relay: RelayProcess;
  let a: Device;
  let b: Device;

  before(async () => {
    relay = await cluster.relayProcess({ dbPath: join(await cluster.dir("cer-"), "relay.db") });
    a = await cluster.device("desk", relay.url, { syncIntervalMs: 200 });
    b = await cluster.device("couch", relay.url, { syncIntervalMs: 200 });
  });
  after(() => cluster.cleanup());

  it("serves its full history from its cache at once, OFFLINE", async () => {
    const { deviceIds } = await initAccount(a, [b]);
    await Promise.all([a, b].map((d) => waitForState(d, "ONLINE")));
    const mine = Array.from({ length: 1500 }, () => command(deviceIds[0]!));
    const theirs = Array.from({ length: 500 }, () => command(deviceIds[1]!));
    await a.client.push({ entries: mine.slice(0, 750) });
    await a.client.push({ entries: mine.slice(750) });
    await b.client.push({ entries: theirs, ack: "relay" });
    await b.client.push({ entries: [preference("shell", deviceIds[1]!, Date.now())], ack: "relay" });
    await waitForCommands(
      a,
      [...mine, ...theirs].map((e) => e.id),
      30_000,
    );
    const history = await pullAll(a);

    await cluster.stop(a);
    await relay.kill();
    await cluster.restart(a, relay.url);
    // The first pull the daemon accepts (INITIALIZING answers -32001 with retryAfterMs) has it all.
    const restored = await waitFor(() => pullAll(a), { timeoutMs: 10_000, intervalMs: 20, what: "a pull" });
    assert.deepEqual(restored.entries, history.entries);
    assert.equal(restored.cursor, history.cursor);
    const status = await a.client.status();
    assert.equal(status.state, "OFFLINE");
    assert.equal(status.connected, false);
    const devices = (await a.client.listDevices()).devices;
    assert.deepEqual(devices.map((x) => x.deviceId).sort(), [...deviceIds].sort());
  });
});
