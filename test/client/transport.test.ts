// connectSocket against a real listener whose accept queue is full: a child process listens with
// a backlog of 1 and is stopped (SIGSTOP), so connects fail with EAGAIN until it runs again.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connectSocket } from "../../src/client/transport.js";
import { ConnectionError } from "../../src/client/errors.js";
import { tempDir } from "../helpers/tmp.js";

const LISTENER = `
const server = require("node:net").createServer((s) => s.end());
server.listen({ path: process.argv[1], backlog: 1 }, () => process.stdout.write("listening\\n"));
`;

/** Opens connections until one fails with EAGAIN (the backlog is full); returns the open ones. */
async function fillBacklog(path: string): Promise<Socket[]> {
  const held: Socket[] = [];
  for (let i = 0; i < 64; i++) {
    const socket = createConnection({ path });
    const outcome = await new Promise<string | undefined>((resolve) => {
      socket.once("connect", () => resolve("connected"));
      socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code));
    });
    if (outcome === "connected") held.push(socket);
    else if (outcome === "EAGAIN") return held;
    else throw new Error(`unexpected connect outcome ${String(outcome)}`);
  }
  throw new Error("the backlog never filled");
}

describe("connectSocket on a full accept queue (EAGAIN)", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  before(async () => (dir = await tempDir("tr-")));
  after(() => dir.cleanup());

  async function stoppedListener(name: string) {
    const path = join(dir.path, name);
    const child = spawn(process.execPath, ["-e", LISTENER, path], { stdio: ["ignore", "pipe", "inherit"] });
    await once(child.stdout, "data");
    child.kill("SIGSTOP");
    const held = await fillBacklog(path);
    return {
      path,
      resume: () => child.kill("SIGCONT"),
      stop: async () => {
        for (const s of held) s.destroy();
        child.kill("SIGKILL");
        child.kill("SIGCONT");
        if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
      },
    };
  }

  it("retries until the daemon accepts again, within the timeout", async () => {
    const listener = await stoppedListener("busy.sock");
    try {
      const connecting = connectSocket(listener.path, 10_000);
      // The first attempt is made (and fails with EAGAIN) while the listener is still stopped.
      await new Promise((resolve) => setImmediate(resolve));
      listener.resume();
      const socket = await connecting;
      socket.destroy();
    } finally {
      await listener.stop();
    }
  });

  it("gives up at the deadline with the EAGAIN error when the daemon never accepts", async () => {
    const listener = await stoppedListener("stuck.sock");
    try {
      await assert.rejects(connectSocket(listener.path, 200), (err: unknown) => {
        assert.ok(err instanceof ConnectionError);
        assert.equal(err.errno, "EAGAIN");
        assert.match(err.message, /stuck\.sock/);
        return true;
      });
    } finally {
      await listener.stop();
    }
  });
});
