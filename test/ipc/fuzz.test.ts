// Fuzzing the daemon's socket: 10,000+ random, mutated and hostile messages from several connections.
// Afterwards the daemon still answers a fresh client and its heap has not grown out of bounds.
// Reproduce a failure with IPC_FUZZ_SEED=<seed printed in the failure>.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ErrorCode } from "../../src/protocol.js";
import { fuzzSeed, messageGenerator, mulberry32, parsedMessages, responseProblem } from "../helpers/fuzz.js";
import { waitFor } from "../helpers/wait.js";
import { startHarness, type Harness, type TestClient } from "./helpers.js";

const MESSAGES = 10_000;
const CONNECTIONS = 4;

function exposeGc(): (() => void) | undefined {
  try {
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
}

describe("IPC fuzzing", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    h.ctl.slowGate.resolve();
  });
  after(() => h.cleanup());

  it(`survives ${MESSAGES} random and hostile messages with bounded memory`, async (t) => {
    const seed = fuzzSeed("IPC_FUZZ_SEED");
    t.diagnostic(`seed ${seed} (set IPC_FUZZ_SEED=${seed} to reproduce)`);
    const gc = exposeGc();
    try {
      gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      const clients: TestClient[] = await Promise.all(Array.from({ length: CONNECTIONS }, () => h.connect()));
      let sentHealth = 0;
      await Promise.all(
        clients.map(async (c, k) => {
          const next = messageGenerator(mulberry32(seed + k), {
            otherMethods: ["no.such", "constructor", "__proto__", ""],
          });
          for (let i = 0; i < MESSAGES / CONNECTIONS; i++) {
            const msg = next();
            // The test server's daemon.health throws: each request for it may be one -32603.
            sentHealth += parsedMessages(msg).filter((m) => m.method === "daemon.health").length;
            await c.send(Buffer.concat([msg, Buffer.from("\n")]));
          }
          // Ends any unfinished line, then a request whose answer shows the connection still works.
          await c.send(`\n{"jsonrpc":"2.0","id":"sentinel-${k}","method":"daemon.ping"}\n`);
          await waitFor(() => c.flat.some((m) => m.id === `sentinel-${k}`), {
            what: `sentinel ${k}`,
            timeoutMs: 60_000,
          });
        }),
      );
      const tally: Record<string, number> = {};
      for (const c of clients) {
        assert.equal(c.closed, false, "the server never drops a fuzzing connection");
        for (const m of c.messages) {
          for (const r of Array.isArray(m) ? m : [m]) {
            assert.equal(responseProblem(r), null, JSON.stringify(r).slice(0, 300));
            const key = r.error ? String(r.error?.code) : "result";
            tally[key] = (tally[key] ?? 0) + 1;
          }
        }
      }
      t.diagnostic(`responses by outcome: ${JSON.stringify(tally)}`);
      const internal = tally[ErrorCode.InternalError] ?? 0;
      assert.ok(internal <= sentHealth, `-32603 only from the throwing test handler (${internal})`);
      const fresh = await h.connect();
      assert.equal((await fresh.call("daemon.ping"))?.result?.pong, true);
      await waitFor(() => h.server.inFlight() === 0, { what: "no request left running" });
      assert.ok(h.server.stats().bufferedInputBytes < 1024, "no input left buffered");
      for (const c of clients) c.destroy();
      await waitFor(() => h.server.connections() === 1, { what: "fuzzing connections closed" });
      gc?.();
      const growth = process.memoryUsage().heapUsed - heapBefore;
      t.diagnostic(`heap growth ${(growth / 2 ** 20).toFixed(1)} MiB (gc ${gc ? "forced" : "unavailable"})`);
      assert.ok(growth < (gc ? 64 : 256) * 2 ** 20, `heap grew by ${growth} bytes`);
    } catch (err) {
      throw new Error(`fuzz failed with IPC_FUZZ_SEED=${seed}: ${(err as Error).message}`, { cause: err });
    }
  });
});
