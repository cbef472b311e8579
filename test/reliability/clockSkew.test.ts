// Clocks skewed by ±1 day. Three daemons on one relay: one whose clock is a day ahead, one a day
// behind (Date.now() shifted in the daemon process by a preload, test/helpers/skewedClock.ts), one
// on time; their clients stamp entries with their daemon's time. Preferences go by updatedAt, never
// by arrival: the value stamped a day ahead wins everywhere even when it was written first and the
// others after it. Cursors never go backwards: a client that pulls from its last nextCursor, on
// every device, sees them only grow, also across restarts that move a daemon's clock back by two
// days (and another's forward by two), and it receives every entry that arrives after those jumps.
//
// The last scenario: a device whose clock reads earlier than the moment another device created the
// account. Its Jazz transactions are dated by the relay's clock (cojsonAdapter followRelayClock);
// dated by its own, the relay would confirm them and no other device would ever accept them.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { SyncClient } from "../../src/client/SyncClient.js";
import { skewedClockEnv } from "../helpers/skewedClock.js";
import { size } from "../helpers/soak.js";
import { waitFor } from "../helpers/wait.js";
import {
  Cluster,
  command,
  initAccount,
  preference,
  pullAll,
  waitForCommands,
  waitForState,
  type Device,
} from "../e2e/support.js";
import { reliabilityScenario, type Scenario, UNLIMITED } from "./harness.js";

const DAY = 86_400_000;
const ENTRIES = size({ ci: 50, soak: 1_000 });
const JUMPS = size({ ci: 1, soak: 4 });

/** A client that pulls from its last nextCursor, as clients should, checking that it only grows. */
class CursorWatch {
  private since: number | null = null;
  readonly seen = new Set<string>();
  pages = 0;

  constructor(
    private readonly device: Device,
    private readonly s: Scenario,
  ) {}

  async catchUp(client: SyncClient = this.device.client): Promise<void> {
    for (;;) {
      const page = await client.pull({ since: this.since, limit: 100 });
      this.pages++;
      const previous = this.since ?? 0;
      assert.ok(page.nextCursor >= previous, `${this.device.name}: cursor went back to ${page.nextCursor}`);
      if (page.entries.length > 0)
        assert.ok(page.nextCursor > previous, `${this.device.name}: entries without a newer cursor`);
      for (const e of page.entries) this.seen.add(`${e.type}:${e.id}`);
      this.since = page.nextCursor;
      if (!page.hasMore) return;
    }
  }

  /** True once every acknowledged command has come through this watch. */
  async holdsAll(): Promise<boolean> {
    await this.catchUp();
    return this.s.ledger.ackedIds().every((id) => this.seen.has(`command:${id}`));
  }
}

reliabilityScenario(
  "clocks skewed by a day",
  "keeps LWW by updatedAt and cursors monotonic with daemon clocks a day ahead and behind",
  async (s) => {
    const relay = await s.cluster.relay();
    const skew = { exact: 0, ahead: DAY, behind: -DAY };
    const devices = {} as Record<keyof typeof skew, Device>;
    for (const name of ["exact", "ahead", "behind"] as const)
      devices[name] = await s.cluster.device(name, relay.url, UNLIMITED, { env: skewedClockEnv(skew[name]) });
    const all = [devices.behind, devices.exact, devices.ahead];
    // The account is created on the clock furthest behind, the others join: every device writes
    // after the account exists by its own clock too (the next scenario covers one that does not).
    const { deviceIds } = await s.account(devices.behind, [devices.exact, devices.ahead]);
    const idOf = (d: Device) => deviceIds[all.indexOf(d)]!;
    const watches = new Map(all.map((d) => [d, new CursorWatch(d, s)]));
    const catchUpAll = () => Promise.all(all.map((d) => watches.get(d)!.catchUp()));
    const drained = (d: Device) =>
      waitFor(async () => (await d.client.health()).queue.pending === 0, {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: `${d.name} to upload`,
      });
    const pushCommands = async () => {
      for (const [name, d] of Object.entries(devices)) {
        const now = Date.now() + skew[name as keyof typeof skew];
        const entries = Array.from({ length: ENTRIES }, (_, i) => command(idOf(d), { createdAt: now + i }));
        assert.equal((await s.push(d.client, entries)).synced, ENTRIES);
        await catchUpAll();
      }
    };

    await pushCommands();

    // Written a day ahead first, then on time, then a day behind, each uploaded before the next:
    // the first one written still wins everywhere. And the other way round for a second key.
    const orders = { theme: ["ahead", "exact", "behind"], font: ["behind", "exact", "ahead"] } as const;
    const winners = new Map<string, string>();
    for (const [key, order] of Object.entries(orders)) {
      for (const name of order) {
        const d = devices[name];
        const p = preference(key, idOf(d), Date.now() + skew[name]);
        if (name === "ahead") winners.set(key, p.encrypted);
        // A losing write is still accepted: the daemon holds the newer value.
        assert.deepEqual(await d.client.push({ entries: [p] }), { synced: 1, failed: [], errors: [] });
        await drained(d);
        await catchUpAll();
      }
    }
    for (const d of all) {
      await waitFor(
        async () => {
          const prefs = (await pullAll(d, { types: ["preference"] })).entries;
          return [...winners].every(([key, value]) => prefs.find((p) => p.id === key)?.encrypted === value);
        },
        { timeoutMs: 20_000, intervalMs: 50, what: `${d.name}: the value stamped a day ahead wins` },
      );
    }

    // The clocks jump: the one ahead goes two days back, the one behind two days forward.
    for (let jump = 1; jump <= JUMPS; jump++) {
      [skew.ahead, skew.behind] = [skew.behind, skew.ahead];
      for (const name of ["ahead", "behind"] as const) {
        devices[name].client.close();
        await s.cluster.restart(devices[name], relay.url, { env: skewedClockEnv(skew[name]) });
        await waitForState(devices[name], "ONLINE", 30_000);
      }
      await catchUpAll();
      await pushCommands();
    }
    s.note(`${JUMPS} clock jump(s) of two days back and forward; ${ENTRIES} commands per device per phase.`);

    for (const d of all) {
      const watch = watches.get(d)!;
      await waitFor(() => watch.holdsAll(), {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: `${d.name}: every command through its cursor`,
      });
    }
    await s.verify(all);
  },
);

describe("reliability: a clock behind the account's creation", () => {
  const cluster = new Cluster();
  after(() => cluster.cleanup());

  // cojson checks a transaction's writer against the group as it was at the transaction's madeAt:
  // dated by this machine's clock, a minute before the account existed, these writes (and every
  // later one of that session) would never reach another device. The node dates them by the
  // relay's clock instead (cojsonAdapter followRelayClock).
  it("delivers the writes of a device whose clock is a minute behind the account's creation", async () => {
    const relay = await cluster.relay();
    const onTime = await cluster.device("on-time", relay.url);
    const late = await cluster.device("behind", relay.url, {}, { env: skewedClockEnv(-60_000) });
    const { deviceIds } = await initAccount(onTime, [late]);
    await Promise.all([onTime, late].map((d) => waitForState(d, "ONLINE")));
    const entries = Array.from({ length: 5 }, () => command(deviceIds[1]!));
    assert.equal((await late.client.push({ entries, ack: "relay" })).synced, entries.length);
    await waitForCommands(
      onTime,
      entries.map((e) => e.id),
      5_000,
    );
  });
});
