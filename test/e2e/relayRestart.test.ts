// Issue #4, the relay dies mid-stream: two daemons push continuously while the relay process is
// SIGKILLed and started again on the same port with the same database. Nothing is lost, nothing
// is duplicated, both queues drain, and each daemon reports ONLINE → OFFLINE → ONLINE.
//
// Timing: the retry policy's first burst retries after 1 s, 2 s, 4 s, 8 s; the relay is back well
// within that, so reconnection takes a few seconds. syncIntervalMs (the probe interval after the
// burst) is 200 ms so that even a slow restart is noticed quickly.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { NotificationMap } from "../../src/protocol.js";
import type { RelayProcess } from "../helpers/relay.js";
import { waitFor } from "../helpers/wait.js";
import {
  assertUnique,
  Cluster,
  command,
  initAccount,
  pullAll,
  record,
  waitForCommands,
  waitForState,
  type Device,
} from "./support.js";

const FAST_RETRY = { syncIntervalMs: 200 };
const BATCH = 10;

describe("e2e: relay killed and restarted during pushes", () => {
  const cluster = new Cluster();
  let relay: RelayProcess;
  let dbPath: string;
  let a: Device;
  let b: Device;
  let deviceIds: string[];
  let auth: { authKey: string; accountId: string };
  const states = new Map<Device, NotificationMap["sync.stateChange"][]>();

  before(async () => {
    dbPath = join(await cluster.dir("cer-"), "relay.db");
    relay = await cluster.relayProcess({ dbPath });
    [a, b] = (await Promise.all(["left", "right"].map((n) => cluster.device(n, relay.url, FAST_RETRY)))) as [
      Device,
      Device,
    ];
    const init = await initAccount(a, [b]);
    deviceIds = init.deviceIds;
    auth = { authKey: init.authKey, accountId: init.accountId };
    await Promise.all([a, b].map((d) => waitForState(d, "ONLINE")));
    for (const d of [a, b]) {
      await d.client.subscribe({ events: ["sync.stateChange"] });
      states.set(d, record(d, "sync.stateChange"));
    }
  });
  after(() => cluster.cleanup());

  it("loses and duplicates nothing, drains both queues and reports ONLINE → OFFLINE → ONLINE", async () => {
    const pushed: string[] = [];
    let stop = false;
    // Each daemon pushes a batch after another, without waiting for the relay (ack: "local").
    const pusher = async (d: Device, deviceId: string) => {
      while (!stop) {
        const entries = Array.from({ length: BATCH }, () => command(deviceId));
        const result = await d.client.push({ entries });
        assert.deepEqual(result, { synced: BATCH, failed: [], errors: [] });
        pushed.push(...entries.map((e) => e.id));
        await waitFor(() => true); // one turn of the event loop between batches
      }
    };
    const pushing = Promise.all([pusher(a, deviceIds[0]!), pusher(b, deviceIds[1]!)]);
    try {
      await waitFor(() => pushed.length >= 100, { what: "pushes before the kill" });
      // A large push right before the kill, so that the relay dies in the middle of its upload.
      const big = Array.from({ length: 1000 }, () => command(deviceIds[0]!));
      assert.equal((await a.client.push({ entries: big })).synced, big.length);
      pushed.push(...big.map((e) => e.id));
      await relay.kill();
      await Promise.all([a, b].map((d) => waitForState(d, "OFFLINE", 10_000)));
      const whileDown = pushed.length;
      await waitFor(() => pushed.length >= whileDown + 100, { what: "pushes while the relay is down" });
      relay = await cluster.relayProcess({ dbPath, port: relay.port });
      await Promise.all([a, b].map((d) => waitForState(d, "ONLINE", 30_000)));
      const afterBack = pushed.length;
      await waitFor(() => pushed.length >= afterBack + 100, { what: "pushes after the restart" });
    } finally {
      stop = true;
      await pushing;
    }

    for (const d of [a, b]) {
      await waitFor(async () => (await d.client.health()).queue.pending === 0, {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: `${d.name} queue to drain`,
      });
    }
    for (const d of [a, b]) {
      await waitForCommands(d, pushed, 30_000);
      const { entries } = await pullAll(d, { types: ["command"] });
      assertUnique(entries, d.name);
      assert.equal(entries.length, pushed.length, `${d.name}: every pushed entry, once`);
      const health = await d.client.health();
      assert.equal(health.queue.failed, 0);
      assert.equal(health.state, "ONLINE");

      const seen = states.get(d)!.map((s) => `${s.from}→${s.to}`);
      const down = seen.indexOf("ONLINE→OFFLINE");
      assert.ok(down >= 0, `${d.name} reported going OFFLINE: ${seen.join(", ")}`);
      assert.ok(seen.indexOf("OFFLINE→ONLINE", down) > down, `${d.name} came back: ${seen.join(", ")}`);
    }

    // The restarted relay holds everything: a device that joins only now receives it all.
    const late = await cluster.device("late", relay.url, FAST_RETRY);
    await late.client.init({ ...auth, deviceName: late.name, platform: "linux" });
    await waitForCommands(late, pushed, 30_000);
    assertUnique((await pullAll(late)).entries, late.name);
    // The device list came through the outage whole: three devices, once each, on every daemon.
    for (const d of [a, b, late]) {
      const devices = await waitFor(
        async () => {
          const list = (await d.client.listDevices()).devices;
          return list.length === 3 ? list : null;
        },
        { timeoutMs: 20_000, intervalMs: 50, what: `${d.name} to list 3 devices` },
      );
      assert.equal(new Set(devices.map((x) => x.deviceId)).size, 3);
      assert.deepEqual(
        devices.filter((x) => x.isCurrentDevice).map((x) => x.name),
        [d.name],
      );
    }
  });
});
