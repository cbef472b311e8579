// Many clients at once: 64 clients, half on each of two daemons synced through a relay, each
// sending its pushes one after another, all clients at the same time. The pushes overlap: commands
// are drawn from a shared pool, so the same id arrives several times, from several clients, on both
// daemons; some pushes also carry a preference from a small set of keys, each with its own
// updatedAt. Every push is accepted whole; in the end both devices hold every command once, and
// every preference key holds the value with the greatest updatedAt, whatever the arrival order.
import assert from "node:assert/strict";
import type { SyncClient } from "../../src/client/SyncClient.js";
import { size } from "../helpers/soak.js";
import { waitFor } from "../helpers/wait.js";
import { command, preference, pullAll } from "../e2e/support.js";
import { reliabilityScenario, UNLIMITED } from "./harness.js";

const CLIENTS = 64;
const PUSHES_PER_CLIENT = size({ ci: 25, soak: 1_000 });
/** Each command is drawn about four times over all pushes (1–3 commands a push). */
const POOL = Math.ceil((CLIENTS * PUSHES_PER_CLIENT * 2) / 4);
const PREFERENCE_KEYS = 16;

reliabilityScenario(
  "64 concurrent clients",
  `accepts ${CLIENTS} clients × ${PUSHES_PER_CLIENT} overlapping pushes on two daemons and converges`,
  async (s, t) => {
    const relay = await s.cluster.relay();
    const [a, b] = await s.pair(relay.url, ["a", "b"], UNLIMITED);
    const { deviceIds } = await s.account(a, [b]);

    // The pool: one fixed version of each command, whoever pushes it.
    const pool = Array.from({ length: POOL }, (_, i) => command(deviceIds[i % 2]!));
    // Random, unique updatedAt values (so exactly one value wins each key), in no relation to the
    // order the pushes are sent or arrive in.
    const base = Date.now();
    const used = new Set<number>();
    const updatedAt = (): number => {
      for (;;) {
        const at = base + Math.floor(Math.random() * 1e9);
        if (!used.has(at)) return (used.add(at), at);
      }
    };
    const winners = new Map<string, { updatedAt: number; encrypted: string }>();

    const clients: { client: SyncClient; deviceId: string }[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const d = i % 2 === 0 ? a : b;
      clients.push({ client: await d.proc.client(), deviceId: deviceIds[i % 2]! });
    }
    let requests = 0;
    try {
      await Promise.all(
        clients.map(async ({ client, deviceId }) => {
          for (let n = 0; n < PUSHES_PER_CLIENT; n++) {
            const picks = new Set<number>();
            const count = 1 + Math.floor(Math.random() * 3);
            while (picks.size < count) picks.add(Math.floor(Math.random() * POOL));
            const commands = [...picks].map((i) => pool[i]!);
            const entries: object[] = [...commands];
            if (Math.random() < 0.2) {
              const key = `pref-${Math.floor(Math.random() * PREFERENCE_KEYS)}`;
              const p = preference(key, deviceId, updatedAt());
              const won = winners.get(key);
              if (!won || p.metadata.updatedAt > won.updatedAt)
                winners.set(key, { updatedAt: p.metadata.updatedAt, encrypted: p.encrypted });
              entries.push(p);
            }
            s.ledger.attempt(commands);
            const result = await client.push({ entries });
            requests++;
            assert.deepEqual(result, { synced: entries.length, failed: [], errors: [] });
            s.ledger.ack(commands);
          }
        }),
      );
    } finally {
      for (const c of clients) c.client.close();
    }
    s.note(`${requests} push requests from ${CLIENTS} clients, ${s.ledger.ackedCount} distinct commands.`);

    await s.verify([a, b]);
    for (const d of [a, b]) {
      await waitFor(
        async () => {
          const prefs = (await pullAll(d, { types: ["preference"] })).entries;
          const byKey = new Map(prefs.map((p) => [p.id, p]));
          return [...winners].every(([key, w]) => byKey.get(key)?.encrypted === w.encrypted);
        },
        { timeoutMs: 30_000, intervalMs: 100, what: `${d.name}: every preference at its greatest updatedAt` },
      );
      const prefs = (await pullAll(d, { types: ["preference"] })).entries;
      assert.equal(prefs.length, winners.size, "each key once");
      for (const p of prefs) assert.equal(p.metadata.updatedAt, winners.get(p.id)!.updatedAt);
    }
    t.diagnostic(`${requests} requests`);
  },
);
