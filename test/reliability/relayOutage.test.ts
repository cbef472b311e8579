// The relay dies and hangs during pushes: two daemons push continuously while the relay process is,
// in turn, SIGKILLed (then started again on its port and database) and SIGSTOPped (then continued:
// a frozen host, every connection still open, noticed only by the client's ping timeout of 10 s).
// Each outage right after a large push, so it lands in the middle of an upload. Nothing acknowledged
// is lost or duplicated, both queues drain, each daemon reports ONLINE → OFFLINE → ONLINE every
// time, and a device that joins afterwards receives everything from the relay.
//
// Timing: after a drop the retry policy tries again after 1, 2, 4, 8 s, then probes every
// syncIntervalMs (200 ms here), so a relay that is back is found within seconds.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { NotificationMap } from "../../src/protocol.js";
import type { RelayProcess } from "../helpers/relay.js";
import { size } from "../helpers/soak.js";
import { waitFor } from "../helpers/wait.js";
import { command, record, waitForState, type Device } from "../e2e/support.js";
import { keepPushing, PushMeter, reliabilityScenario, UNLIMITED } from "./harness.js";

const OUTAGES = size({ ci: 3, soak: 10 });
const SETTINGS = { syncIntervalMs: 200, ...UNLIMITED };
/** Entries acknowledged before, during and after each outage. */
const ACKS_PER_PHASE = size({ ci: 100, soak: 500 });

reliabilityScenario(
  "relay killed and stopped",
  `loses and duplicates nothing through ${OUTAGES} relay outages (SIGKILL and SIGSTOP in turn)`,
  async (s) => {
    const dbPath = join(await s.cluster.dir("cer-"), "relay.db");
    let relay: RelayProcess = await s.cluster.relayProcess({ dbPath });
    const [a, b] = await s.pair(relay.url, ["left", "right"], SETTINGS);
    const { deviceIds, authKey, accountId } = await s.account(a, [b]);
    const states = new Map<Device, NotificationMap["sync.stateChange"][]>();
    for (const d of [a, b]) {
      await d.client.subscribe({ events: ["sync.stateChange"] });
      states.set(d, record(d, "sync.stateChange"));
    }

    let stop = false;
    let answered = 0;
    const meter = new PushMeter(s.ledger);
    const pushing = Promise.all(
      [a, b].map(async (d, i) => {
        const opts = { stop: () => stop, paused: meter.paused, maxBatch: 10 };
        answered += await keepPushing(s, d.client, deviceIds[i]!, opts);
      }),
    );
    const morePushes = (what: string) => meter.more(ACKS_PER_PHASE, what);
    try {
      for (let i = 0; i < OUTAGES; i++) {
        const kill = i % 2 === 0;
        await morePushes(`pushes before outage ${i + 1}`);
        // A large push right before the outage, so that it strikes in the middle of its upload.
        const big = Array.from({ length: 1000 }, () => command(deviceIds[0]!));
        assert.equal((await s.push(a.client, big)).synced, big.length);
        // Pushes keep coming while the relay goes away.
        const during = morePushes(`pushes as the relay goes away (outage ${i + 1})`);
        if (kill) {
          await relay.kill();
          s.counts.kills++;
        } else {
          relay.freeze();
        }
        s.counts.outages++;
        // SIGSTOP is noticed only when the relay's pings stop for 10 s.
        await Promise.all([a, b].map((d) => waitForState(d, "OFFLINE", kill ? 10_000 : 30_000)));
        await during;
        await morePushes(`pushes while the relay is down (outage ${i + 1})`);
        if (kill) relay = await s.cluster.relayProcess({ dbPath, port: relay.port });
        else relay.thaw();
        await Promise.all([a, b].map((d) => waitForState(d, "ONLINE", 30_000)));
      }
      await morePushes("pushes after the last outage");
    } finally {
      stop = true;
      await pushing;
    }

    await s.verify([a, b]);
    for (const d of [a, b]) {
      const health = await d.client.health();
      assert.equal(health.queue.failed, 0);
      assert.equal(health.state, "ONLINE");
      // Every outage was reported, and every one of them ended.
      const seen = states.get(d)!.map((x) => `${x.from}→${x.to}`);
      const downs = seen.filter((x) => x === "ONLINE→OFFLINE").length;
      assert.ok(downs >= OUTAGES, `${d.name} reported each outage: ${seen.join(", ")}`);
      assert.equal(seen.at(-1), "OFFLINE→ONLINE", `${d.name} came back: ${seen.join(", ")}`);
    }

    // The relay holds everything: a device that joins only now receives it all, once.
    const late = await s.cluster.device("late", relay.url, SETTINGS);
    await late.client.init({ authKey, accountId, deviceName: late.name, platform: "linux" });
    await s.verify([late]);
    // The device list came through the outages whole: three devices, once each, on every daemon.
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
    s.note(`${answered} pushes answered.`);
  },
);
