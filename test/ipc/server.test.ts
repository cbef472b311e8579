// The socket server's lifecycle over real Unix sockets: file modes, stale and live sockets,
// concurrency, half-closed clients, connection close hooks and draining stop() (SPEC §2).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createDispatcher } from "../../src/ipc/dispatch.js";
import { AlreadyRunningError, createIpcServer } from "../../src/ipc/server.js";
import { silentLogger } from "../../src/log/logger.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { Controls, startHarness, TestClient, testMethods } from "./helpers.js";

/** process.umask() without an argument is deprecated; set and restore to read it. */
function readUmask(): number {
  const mask = process.umask(0o022);
  process.umask(mask);
  return mask;
}

const mode = async (path: string) => ((await stat(path)).mode & 0o777).toString(8);

function serverAt(socketPath: string, probeTimeoutMs = 1000) {
  const ctl = new Controls();
  const dispatcher = createDispatcher({ methods: testMethods(ctl), gate: () => {}, logger: silentLogger });
  return createIpcServer({ socketPath, dispatcher, logger: silentLogger, limits: { probeTimeoutMs } });
}

/** A socket file left behind by a process killed with SIGKILL: nothing listens on it. */
async function leaveStaleSocket(socketPath: string): Promise<void> {
  const script = `require("net").createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, "SIGKILL"))`;
  const child = spawn(process.execPath, ["-e", script], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  assert.ok((await stat(socketPath)).isSocket(), "the stale socket file exists");
}

describe("IPC server", () => {
  it("creates the socket directory 0700 and the socket 0600, and leaves the umask as it was", async () => {
    const tmp = await tempDir("ipc-");
    try {
      const umask = readUmask();
      const server = serverAt(join(tmp.path, "new", "dir", "s.sock"));
      await server.start();
      assert.equal(readUmask(), umask);
      assert.equal(await mode(join(tmp.path, "new", "dir")), "700");
      assert.equal(await mode(join(tmp.path, "new", "dir", "s.sock")), "600");
      await server.stop();

      await mkdir(join(tmp.path, "open"));
      await chmod(join(tmp.path, "open"), 0o755);
      const second = serverAt(join(tmp.path, "open", "s.sock"));
      await second.start();
      assert.equal(await mode(join(tmp.path, "open")), "755", "an existing directory is never changed");
      await second.stop();
    } finally {
      await tmp.cleanup();
    }
  });

  it("replaces a stale socket file nobody listens on", async () => {
    const tmp = await tempDir("ipc-");
    const socketPath = join(tmp.path, "s.sock");
    try {
      await leaveStaleSocket(socketPath);
      const server = serverAt(socketPath);
      await server.start();
      const c = await TestClient.connect(socketPath);
      assert.equal((await c.call("daemon.ping"))?.result?.pong, true);
      c.destroy();
      await server.stop();
    } finally {
      await tmp.cleanup();
    }
  });

  it("refuses to start on a socket where a live daemon answers, and leaves that daemon serving", async () => {
    const h = await startHarness();
    try {
      const second = serverAt(h.socketPath);
      await assert.rejects(second.start(), (err: Error) => {
        assert.ok(err instanceof AlreadyRunningError);
        assert.equal(err.socketPath, h.socketPath);
        assert.ok(
          err.message.includes(h.socketPath) && /answered daemon\.ping/.test(err.message),
          err.message,
        );
        return true;
      });
      await second.stop();
      assert.equal((await (await h.connect()).call("daemon.ping"))?.result?.pong, true);
    } finally {
      await h.cleanup();
    }
  });

  it("refuses to take over a socket whose listener accepts but never answers", async () => {
    const tmp = await tempDir("ipc-");
    const socketPath = join(tmp.path, "s.sock");
    const silent = createServer(() => {});
    try {
      await new Promise<void>((resolve) => silent.listen(socketPath, resolve));
      await assert.rejects(serverAt(socketPath, 200).start(), (err: Error) => {
        assert.ok(err instanceof AlreadyRunningError);
        assert.match(err.message, /did not answer daemon\.ping within 200 ms/);
        return true;
      });
      assert.ok((await stat(socketPath)).isSocket(), "the live socket is left in place");
    } finally {
      silent.close();
      await tmp.cleanup();
    }
  });

  it("refuses a socket path that exists and is not a socket, leaving the file alone", async () => {
    const tmp = await tempDir("ipc-");
    const socketPath = join(tmp.path, "s.sock");
    try {
      await writeFile(socketPath, "precious");
      await assert.rejects(serverAt(socketPath).start(), /exists and is not a socket/);
      assert.equal(await readFile(socketPath, "utf8"), "precious");
    } finally {
      await tmp.cleanup();
    }
  });

  it("serves 50 concurrent clients sending 20 interleaved requests each", async () => {
    const h = await startHarness();
    try {
      const clients = await Promise.all(Array.from({ length: 50 }, () => h.connect()));
      await waitFor(() => h.server.connections() === 50, { what: "50 connections" });
      await Promise.all(
        clients.map(async (c, k) => {
          const answers = await Promise.all(
            Array.from({ length: 20 }, (_, i) => c.call("sync.pull", { since: k * 1000 + i }, `${k}:${i}`)),
          );
          answers.forEach((a, i) => assert.equal(a.result?.nextCursor, k * 1000 + i));
          assert.equal(c.lines.length, 20);
        }),
      );
    } finally {
      await h.cleanup();
    }
  });

  it("answers a client that half-closes after its last line (no trailing newline), then ends", async () => {
    const h = await startHarness();
    try {
      const c = await h.connect();
      await c.send(
        `{"jsonrpc":"2.0","id":1,"method":"daemon.metrics"}\n{"jsonrpc":"2.0","id":2,"method":"daemon.ping"}`,
      );
      c.end();
      await waitFor(() => h.ctl.slowStarted === 1, { what: "the slow request started" });
      h.ctl.slowGate.resolve();
      await waitFor(() => c.ended, { what: "the server to end the connection" });
      assert.deepEqual(c.flat.map((m) => m.id).sort(), [1, 2]);
    } finally {
      await h.cleanup();
    }
  });

  it("survives clients that vanish while their requests run and their responses are written", async () => {
    const h = await startHarness();
    try {
      const pings = Array.from(
        { length: 2000 },
        (_, i) => `{"jsonrpc":"2.0","id":${i},"method":"daemon.ping"}\n`,
      );
      for (let i = 0; i < 20; i++) {
        const c = await h.connect();
        void c.send(pings.join("")).catch(() => {});
        await waitFor(() => c.lines.length > 0, { what: "the first responses" });
        c.destroy();
      }
      const slow = await h.connect();
      await slow.send(`{"jsonrpc":"2.0","id":1,"method":"daemon.metrics"}\n`);
      await waitFor(() => h.ctl.slowStarted === 1, { what: "the slow request started" });
      slow.destroy();
      // A client's EOF may be a half-close, so its connection stays until its request is answered.
      await waitFor(() => h.server.connections() === 1, { what: "the vanished clients' connections closed" });
      h.ctl.slowGate.resolve();
      await waitFor(() => h.server.inFlight() === 0 && h.server.connections() === 0, {
        what: "the orphaned request to finish and its connection to close",
      });
      assert.equal((await (await h.connect()).call("daemon.ping")).result?.pong, true);
    } finally {
      await h.cleanup();
    }
  });

  it("runs a connection's onClose listeners when the client goes away", async () => {
    const h = await startHarness();
    try {
      const c = await h.connect();
      await c.call("daemon.subscribe", {});
      assert.equal(h.ctl.subscribers.size, 1);
      c.destroy();
      await waitFor(() => h.ctl.subscribers.size === 0 && h.server.connections() === 0, { what: "cleanup" });
    } finally {
      await h.cleanup();
    }
  });

  it("stop() stops accepting, answers the in-flight request, ends connections and removes the socket", async () => {
    const h = await startHarness();
    try {
      const c = await h.connect();
      await c.send(`{"jsonrpc":"2.0","id":"slow","method":"daemon.metrics"}\n`);
      await waitFor(() => h.ctl.slowStarted === 1, { what: "the slow request started" });
      const stopping = h.server.stop();
      assert.equal(h.server.stop(), stopping, "stop() is idempotent");
      await assert.rejects(TestClient.connect(h.socketPath), "no new connections while stopping");
      await c.send(`{"jsonrpc":"2.0","id":"late","method":"daemon.ping"}\n`);
      h.ctl.slowGate.resolve();
      await stopping;
      assert.equal((await c.responseTo("slow"))?.result?.text, "slow done");
      assert.ok(!c.flat.some((m) => m.id === "late"), "no new request is started while stopping");
      await waitFor(() => c.ended, { what: "the connection to end" });
      assert.equal(existsSync(h.socketPath), false);
    } finally {
      await h.cleanup();
    }
  });

  it("stop() gives up on a request that outlives drainMs and still closes everything", async () => {
    const h = await startHarness({ limits: { closeGraceMs: 100 } });
    try {
      const c = await h.connect();
      await c.send(`{"jsonrpc":"2.0","id":"never","method":"daemon.metrics"}\n`);
      await waitFor(() => h.ctl.slowStarted === 1, { what: "the slow request started" });
      const started = Date.now();
      await h.server.stop({ drainMs: 100 });
      assert.ok(Date.now() - started < 2000, "stop() is bounded");
      await waitFor(() => c.closed, { what: "the connection to close" });
      assert.equal(h.server.connections(), 0);
      assert.equal(existsSync(h.socketPath), false);
    } finally {
      await h.cleanup();
    }
  });
});
