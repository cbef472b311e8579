// 1,000 idle connections from one process: a client that opens connections and never sends a byte
// must not lock everyone else out. Past the daemon's connection budget the oldest idle ones are
// evicted, each told why in one JSON-RPC line before the daemon closes it; a new client
// (`daemon.ping`, a push, and the CLI) is served as usual, and every acknowledged entry is kept.
import assert from "node:assert/strict";
import { caroSync } from "../cli/run.js";
import { UNREACHABLE_RELAY } from "../helpers/daemon.js";
import { size } from "../helpers/soak.js";
import { waitFor } from "../helpers/wait.js";
import { TestClient } from "../ipc/helpers.js";
import { command, initAccount, waitForState } from "../e2e/support.js";
import { reliabilityScenario, UNLIMITED } from "./harness.js";

const IDLE = size({ ci: 1_000, soak: 1_000 });
const ROUNDS = size({ ci: 1, soak: 5 });

/** A line the daemon wrote that is a JSON-RPC 2.0 message. */
function isJsonRpc(line: string): boolean {
  try {
    return (JSON.parse(line) as { jsonrpc?: unknown }).jsonrpc === "2.0";
  } catch {
    return false;
  }
}

reliabilityScenario(
  "1,000 idle connections",
  `keeps serving new clients with ${IDLE} idle connections open, evicting the oldest with a JSON-RPC line`,
  async (s, t) => {
    const d = await s.cluster.device("idle", UNREACHABLE_RELAY, UNLIMITED);
    const { deviceIds, authKey } = await initAccount(d, []);
    s.secrets.addAuthKey(authKey);
    await waitForState(d, "OFFLINE");
    const before = Array.from({ length: 50 }, () => command(deviceIds[0]!));
    assert.equal((await s.push(d.client, before)).synced, before.length);

    for (let round = 1; round <= ROUNDS; round++) {
      const idle: TestClient[] = [];
      try {
        for (let i = 0; i < IDLE; i++) idle.push(await TestClient.connectThroughBacklog(d.proc.socketPath));
        s.counts.messagesFuzzed += IDLE;

        // A new client is served: ping, a push, the CLI.
        const fresh = await d.proc.client();
        try {
          assert.equal((await fresh.ping({ timeoutMs: 5_000 })).pong, true);
          const entries = Array.from({ length: 20 }, () => command(deviceIds[0]!));
          assert.equal((await s.push(fresh, entries)).synced, entries.length);
        } finally {
          fresh.close();
        }
        const cli = await caroSync(["ping", "--json"], { home: d.home, socket: d.proc.socketPath });
        s.addLog(`caro-sync ping (round ${round})`, cli.stdout + cli.stderr);
        assert.equal(cli.code, 0, cli.stderr);
        const status = await caroSync(["status", "--json", "--no-auto-start"], {
          home: d.home,
          socket: d.proc.socketPath,
        });
        s.addLog(`caro-sync status (round ${round})`, status.stdout + status.stderr);
        assert.equal(status.code, 0, status.stderr);

        // Which idle connections are still served: each answers a ping, or is found closed.
        const served = await Promise.all(
          idle.map((c) =>
            c.closed
              ? Promise.resolve(false)
              : Promise.race([
                  c.call("daemon.ping", {}).then(
                    (r) => r.result?.pong === true,
                    () => false,
                  ),
                  waitFor(() => c.closed, { timeoutMs: 15_000, intervalMs: 20 }).then(() => false),
                ]),
          ),
        );
        const evicted = idle.filter((_, i) => !served[i]);
        await waitFor(() => evicted.every((c) => c.closed), { what: "evicted connections to be closed" });
        t.diagnostic(`round ${round}: ${evicted.length} of ${IDLE} idle connections evicted`);
        s.note(`round ${round}: ${evicted.length} of ${IDLE} idle connections evicted.`);
        assert.ok(evicted.length > 0, "the daemon has a connection budget below 1,000");
        for (const c of evicted) {
          assert.ok(
            c.lines.length >= 1 && c.lines.every(isJsonRpc),
            `an evicted connection got a JSON-RPC line`,
          );
        }
        // The oldest go first: every evicted connection is older than every one still served.
        const lastEvicted = Math.max(...idle.flatMap((c, i) => (served[i] ? [] : [i])));
        const firstServed = served.indexOf(true);
        assert.ok(firstServed === -1 || lastEvicted < firstServed, "the oldest idle connections are evicted");
      } finally {
        for (const c of idle) c.destroy();
      }
    }
    // The device's own client sat idle through the floods, so it was among the evicted (as
    // documented: an idle connection makes room); a client reconnects to go on.
    d.client.close();
    d.client = await d.proc.client();
    await s.verify([d], { drained: false });
  },
);
