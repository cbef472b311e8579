// Issue #9 item 2: completeness you can check and repair. `caro-sync verify` on real daemons and a
// real relay: every device's commands counted and digested in the cache, in Jazz's storage and on
// the relay, the same on both daemons; and when Jazz's storage and the relay have both lost the
// history, the cache gives it back (the daemon's background check repairs it; `verify --repair`
// reports it), so a device joining afterwards gets every entry.
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { VerifyResult } from "../../src/protocol.js";
import { caroSync, oneJson } from "../cli/run.js";
import type { RelayProcess } from "../helpers/relay.js";
import { waitFor } from "../helpers/wait.js";
import { Cluster, command, initAccount, waitForCommands, waitForState, type Device } from "./support.js";

const FAST_RETRY = { syncIntervalMs: 200 };

async function push(d: Device, deviceId: string, n: number): Promise<string[]> {
  const entries = Array.from({ length: n }, () => command(deviceId));
  assert.equal((await d.client.push({ entries, ack: "relay" })).synced, n);
  return entries.map((e) => e.id);
}

/** `caro-sync verify --json [--repair]` against the device's daemon. */
async function verifyCli(d: Device, repair = false): Promise<{ code: number | null; result: VerifyResult }> {
  const run = await caroSync(["verify", "--json", ...(repair ? ["--repair"] : [])], {
    home: d.home,
    socket: d.proc.socketPath,
  });
  return { code: run.code, result: oneJson(run) as VerifyResult };
}

describe("e2e: sync.verify and caro-sync verify", () => {
  const cluster = new Cluster();
  let relay: RelayProcess;
  let dir: string;
  before(async () => {
    dir = await cluster.dir("cev-");
    relay = await cluster.relayProcess({ dbPath: join(dir, "relay-1.db") });
  });
  after(() => cluster.cleanup());

  it("counts and digests every device's commands alike in the cache, Jazz and on the relay, on both daemons", async () => {
    const [a, b] = await Promise.all(["left", "right"].map((n) => cluster.device(n, relay.url, FAST_RETRY)));
    const init = await initAccount(a!, [b!]);
    await Promise.all([a!, b!].map((d) => waitForState(d, "ONLINE")));
    const fromA = await push(a!, init.deviceIds[0]!, 120);
    const fromB = await push(b!, init.deviceIds[1]!, 80);
    await Promise.all([a!, b!].map((d) => waitForCommands(d, [...fromA, ...fromB])));

    const results = await Promise.all(
      [a!, b!].map(async (d) => {
        const { code, result } = await verifyCli(d);
        assert.equal(code, 0, `${d.name}: exit 0 when complete`);
        return result;
      }),
    );
    for (const r of results) {
      assert.equal(r.complete, true, JSON.stringify(r.missing));
      assert.deepEqual(r.missing, { parts: [], commands: [] });
      const counts = Object.fromEntries(r.devices.map((d) => [d.deviceId, d.cache.commands]));
      assert.deepEqual(counts, { [init.deviceIds[0]!]: 120, [init.deviceIds[1]!]: 80 });
      for (const d of r.devices)
        assert.ok(d.jazz?.digest === d.cache.digest && d.relay?.digest === d.cache.digest);
    }
    assert.deepEqual(results[0]!.devices, results[1]!.devices, "the same digests on both daemons");
    await Promise.all([a!, b!].map((d) => cluster.stop(d)));
  });

  it("gives the history back from the cache when Jazz's storage and the relay both lost it", async () => {
    const a = await cluster.device("keeper", relay.url, FAST_RETRY);
    const init = await initAccount(a, []);
    await waitForState(a, "ONLINE");
    const pushed = await push(a, init.deviceIds[0]!, 300);
    await cluster.stop(a);
    // Both copies of the history in Jazz go: this device's storage file, and the relay's database.
    for (const suffix of ["", "-wal", "-shm"])
      await rm(join(a.home, ".cache", "cmdai", `sync.jazz.db${suffix}`), { force: true });
    await relay.kill();
    relay = await cluster.relayProcess({ dbPath: join(dir, "relay-2.db"), port: relay.port });

    await cluster.restart(a, relay.url);
    await waitForState(a, "ONLINE", 30_000);
    // The background check repairs by itself; verify then finds everything everywhere.
    const { code, result } = await waitFor(
      async () => {
        const run = await verifyCli(a, true);
        return run.result.complete ? run : null;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: "verify --repair to report complete" },
    );
    assert.equal(code, 0);
    assert.equal(result.total.cache.commands, 300);
    assert.deepEqual(result.total.relay, result.total.cache);

    const c = await cluster.device("newcomer", relay.url, FAST_RETRY);
    await c.client.init({
      authKey: init.authKey,
      accountId: init.accountId,
      deviceName: c.name,
      platform: "linux",
    });
    await waitForCommands(c, pushed, 30_000);
  });
});
