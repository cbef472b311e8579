// Issue #9: the relay comes back without its data. A relay restarted on an empty database (as one
// started `--in-memory`, or one that lost its file) is given everything back by the devices that
// hold it, on their own, as soon as they reconnect; a device that joins afterwards gets all of it.
// A device that joined while the relay held only part of the account completes by itself once a
// device holding the rest has connected, without a reset, through a restart; until then it is
// unhealthy and says why.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { HealthResult } from "../../src/protocol.js";
import type { RelayProcess } from "../helpers/relay.js";
import { accountRefs, copyCoValues } from "../helpers/relayCopy.js";
import { waitFor } from "../helpers/wait.js";
import {
  Cluster,
  command,
  initAccount,
  randomAuthKey,
  waitForCommands,
  waitForState,
  type Device,
} from "./support.js";

const FAST_RETRY = { syncIntervalMs: 200 };

/** Waits until the device's health satisfies `ok`; returns that health. */
function waitForHealth(d: Device, what: string, ok: (h: HealthResult) => boolean, timeoutMs = 30_000) {
  return waitFor(
    async () => {
      const h = await d.client.health();
      return ok(h) ? h : null;
    },
    { timeoutMs, intervalMs: 100, what: `${d.name}: ${what}` },
  );
}

async function pushCommands(d: Device, deviceId: string, n: number): Promise<string[]> {
  const entries = Array.from({ length: n }, () => command(deviceId));
  const result = await d.client.push({ entries, ack: "relay" });
  assert.deepEqual(result, { synced: n, failed: [], errors: [] });
  return entries.map((e) => e.id);
}

describe("e2e: a relay restarted without its data", () => {
  const cluster = new Cluster();
  let relay: RelayProcess;
  let dir: string;
  after(() => cluster.cleanup());
  before(async () => {
    dir = await cluster.dir("cel-");
  });

  it("gets everything back from the devices by themselves; a device joining afterwards gets all 500 entries", async () => {
    relay = await cluster.relayProcess({ dbPath: join(dir, "relay-1.db") });
    const [a, b] = await Promise.all(["left", "right"].map((n) => cluster.device(n, relay.url, FAST_RETRY)));
    const init = await initAccount(a!, [b!]);
    await Promise.all([a!, b!].map((d) => waitForState(d, "ONLINE")));
    const pushed = await pushCommands(a!, init.deviceIds[0]!, 500);
    await waitForCommands(b!, pushed);
    await waitForHealth(a!, "complete before the loss", (h) => h.integrity.status === "complete");

    await relay.kill();
    await Promise.all([a!, b!].map((d) => waitForState(d, "OFFLINE", 15_000)));
    const lostAt = Date.now();
    relay = await cluster.relayProcess({ dbPath: join(dir, "relay-2.db"), port: relay.port });
    await Promise.all([a!, b!].map((d) => waitForState(d, "ONLINE", 30_000)));
    for (const d of [a!, b!]) {
      const h = await waitForHealth(
        d,
        "the relay to hold everything again",
        (h) => h.integrity.status === "complete" && (h.integrity.checkedAt ?? 0) > lostAt,
      );
      assert.equal(h.healthy, true);
      assert.equal(h.queue.pending, 0);
    }

    const c = await cluster.device("late", relay.url, FAST_RETRY);
    const joined = await c.client.init({
      authKey: init.authKey,
      accountId: init.accountId,
      deviceName: c.name,
      platform: "linux",
    });
    assert.equal(joined.accountId, init.accountId);
    await waitForCommands(c, pushed, 30_000);
    const h = await waitForHealth(c, "complete", (h) => h.integrity.status === "complete");
    assert.equal(h.healthy, true);
  });

  it("a device that joined while the relay held only part of the account completes by itself, through a restart", async () => {
    const full = await cluster.relayProcess({ dbPath: join(dir, "full.db") });
    const a = await cluster.device("first", full.url, FAST_RETRY);
    const init = await initAccount(a, [], randomAuthKey());
    await waitForState(a, "ONLINE");
    const pushed = await pushCommands(a, init.deviceIds[0]!, 500);
    await cluster.stop(a);

    // The relay the devices use from now on holds the account alone: no profile, no root.
    const partial = await cluster.relayProcess({ dbPath: join(dir, "partial.db") });
    await copyCoValues({ fromUrl: full.url, toUrl: partial.url, ids: [init.accountId] });
    const d = await cluster.device("joiner", partial.url, FAST_RETRY);
    const joined = await d.client.init({
      authKey: init.authKey,
      accountId: init.accountId,
      deviceName: d.name,
      platform: "linux",
    });
    assert.equal(joined.accountId, init.accountId, "the join itself is accepted: the account exists");
    // Unhealthy, saying why, and probing on the policy's schedule (a next attempt is planned).
    let h = await waitForHealth(
      d,
      "unhealthy, account incomplete, probing",
      (h) => h.lastError?.reason === "account_incomplete" && h.nextRetryAt !== null,
    );
    assert.equal(h.healthy, false);
    assert.equal(h.lastError?.code, -32003);

    // Now the relay has the profile and the root, but none of the root's parts.
    const refs = await accountRefs(full.url, init.accountId);
    await copyCoValues({ fromUrl: full.url, toUrl: partial.url, ids: [refs.profile, refs.root] });
    h = await waitForHealth(d, "opened, the root incomplete", (h) => h.integrity.status === "incomplete");
    assert.equal(h.healthy, false);
    assert.ok(
      h.integrity.missing.some((m) => m.where === "relay" && m.part === "commandHistory"),
      JSON.stringify(h.integrity.missing),
    );

    // A restart does not make it worse.
    await cluster.stop(d);
    await cluster.restart(d, partial.url);
    h = await waitForHealth(d, "incomplete after the restart", (h) => h.integrity.status === "incomplete");
    assert.equal(h.healthy, false);

    // The first device comes back to this relay and gives it the rest: the joiner completes alone.
    await full.stop();
    await cluster.restart(a, partial.url);
    await waitForCommands(d, pushed, 30_000);
    await waitForHealth(d, "complete", (h) => h.integrity.status === "complete" && h.healthy);
    // Its own device record, queued while the root was incomplete, goes up too.
    await waitFor(async () => (await d.client.status()).pendingUp === 0, {
      what: "the joiner's queue to drain",
    });
  });
});
