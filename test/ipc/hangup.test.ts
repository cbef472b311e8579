// A request whose client hangs up is cancelled: the method context's signal aborts, so a handler
// waiting for something (sync.push {ack: "relay"}) stops at once. A client that only half-closes
// its side is still reading and still gets its answer.
import assert from "node:assert/strict";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import { createDispatcher } from "../../src/ipc/dispatch.js";
import type { PartialMethodTable } from "../../src/ipc/methods/types.js";
import { createIpcServer, type IpcServer } from "../../src/ipc/server.js";
import { silentLogger } from "../../src/log/logger.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

const PUSH = '{"jsonrpc":"2.0","id":7,"method":"sync.push","params":{"entries":[],"ack":"relay"}}\n';

describe("requests of a client that hangs up", () => {
  let server: IpcServer | null = null;
  let cleanup: () => Promise<void> = () => Promise.resolve();
  afterEach(async () => {
    await server?.stop({ drainMs: 1000 });
    await cleanup();
  });

  /** A server whose sync.push waits until released or aborted, recording which. */
  async function start() {
    const dir = await tempDir("ipc-hup-");
    const socketPath = join(dir.path, "s.sock");
    const waits: { aborted: boolean; release: () => void }[] = [];
    const methods: Partial<PartialMethodTable<"sync">> = {
      "sync.push": (_params, { signal }) =>
        new Promise((resolve) => {
          const wait = { aborted: false, release: () => resolve({ synced: 0, failed: [], errors: [] }) };
          waits.push(wait);
          signal.addEventListener("abort", () => {
            wait.aborted = true;
            wait.release();
          });
        }),
    };
    const dispatcher = createDispatcher({ methods, gate: () => {}, logger: silentLogger });
    server = createIpcServer({ socketPath, dispatcher, logger: silentLogger });
    await server.start();
    cleanup = dir.cleanup;
    const connect = () =>
      new Promise<Socket>((resolve, reject) => {
        const socket = createConnection(socketPath, () => resolve(socket));
        socket.once("error", reject);
      });
    return { waits, connect, server };
  }

  it("aborts the request's signal at once when the client closes its socket", async () => {
    const s = await start();
    const socket = await s.connect();
    socket.write(PUSH);
    await waitFor(() => s.waits.length === 1, { what: "the push to be waiting" });
    assert.equal(s.server.inFlight(), 1);
    socket.destroy();
    await waitFor(() => s.waits[0]?.aborted, { timeoutMs: 3_000, what: "the wait to be aborted" });
    await waitFor(() => s.server.inFlight() === 0, { what: "the request to settle" });
  });

  it("keeps the request of a client that half-closed and still reads, and answers it", async () => {
    const s = await start();
    const socket = await s.connect();
    let received = "";
    socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
    socket.end(PUSH); // nothing more to send; still reading
    await waitFor(() => s.waits.length === 1, { what: "the push to be waiting" });
    // Nothing to await for "not aborted": let the probe on end-of-input and one periodic probe
    // (1 s) pass, each of which would have found a gone client within milliseconds.
    const probedUntil = Date.now() + 1_500;
    await waitFor(() => Date.now() > probedUntil, { timeoutMs: 5_000, intervalMs: 100 });
    assert.equal(s.waits[0]?.aborted, false);
    s.waits[0]?.release();
    await waitFor(() => received.includes('"id":7'), { what: "the answer" });
    assert.deepEqual(JSON.parse(received.trim()), {
      jsonrpc: "2.0",
      id: 7,
      result: { synced: 0, failed: [], errors: [] },
    });
  });

  it("aborts a half-closed client's request once it goes away too", async () => {
    const s = await start();
    const socket = await s.connect();
    socket.end(PUSH);
    await waitFor(() => s.waits.length === 1, { what: "the push to be waiting" });
    socket.destroy();
    await waitFor(() => s.waits[0]?.aborted, { timeoutMs: 3_000, what: "the wait to be aborted" });
  });
});
