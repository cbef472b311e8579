// kill -9 during pushes: a daemon on a real relay is SIGKILLed again and again while four clients
// push to it, each kill landing a random moment after an answer, with pushes in flight (and its
// uploads to the relay running). After every kill the cache files, exactly as the kill left them,
// pass integrity_check, and the daemon restarts on them with its identity. In the end every
// acknowledged entry is on the killed device and on a second one, exactly once; no entry appears
// that nobody pushed; the queue drains and nothing is counted as failed.
import assert from "node:assert/strict";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { ConnectionError } from "../../src/client/errors.js";
import { size } from "../helpers/soak.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { command, type Device } from "../e2e/support.js";
import { reliabilityScenario, type Scenario, UNLIMITED } from "./harness.js";

const KILLS = size({ ci: 5, soak: 20 });
/** Entries acknowledged by each daemon run before its kill is scheduled. */
const ACKS_PER_RUN = size({ ci: 300, soak: 1_500 });
const PUSHERS = 4;

/** PRAGMA integrity_check of a copy of the cache files as they are now (recovering the WAL). */
async function integrityOfCopy(cachePath: string): Promise<string> {
  const copy = await tempDir("csk-db-");
  try {
    for (const suffix of ["", "-wal", "-shm"]) {
      if (existsSync(cachePath + suffix)) copyFileSync(cachePath + suffix, join(copy.path, `c.db${suffix}`));
    }
    const db = new Database(join(copy.path, "c.db"), { fileMustExist: true });
    try {
      return String(db.pragma("integrity_check", { simple: true }));
    } finally {
      db.close();
    }
  } finally {
    await copy.cleanup();
  }
}

/**
 * One daemon run: PUSHERS clients push batches of 1 to 50 until the daemon dies. Once the run has
 * ACKS_PER_RUN acknowledged, the kill comes 0–5 ms after an answer, when a push is in flight.
 * Returns how many pushes were in flight at the kill.
 */
async function pushUntilKilled(s: Scenario, victim: Device, deviceId: string): Promise<number> {
  const pushers = await Promise.all(Array.from({ length: PUSHERS }, () => victim.proc.client()));
  const start = s.ledger.ackedCount;
  let inFlight = 0;
  let inFlightAtKill = -1;
  let scheduled = false;
  const kill = () => {
    if (inFlight === 0) return void setImmediate(kill);
    inFlightAtKill = inFlight;
    victim.proc.child.kill("SIGKILL");
  };
  await Promise.all(
    pushers.map(async (client) => {
      for (;;) {
        const batch = Array.from({ length: 1 + Math.floor(Math.random() * 50) }, () => command(deviceId));
        inFlight++;
        try {
          // Answers read after the kill were still written by the daemon: they count as acks.
          const result = await s.push(client, batch);
          assert.deepEqual(result.errors, []);
        } catch (err) {
          assert.ok(inFlightAtKill >= 0 && err instanceof ConnectionError, `push failed: ${String(err)}`);
          return;
        } finally {
          inFlight--;
        }
        if (!scheduled && s.ledger.ackedCount - start >= ACKS_PER_RUN) {
          scheduled = true;
          setTimeout(kill, Math.random() * 5);
        }
      }
    }),
  );
  for (const client of pushers) client.close();
  return inFlightAtKill;
}

reliabilityScenario(
  "daemon kill -9 during pushes",
  `keeps every acknowledged push through ${KILLS} kills -9, exactly once, on both devices`,
  async (s, t) => {
    const relay = await s.cluster.relay();
    const [victim, witness] = await s.pair(relay.url, ["victim", "witness"], UNLIMITED);
    const { deviceIds } = await s.account(victim, [witness]);

    for (let k = 1; k <= KILLS; k++) {
      const inFlight = await pushUntilKilled(s, victim, deviceIds[0]!);
      assert.equal(await victim.proc.exited, "SIGKILL");
      s.counts.kills++;
      assert.ok(inFlight >= 1, `kill ${k}: pushes were in flight`);
      assert.equal(await integrityOfCopy(victim.proc.cachePath), "ok", `kill ${k}: the cache is intact`);

      victim.client.close();
      await s.cluster.restart(victim, relay.url);
      const status = await waitFor(
        async () => {
          const st = await victim.client.status().catch(() => null);
          return st && st.state !== "INITIALIZING" ? st : null;
        },
        { what: `the daemon to load its identity after kill ${k}` },
      );
      assert.equal(status.deviceId, deviceIds[0], "the identity survived");
    }
    // The witness pushes too, so that both directions are checked.
    for (let i = 0; i < 10; i++) {
      const batch = Array.from({ length: 20 }, () => command(deviceIds[1]!));
      assert.equal((await s.push(witness.client, batch)).synced, batch.length);
    }

    await s.verify([victim, witness]);
    for (const d of [victim, witness]) {
      const health = await d.client.health();
      assert.equal(health.queue.failed, 0);
      assert.equal(health.healthy, true);
    }
    t.diagnostic(`${s.ledger.ackedCount} acknowledged over ${KILLS} kills`);
  },
);
