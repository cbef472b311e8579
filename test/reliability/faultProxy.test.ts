// A faulty network between the daemons and the relay: each daemon reaches the relay through its
// own fault-injecting TCP proxy (test/helpers/faultProxy.ts) that, phase after phase, delays
// chunks, truncates the connection mid-frame (FIN), resets it mid-frame (RST) and drops it (the
// connection goes silent both ways, as a lost route does, until the client's 10 s ping timeout).
// Both daemons push all along. After each phase the network heals and both daemons must be ONLINE
// with their queues drained; in the end every acknowledged entry is on both devices exactly once.
// The proxies' dice are seeded; the seed is in the test's diagnostics (CARO_SYNC_FAULT_SEED
// replays a run).
import assert from "node:assert/strict";
import { fuzzSeed } from "../helpers/fuzz.js";
import type { Faults, FaultStats } from "../helpers/faultProxy.js";
import { size } from "../helpers/soak.js";
import { waitFor } from "../helpers/wait.js";
import { type Device, type NetworkLink } from "../e2e/support.js";
import { keepPushing, PushMeter, reliabilityScenario, UNLIMITED } from "./harness.js";

const ROUNDS = size({ ci: 1, soak: 4 });
/** Connection faults of each kind per round; each one is armed, strikes once, and heals. */
const STRIKES = size({ ci: 2, soak: 5 });
const ACKS_PER_PHASE = size({ ci: 200, soak: 1_000 });

/** Connection faults: each strike ends (or silences) a connection, so it is armed for one chunk. */
const CONNECTION_FAULTS: {
  name: string;
  faults: Faults;
  count: (s: FaultStats) => number;
  strikes: number;
}[] = [
  { name: "truncate", faults: { truncate: 0.5 }, count: (s) => s.truncated, strikes: STRIKES },
  { name: "reset", faults: { reset: 0.5 }, count: (s) => s.reset, strikes: STRIKES },
  // Noticed only by the 10 s ping timeout: once a round in CI, twice in the soak.
  { name: "drop", faults: { drop: 0.5 }, count: (s) => s.dropped, strikes: size({ ci: 1, soak: 2 }) },
];

const injected = (s: FaultStats) => s.delayed + s.dropped + s.truncated + s.reset;

reliabilityScenario(
  "fault-injecting proxy",
  "loses and duplicates nothing through delayed, truncated, reset and dropped relay connections",
  async (s, t) => {
    const seed = fuzzSeed("CARO_SYNC_FAULT_SEED");
    t.diagnostic(`seed ${seed} (CARO_SYNC_FAULT_SEED)`);
    const relay = await s.cluster.relay();
    const links = [
      await s.cluster.link(relay, { seed }),
      await s.cluster.link(relay, { seed: seed + 1 }),
    ] as [NetworkLink, NetworkLink];
    const devices = (await Promise.all(
      links.map((link, i) => s.cluster.device(`dev${i}`, link.url, { syncIntervalMs: 200, ...UNLIMITED })),
    )) as [Device, Device];
    const { deviceIds } = await s.account(devices[0], [devices[1]]);

    let stop = false;
    const meter = new PushMeter(s.ledger);
    const pushing = Promise.all(
      devices.map((d, i) =>
        keepPushing(s, d.client, deviceIds[i]!, { stop: () => stop, paused: meter.paused, maxBatch: 10 }),
      ),
    );
    const total = (count: (st: FaultStats) => number) => links.reduce((n, l) => n + count(l.stats()), 0);
    const healed = async (what: string) => {
      for (const d of devices) {
        await waitFor(
          async () => {
            const h = await d.client.health();
            return h.state === "ONLINE" && h.queue.pending === 0;
          },
          { timeoutMs: 60_000, intervalMs: 50, what: `${d.name} ONLINE and drained after ${what}` },
        );
      }
    };
    try {
      for (let round = 0; round < ROUNDS; round++) {
        // Every chunk late by up to 100 ms, both ways: uploads still complete.
        for (const link of links) link.setFaults({ delay: 1, maxDelayMs: 100 });
        await meter.more(ACKS_PER_PHASE, "pushes while delayed");
        await healed("delays");
        for (const link of links) link.setFaults({});
        for (const phase of CONNECTION_FAULTS) {
          for (let n = 0; n < phase.strikes; n++) {
            const before = total(phase.count);
            const pushes = meter.more(ACKS_PER_PHASE, `pushes during ${phase.name}`);
            for (const link of links) link.setFaults(phase.faults);
            await waitFor(() => total(phase.count) > before, {
              timeoutMs: 30_000,
              intervalMs: 5,
              what: `a ${phase.name} fault`,
            });
            for (const link of links) link.setFaults({});
            await pushes;
            await healed(phase.name);
          }
        }
      }
      await meter.more(ACKS_PER_PHASE, "pushes on a healed network");
    } finally {
      stop = true;
      await pushing;
    }
    s.counts.messagesFuzzed = total(injected);
    s.counts.outages = total((st) => st.dropped + st.truncated + st.reset);

    await s.verify(devices);
    for (const d of devices) assert.equal((await d.client.health()).queue.failed, 0);
    t.diagnostic(JSON.stringify(links.map((l) => l.stats())));
  },
);
