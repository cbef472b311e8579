// A second user is refused at the socket: the daemon's socket sits directly in /tmp (sticky and
// world-writable, so only the socket's own 0600 mode protects it) and a client running as uid
// 65534 (nobody) tries to connect, again and again: every attempt fails with EACCES before a byte
// is exchanged, and the daemon serves its own user as before (ping, pushes, nothing logged as an
// error). Needs root to switch uid (setpriv); skipped otherwise.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { promisify } from "node:util";
import { UNREACHABLE_RELAY } from "../helpers/daemon.js";
import { size } from "../helpers/soak.js";
import { command, initAccount, waitForState } from "../e2e/support.js";
import { reliabilityScenario, UNLIMITED } from "./harness.js";

const ATTEMPTS = size({ ci: 10, soak: 200 });
const NOBODY = 65534;
const run = promisify(execFile);

/** Connects as `uid` and prints "connected" or the error code. */
const CLIENT = `
const s = require("node:net").connect(process.argv[1]);
s.on("connect", () => { console.log("connected"); s.destroy(); });
s.on("error", (e) => console.log(e.code));
`;

async function connectAs(uid: number, socketPath: string): Promise<string> {
  const { stdout } = await run("setpriv", [
    `--reuid=${uid}`,
    `--regid=${uid}`,
    "--clear-groups",
    process.execPath,
    "-e",
    CLIENT,
    socketPath,
  ]);
  return stdout.trim();
}

reliabilityScenario(
  "second uid refused",
  "refuses a client of another uid with EACCES at the 0600 socket and keeps serving its own user",
  async (s, t) => {
    if (process.getuid?.() !== 0) return s.skip(t, "not root: cannot run a client as another uid");
    const socketPath = `/tmp/csu-${randomBytes(6).toString("hex")}.sock`;
    const d = await s.cluster.device("owner", UNREACHABLE_RELAY, UNLIMITED, {
      env: { CARO_SYNC_SOCKET: socketPath },
    });
    const { deviceIds, authKey } = await initAccount(d, []);
    s.secrets.addAuthKey(authKey);
    await waitForState(d, "OFFLINE");
    assert.equal(statSync(socketPath).mode & 0o777, 0o600);
    assert.equal(statSync("/tmp").mode & 0o1777, 0o1777, "the directory lets anyone in");

    for (let i = 0; i < ATTEMPTS; i++) {
      assert.equal(await connectAs(NOBODY, socketPath), "EACCES", `attempt ${i + 1} as uid ${NOBODY}`);
      s.counts.messagesFuzzed++;
      // The owner is served between the attempts.
      const entries = Array.from({ length: 10 }, () => command(deviceIds[0]!));
      assert.equal((await s.push(d.client, entries)).synced, entries.length);
    }
    // The same client as the owner gets in: the refusal is the uid's, not the script's.
    assert.equal(await connectAs(0, socketPath), "connected");
    assert.equal((await d.client.ping()).pong, true);
    const errors = d.proc
      .stderr()
      .split("\n")
      .filter((l) => /"level":(50|60)/.test(l));
    assert.deepEqual(errors, [], "nothing logged as an error");
    await s.verify([d], { drained: false });
  },
);
