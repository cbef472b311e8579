// The README's quick start: `caro-sync relay --db FILE` (the bundled command users run, not the
// test suite's relay helper), then two devices of one account syncing through it, and the relay
// keeping their history in its file across a restart.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BIN_PATH } from "../../src/client/launch.js";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { command, randomAuthKey, waitForCommands, type Device } from "./support.js";

interface RelayCommand {
  child: ChildProcess;
  url: string;
  stop(): Promise<number | null>;
}

/**
 * `caro-sync --json relay --port 0 --db FILE`, with `home` as its HOME: resolves with the URL it
 * prints once it listens.
 */
async function startRelayCommand(home: string, dbPath: string): Promise<RelayCommand> {
  const child = spawn(process.execPath, [BIN_PATH, "--json", "relay", "--port", "0", "--db", dbPath], {
    env: { PATH: process.env.PATH ?? "", HOME: home },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  let stderr = "";
  let stdout = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  const line = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`the relay exited ${child.exitCode}: ${stderr}`);
      return stdout.includes("\n") ? stdout.slice(0, stdout.indexOf("\n")) : null;
    },
    { timeoutMs: 20_000, what: "the relay to print its URL" },
  ).catch((err: Error) => {
    child.kill("SIGKILL");
    throw err;
  });
  const printed = JSON.parse(line) as { listening: boolean; url: string };
  assert.equal(printed.listening, true);
  return {
    child,
    url: printed.url,
    stop: async () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

describe("caro-sync relay, as the README runs it", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  const daemons: DaemonProcess[] = [];
  before(async () => (dir = await tempDir("cs-relaycmd-")));
  after(async () => {
    for (const d of daemons) await d.cleanup();
    await dir.cleanup();
  });

  const device = async (name: string, relayUrl: string): Promise<Device> => {
    const proc = await spawnDaemon({ env: { CARO_SYNC_RELAY: relayUrl } });
    daemons.push(proc);
    return { name, home: proc.home, env: {}, proc, client: await proc.client() };
  };

  it("carries one device's history to another, and keeps it in its file across a restart", async () => {
    const dbPath = join(dir.path, "relay.db");
    let relay = await startRelayCommand(dir.path, dbPath);
    assert.match(relay.url, /^ws:\/\/127\.0\.0\.1:\d+$/);
    const a = await device("a", relay.url);
    const authKey = randomAuthKey();
    const { accountId } = await a.client.init({ authKey, deviceName: "a", platform: "linux" });
    const entry = command("a");
    await a.client.push({ entries: [entry], ack: "relay" });
    assert.equal(await relay.stop(), 0, "a clean stop");
    assert.ok(existsSync(dbPath));

    // The same file on a new port: a fresh device finds the account and the entry there.
    relay = await startRelayCommand(dir.path, dbPath);
    try {
      const b = await device("b", relay.url);
      await b.client.init({ authKey, accountId, deviceName: "b", platform: "linux" });
      const got = await waitForCommands(b, [entry.id]);
      assert.equal(got.get(entry.id)?.encrypted, entry.encrypted);
    } finally {
      await relay.stop();
    }
  });
});
