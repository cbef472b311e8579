// A relay that comes back empty: its database is lost (a new host, a restore from nothing) and it
// restarts on the same address with no data at all. The devices still hold everything they ever
// had; once they reconnect they upload it again, so a device that joins afterwards with the
// account's key receives the whole history, and pushes made after the loss reach every device.
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { RelayProcess } from "../helpers/relay.js";
import { size } from "../helpers/soak.js";
import { command, waitForState } from "../e2e/support.js";
import { reliabilityScenario, UNLIMITED } from "./harness.js";

const LOSSES = size({ ci: 1, soak: 3 });
const ENTRIES_PER_DEVICE = size({ ci: 200, soak: 2_000 });
const SETTINGS = { syncIntervalMs: 200, ...UNLIMITED };

reliabilityScenario(
  "relay comes back empty",
  "re-uploads everything the devices hold to a relay that lost its database",
  async (s) => {
    const dir = await s.cluster.dir("cre-");
    const dbPath = join(dir, "relay.db");
    let relay: RelayProcess = await s.cluster.relayProcess({ dbPath });
    const [a, b] = await s.pair(relay.url, ["a", "b"], SETTINGS);
    const { deviceIds, authKey, accountId } = await s.account(a, [b]);
    const pushOnBoth = async () => {
      for (const [i, d] of [a, b].entries()) {
        const entries = Array.from({ length: ENTRIES_PER_DEVICE }, () => command(deviceIds[i]!));
        assert.equal((await s.push(d.client, entries)).synced, entries.length);
      }
    };

    for (let loss = 1; loss <= LOSSES; loss++) {
      await pushOnBoth();
      await s.verify([a, b]); // the relay held everything before it lost it
      await relay.kill();
      s.counts.kills++;
      s.counts.outages++;
      for (const suffix of ["", "-wal", "-shm"]) await rm(dbPath + suffix, { force: true });
      relay = await s.cluster.relayProcess({ dbPath, port: relay.port });
      await Promise.all([a, b].map((d) => waitForState(d, "ONLINE", 30_000)));
      // Pushed after the loss: they must travel through the new, empty relay.
      await pushOnBoth();
      await s.verify([a, b], { timeoutMs: 30_000 });

      // A device that joins only now gets the whole history from the relay.
      const late = await s.cluster.device(`late${loss}`, relay.url, SETTINGS);
      const joined = await late.client.init({ authKey, accountId, deviceName: late.name, platform: "linux" });
      assert.equal(joined.accountId, accountId);
      await waitForState(late, "ONLINE", 20_000);
      await s.verify([late], { timeoutMs: 30_000 });
    }
  },
);
