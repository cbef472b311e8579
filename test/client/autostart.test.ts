import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BIN_PATH, ConnectionError, SyncClient } from "../../src/client/index.js";
import { alive } from "../helpers/process.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

// A stand-in for the daemon process: answers daemon.ping (with its pid) on the socket it is given.
// "late" binds the socket only after a while, so the client has to poll; "fail" exits at once.
const FAKE_DAEMON = `
import { createServer } from "node:net";
const [socketPath, mode] = process.argv.slice(2);
if (mode === "fail") process.exit(9);
const server = createServer((s) => {
  let buf = "";
  s.setEncoding("utf8");
  s.on("data", (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf("\\n")) >= 0) {
      const m = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      s.write(JSON.stringify({ jsonrpc: "2.0", id: m.id, result: { pong: true, version: "fake", uptime: 0, pid: process.pid } }) + "\\n");
    }
  });
});
setTimeout(() => server.listen(socketPath), mode === "late" ? 300 : 0);
`;

describe("SyncClient.connect with autoStart", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let script: string;
  const pids: number[] = [];

  before(async () => {
    dir = await tempDir();
    script = join(dir.path, "fake-daemon.mjs");
    await writeFile(script, FAKE_DAEMON);
  });
  after(async () => {
    for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
    await waitFor(() => pids.every((pid) => !alive(pid)), { what: "fake daemons to exit" });
    await dir.cleanup();
  });

  it("starts the daemon when nothing answers and connects once it answers daemon.ping", async () => {
    const socketPath = join(dir.path, "a.sock");
    const client = await SyncClient.connect({
      socketPath,
      autoStart: { command: process.execPath, args: [script, socketPath, "late"] },
    });
    try {
      const pong = (await client.ping()) as unknown as { pong: true; pid: number };
      pids.push(pong.pid);
      assert.equal(pong.pong, true);
      assert.ok(alive(pong.pid), "the daemon runs detached");
      // The memory settings (client/launch.ts DAEMON_MEMORY_ENV) reach the daemon's environment.
      if (process.platform === "linux" && !process.env.MALLOC_TRIM_THRESHOLD_) {
        const environ = readFileSync(`/proc/${pong.pid}/environ`, "utf8").split("\0");
        assert.ok(environ.includes("MALLOC_TRIM_THRESHOLD_=131072"), "the malloc tuning is set");
        const nodeOptions = environ.find((v) => v.startsWith("NODE_OPTIONS="));
        assert.match(nodeOptions ?? "", /--max-semi-space-size=2/);
      }
    } finally {
      client.close();
    }
  });

  it("fails with ConnectionError naming the exit code when the daemon exits before it is ready", async () => {
    const socketPath = join(dir.path, "b.sock");
    await assert.rejects(
      SyncClient.connect({
        socketPath,
        autoStart: { command: process.execPath, args: [script, socketPath, "fail"] },
      }),
      (err) => {
        assert.ok(err instanceof ConnectionError);
        assert.match(err.message, /exited with code 9 before it was ready/);
        assert.match(err.hint, /caro-sync daemon/);
        return true;
      },
    );
  });

  it("fails with ConnectionError when the daemon command cannot be spawned", async () => {
    const socketPath = join(dir.path, "c.sock");
    await assert.rejects(
      SyncClient.connect({ socketPath, autoStart: { command: join(dir.path, "no-such-binary"), args: [] } }),
      (err) => err instanceof ConnectionError && /cannot start the daemon/.test(err.message),
    );
  });

  it("defaults to this package's bin/caro-sync", () => {
    assert.ok(existsSync(BIN_PATH), BIN_PATH);
  });
});
