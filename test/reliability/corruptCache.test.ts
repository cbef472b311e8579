// A corrupt cache, round after round: a daemon on a relay stores entries the relay confirms and
// (paused) entries only its queue holds, stops, and pages of its sync.db holding confirmed entries
// are overwritten with random bytes. The daemon refuses the file (exit 65); `caro-sync repair`
// moves it aside, salvages the queue and rebuilds; the daemon runs on. Every acknowledged entry,
// confirmed or only queued at the time of the damage, is then on this device and on a second one,
// exactly once. (Damage to the only copy of an unsynced entry cannot be undone by anything; what
// repair reports then is test/cli/repair.test.ts's subject.)
import assert from "node:assert/strict";
import type { RepairReport } from "../../src/cli/commands/repair.js";
import { SyncClient } from "../../src/client/SyncClient.js";
import { caroSync, oneJson } from "../cli/run.js";
import { entryLeaves, overwritePages } from "../helpers/corrupt.js";
import { spawnDaemon } from "../helpers/daemon.js";
import { size } from "../helpers/soak.js";
import { command, waitForState } from "../e2e/support.js";
import { reliabilityScenario, UNLIMITED } from "./harness.js";

const ROUNDS = size({ ci: 1, soak: 5 });
const UPLOADED = size({ ci: 300, soak: 1_000 });
const QUEUED = size({ ci: 40, soak: 200 });

reliabilityScenario(
  "corrupt cache",
  "loses nothing acknowledged when pages of the cache are destroyed and repaired",
  async (s, t) => {
    const relay = await s.cluster.relay();
    const [target, witness] = await s.pair(relay.url, ["target", "witness"], UNLIMITED);
    const { deviceIds } = await s.account(target, [witness]);
    const env = { ...target.proc.env } as Record<string, string>;

    // Whatever happens, no background daemon outlives the scenario.
    s.onCleanup(async () => void (await caroSync(["stop"], { home: target.home, env })));
    for (let round = 1; round <= ROUNDS; round++) {
      const uploaded = Array.from({ length: UPLOADED }, () => command(deviceIds[0]!));
      assert.equal((await s.push(target.client, uploaded, "relay")).synced, UPLOADED);
      await target.client.pause();
      const queued = Array.from({ length: QUEUED }, () => command(deviceIds[0]!));
      assert.equal((await s.push(target.client, queued)).synced, QUEUED);
      await s.cluster.stop(target);

      // Destroy two leaf pages of entries the relay confirmed in this round.
      const queuedIds = new Set(queued.map((e) => e.id));
      const thisRound = new Set(uploaded.map((e) => e.id));
      const leaves = entryLeaves(target.proc.cachePath).filter(
        (p) => p.ids.length > 0 && p.ids.every((id) => thisRound.has(id) && !queuedIds.has(id)),
      );
      assert.ok(leaves.length >= 2, "pages of uploaded entries to damage");
      const damaged = [leaves[0]!, leaves[Math.floor(leaves.length / 2)]!];
      overwritePages(
        target.proc.cachePath,
        damaged.map((p) => p.pageno),
      );
      s.counts.messagesFuzzed += damaged.length;

      const refused = await spawnDaemon({ home: target.home, env, waitReady: false });
      assert.equal(await refused.exited, 65, refused.stderr());
      s.addLog(`refused daemon (round ${round})`, refused.stderr());

      const run = await caroSync(["repair", "--json"], { home: target.home, env });
      s.addLog(`caro-sync repair (round ${round})`, run.stdout + run.stderr);
      assert.equal(run.code, 0, run.stderr + run.stdout);
      const report = oneJson(run) as RepairReport;
      assert.equal(report.repaired, true);
      assert.deepEqual(report.unrecovered, []);
      assert.equal(report.salvage?.salvaged, QUEUED);
      t.diagnostic(`round ${round}: ${damaged.length} pages destroyed, ${QUEUED} queued entries salvaged`);
      // Repair left its daemon running in the background: check through it, then stop it.
      target.client = await SyncClient.connect({ socketPath: target.proc.socketPath });
      await waitForState(target, "ONLINE", 30_000);
      await s.verify([target, witness]);
      target.client.close();
      const stopped = await caroSync(["stop"], { home: target.home, env });
      s.addLog(`caro-sync stop (round ${round})`, stopped.stdout + stopped.stderr);
      assert.equal(stopped.code, 0, stopped.stderr);
      if (round < ROUNDS) {
        await s.cluster.restart(target, relay.url);
        await waitForState(target, "ONLINE", 30_000);
      }
    }
  },
);
