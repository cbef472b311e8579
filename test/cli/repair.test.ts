// Issue 9, item 4: `caro-sync repair` on a real damaged cache. A daemon on a real relay uploads
// some entries and queues others (paused), stops; pages of its sync.db are overwritten; the daemon
// then refuses to start (exit 65). Repair moves the file aside (it stays on disk), salvages what
// SQLite can still read of the queued entries, starts the daemon on a fresh cache (the uploaded
// entries come back from Jazz's local storage), pushes the salvaged ones again and reports. After
// it, sync.pull holds every entry that could be recovered, each once.
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { afterEach, describe, it } from "node:test";
import { SyncClient } from "../../src/client/SyncClient.js";
import type { RepairReport } from "../../src/cli/commands/repair.js";
import { cacheWithQueue, entryLeaves, overwritePages, type QueuedCache } from "../helpers/corrupt.js";
import { pullEverything, spawnDaemon } from "../helpers/daemon.js";
import { caroSync, oneJson } from "./run.js";

const UPLOADED = 200;
const QUEUED = 40;

async function commandIds(scenario: QueuedCache): Promise<string[]> {
  const client = await SyncClient.connect({ socketPath: scenario.socketPath });
  try {
    const { entries } = await pullEverything(client, { types: ["command"] });
    return entries.map((e) => e.id);
  } finally {
    client.close();
  }
}

async function refusesToStart(scenario: QueuedCache): Promise<void> {
  const daemon = await spawnDaemon({ home: scenario.home, env: scenario.env, waitReady: false });
  try {
    assert.equal(await daemon.exited, 65, daemon.stderr());
    assert.match(daemon.stderr(), /caro-sync repair/);
  } finally {
    await daemon.cleanup();
  }
}

async function repair(scenario: QueuedCache, args: string[] = []) {
  const run = await caroSync(["repair", "--json", ...args], { home: scenario.home, env: scenario.env });
  return { run, report: oneJson(run) as RepairReport };
}

describe("caro-sync repair", () => {
  let scenario: QueuedCache | undefined;
  afterEach(async () => {
    if (!scenario) return;
    // The daemon repair started runs in the background on the scenario's HOME.
    await caroSync(["stop"], { home: scenario.home, env: scenario.env });
    await scenario.cleanup();
    scenario = undefined;
  });

  it("moves a damaged cache aside, salvages its queued entries, rebuilds and pushes them again", async () => {
    scenario = await cacheWithQueue({ uploaded: UPLOADED, queued: QUEUED });
    // Pages of uploaded entries only: the queued ones (the last rows) stay readable.
    const leaves = entryLeaves(scenario.cachePath);
    const damaged = leaves.slice(2, 4);
    assert.ok(damaged.every((p) => p.ids.every((id) => !scenario!.queued.includes(id))));
    overwritePages(
      scenario.cachePath,
      damaged.map((p) => p.pageno),
    );
    await refusesToStart(scenario);

    const { run, report } = await repair(scenario);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.equal(report.repaired, true);
    assert.ok(report.damage !== null);
    const moved = report.movedAside!;
    assert.ok(moved.database.startsWith(`${scenario.cachePath}.corrupt-`));
    assert.ok(existsSync(moved.database), "the damaged file is kept");
    assert.deepEqual(report.salvage && { ...report.salvage, file: undefined }, {
      file: undefined,
      queued: QUEUED,
      salvaged: QUEUED,
      unreadable: 0,
    });
    assert.equal(statSync(report.salvage!.file).mode & 0o777, 0o600);
    const salvaged = JSON.parse(readFileSync(report.salvage!.file, "utf8")) as { records: { id: string }[] };
    assert.deepEqual(salvaged.records.map((r) => r.id).sort(), [...scenario.queued].sort());
    assert.equal(report.repushed?.pushed, QUEUED);
    assert.equal(report.repushed?.failed, 0);
    assert.deepEqual(report.unrecovered, []);
    assert.equal(report.rebuilt?.settled, true);

    const ids = await commandIds(scenario);
    assert.equal(new Set(ids).size, ids.length, "nothing duplicated");
    assert.deepEqual([...ids].sort(), [...scenario.uploaded, ...scenario.queued].sort());
    // One device record besides the commands.
    assert.equal(report.rebuilt?.entries, UPLOADED + QUEUED + 1);

    // A running, healthy daemon: nothing to repair.
    const again = await repair(scenario);
    assert.equal(again.run.code, 0, again.run.stderr);
    assert.equal(again.report.repaired, false);
    assert.match(again.report.message ?? "", /healthy: nothing to repair/);

    // The salvage file pushed again (as after a daemon that did not start): idempotent.
    const from = await repair(scenario, ["--from", report.salvage!.file]);
    assert.equal(from.run.code, 0, from.run.stderr);
    assert.equal(from.report.repushed?.pushed, QUEUED);
    const after = await commandIds(scenario);
    assert.equal(after.length, ids.length, "nothing duplicated by a second push");
  });

  it("counts the queued entries it could not read, exits 1, and recovers all the rest", async () => {
    scenario = await cacheWithQueue({ uploaded: UPLOADED, queued: QUEUED });
    // The last leaf page of entries holds the last queued entries.
    const last = entryLeaves(scenario.cachePath).at(-1)!;
    const lost = last.ids;
    assert.ok(lost.length > 0 && lost.every((id) => scenario!.queued.includes(id)));
    overwritePages(scenario.cachePath, [last.pageno]);
    await refusesToStart(scenario);

    const { run, report } = await repair(scenario);
    assert.equal(run.code, 1, run.stderr + run.stdout);
    assert.equal(report.salvage?.queued, QUEUED);
    assert.equal(report.salvage?.unreadable, lost.length);
    assert.equal(report.salvage?.salvaged, QUEUED - lost.length);
    assert.equal(report.repushed?.pushed, QUEUED - lost.length);
    for (const id of lost)
      assert.ok(
        report.unrecovered.some((u) => u.includes(id)),
        `${id} reported`,
      );

    const ids = await commandIds(scenario);
    assert.equal(new Set(ids).size, ids.length, "nothing duplicated");
    const recovered = [...scenario.uploaded, ...scenario.queued.filter((id) => !lost.includes(id))];
    assert.deepEqual([...ids].sort(), recovered.sort());
  });

  it("says there is nothing to repair when the cache is sound and the daemon stopped", async () => {
    scenario = await cacheWithQueue({ uploaded: 5, queued: 2 });
    const { run, report } = await repair(scenario);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(report.repaired, false);
    assert.match(report.message ?? "", /passed quick_check: nothing to repair/);
    assert.ok(existsSync(scenario.cachePath));
  });
});
