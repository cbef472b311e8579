// File-descriptor exhaustion: the daemon runs under a low RLIMIT_NOFILE (prlimit --nofile=128:128;
// it holds ~30 descriptors once online) and a client floods it with connections, holding each one,
// until the daemon stops serving new ones (accept fails with EMFILE). Connections opened before
// the flood keep working meanwhile; once the flood lets go, new clients are served again without
// a restart, pushes succeed, health is healthy again, and every acknowledged entry reaches a second
// device through the relay.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import type { SyncClient } from "../../src/client/SyncClient.js";
import type { HealthResult } from "../../src/protocol.js";
import { size } from "../helpers/soak.js";
import { waitFor } from "../helpers/wait.js";
import { TestClient } from "../ipc/helpers.js";
import { command, waitForState } from "../e2e/support.js";
import { reliabilityScenario, type Scenario, UNLIMITED } from "./harness.js";

/** Below ~110 the daemon cannot even load its modules (it exits at start). */
const NOFILE = 128;
const ROUNDS = size({ ci: 1, soak: 5 });
/** A flood never needs more: the daemon's connection cap (256) is above its descriptor limit. */
const MAX_FLOOD = 1_000;

function hasPrlimit(): boolean {
  try {
    execFileSync("prlimit", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** True when the connection answers a ping; false when the daemon closes it or stays silent for 3 s. */
async function served(c: TestClient): Promise<boolean> {
  const id = `p${Math.random()}`;
  await c.send(`${JSON.stringify({ jsonrpc: "2.0", id, method: "daemon.ping" })}\n`).catch(() => undefined);
  return waitFor(() => (c.lines.some((l) => l.includes(id)) ? "yes" : c.closed ? "no" : null), {
    timeoutMs: 3_000,
    intervalMs: 5,
  }).then(
    (answer) => answer === "yes",
    () => false,
  );
}

async function push(s: Scenario, client: SyncClient, deviceId: string, n: number): Promise<void> {
  const entries = Array.from({ length: n }, () => command(deviceId));
  assert.equal((await s.push(client, entries)).synced, n);
}

reliabilityScenario(
  "file-descriptor exhaustion",
  `serves again after a connection flood exhausts a ${NOFILE}-descriptor limit`,
  async (s, t) => {
    if (!hasPrlimit()) return s.skip(t, "prlimit(1) is not installed");
    const relay = await s.cluster.relay();
    const target = await s.cluster.device("target", relay.url, UNLIMITED, {
      wrapper: ["prlimit", `--nofile=${NOFILE}:${NOFILE}`, "--"],
    });
    const witness = await s.cluster.device("witness", relay.url, UNLIMITED);
    const { deviceIds } = await s.account(target, [witness]);
    const pid = target.proc.child.pid!;
    const openFds = () => readdirSync(`/proc/${pid}/fd`).length;
    t.diagnostic(`the daemon holds ${openFds()} descriptors before the flood`);

    // Opened before the flood: must keep working through it.
    const early = await target.proc.client();
    s.onCleanup(() => early.close());
    await push(s, early, deviceIds[0]!, 50);

    for (let round = 1; round <= ROUNDS; round++) {
      const flood: TestClient[] = [];
      let healthDuring: HealthResult;
      let fate: string;
      try {
        // Connect, check it is served, hold it; stop at the first one the daemon cannot serve.
        for (;;) {
          assert.ok(flood.length < MAX_FLOOD, "the daemon never ran out of descriptors");
          const c = await TestClient.connect(target.proc.socketPath);
          flood.push(c);
          if (!(await served(c))) break;
        }
        s.counts.messagesFuzzed += flood.length;
        const refused = flood.at(-1)!;
        await waitFor(() => refused.closed, { timeoutMs: 5_000 }).catch(() => undefined);
        fate = refused.closed
          ? `closed with ${refused.lines.length === 0 ? "no line" : `the line ${refused.lines[0]}`}`
          : "left unanswered";
        t.diagnostic(
          `round ${round}: connection ${flood.length} was ${fate} (${openFds()} descriptors open)`,
        );

        // The connection opened before the flood still works: a push is stored, health answers.
        await push(s, early, deviceIds[0]!, 20);
        healthDuring = await early.health();
        assert.equal((await early.ping()).pong, true);
      } finally {
        for (const c of flood) c.destroy();
      }

      // The flood is gone: new clients are served again, without a restart.
      const fresh = await waitFor(
        async () => {
          const c = await target.proc.client().catch(() => null);
          if (c && (await c.ping({ timeoutMs: 2_000 }).catch(() => null))) return c;
          c?.close();
          return null;
        },
        { timeoutMs: 20_000, intervalMs: 100, what: "a new client to be served after the flood" },
      );
      try {
        await push(s, fresh, deviceIds[0]!, 50);
        await waitForState(target, "ONLINE", 30_000);
        const health = await fresh.health();
        assert.equal(health.healthy, true, JSON.stringify(health));
        assert.equal(health.cache.writable, true);
        s.note(
          `round ${round}: connection ${flood.length} of the flood was ${fate}; health during the flood said ` +
            `healthy ${healthDuring.healthy}, ${healthDuring.state}; served again after it.`,
        );
      } finally {
        fresh.close();
      }
    }
    const emfile = target.proc
      .stderr()
      .split("\n")
      .filter((l) => l.includes("EMFILE")).length;
    t.diagnostic(`${emfile} daemon log lines mention EMFILE`);
    s.note(`${emfile} daemon log lines mention EMFILE.`);
    await s.verify([target, witness]);
  },
);
