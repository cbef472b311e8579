// Secrets never in logs. Every scenario of this suite ends by searching every log it produced (each
// daemon's stderr, background log files, relay output, CLI output) for its authKeys, agent secrets
// and payloads (harness.ts). This one produces as much log as it can around secrets: daemons and a
// relay at trace level, and the requests most likely to echo what they carry: malformed JSON, an
// over-long line, params of the wrong type and a wrong accountId, all carrying the authKey; pushes
// with bad blobs and conflicting payloads; a reset; and the CLI's own flow (init with a new phrase,
// a command added in plaintext) with its background daemon. None of it may show in any log:
// not the authKey (base64, base64url or hex), the agent secret, the phrase, the derived keys, a
// payload or a plaintext.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { caroSync, oneJson } from "../cli/run.js";
import { size } from "../helpers/soak.js";
import { TestClient } from "../ipc/helpers.js";
import { blob, command, randomAuthKey, rpcError, waitForState } from "../e2e/support.js";
import { reliabilityScenario, UNLIMITED } from "./harness.js";

const TRACE = { CARO_SYNC_LOG_LEVEL: "trace" };
const ROUNDS = size({ ci: 1, soak: 10 });

/** Every log file a background daemon wrote in this HOME. */
function logFiles(home: string): { name: string; text: string }[] {
  const dir = join(home, ".cache", "cmdai");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.startsWith("sync-daemon.log"))
    .map((n) => ({ name: join(dir, n), text: readFileSync(join(dir, n), "utf8") }));
}

reliabilityScenario(
  "secrets never in logs",
  "writes no authKey, agent secret, phrase, key, payload or plaintext to any log, even at trace level",
  async (s, t) => {
    const dir = await s.cluster.dir("csr-");
    const relay = await s.cluster.relayProcess({ dbPath: join(dir, "relay.db"), logLevel: "trace" });
    const [a, b] = await s.pair(relay.url, ["a", "b"], UNLIMITED, { env: TRACE });
    const authKey = randomAuthKey();
    s.secrets.addAuthKey(authKey);

    // Before init, on b: wrong types, malformed JSON and an over-long line, each carrying the key.
    const raw = await TestClient.connect(b.proc.socketPath);
    s.onCleanup(() => raw.destroy());
    const init = { jsonrpc: "2.0", method: "sync.init" };
    const badTypes = await raw.call("sync.init", { authKey, deviceName: 42, platform: ["linux"] }, "types");
    assert.equal(badTypes.error?.code, -32602);
    await raw.send(`${JSON.stringify({ ...init, id: "cut", params: { authKey } }).slice(0, -3)}\n`);
    await raw.send(`{"jsonrpc":"2.0","id":"long","method":"sync.init","params":{"authKey":"${authKey}",`);
    await raw.send(`"pad":"${"A".repeat(1_100_000)}"}}\n`);
    const pong = await raw.call("daemon.ping", {}, "after");
    assert.equal(pong.result?.pong, true);
    assert.ok(
      raw.flat.some((m) => m.error?.code === -32700) && raw.flat.some((m) => m.error?.code === -32006),
    );
    s.counts.messagesFuzzed += 3;

    const created = await a.client.init({ authKey, deviceName: "a", platform: "linux" });
    const wrong = await rpcError(
      b.client.init({ authKey, accountId: "co_zWrongAccount123", deviceName: "b", platform: "linux" }),
    );
    assert.equal(wrong.code, -32002);
    const joined = await b.client.init({
      authKey,
      accountId: created.accountId,
      deviceName: "b",
      platform: "linux",
    });
    assert.equal(
      (await rpcError(a.client.init({ authKey, deviceName: "a", platform: "linux" }))).code,
      -32004,
    );
    await Promise.all([a, b].map((d) => waitForState(d, "ONLINE")));

    for (let round = 1; round <= ROUNDS; round++) {
      const good = Array.from({ length: 20 }, () => command(created.deviceId));
      assert.equal((await s.push(a.client, good, "relay")).synced, good.length);
      // Per-entry failures, each carrying a payload: a version-2 blob, a changed payload of a
      // stored command.
      const badBlob = Buffer.concat([Buffer.from([2]), Buffer.from(blob(40), "base64")]).toString("base64");
      const changed = { ...good[0]!, encrypted: blob(64) };
      const bad = await a.client.push({
        entries: [{ ...command(created.deviceId), encrypted: badBlob }, changed],
      });
      assert.equal(bad.failed.length, 2);
      for (const p of [badBlob, changed.encrypted]) s.secrets.add("payload", p);
      const pref = { id: `theme-${round}`, type: "preference" as const, encrypted: blob(48) };
      s.secrets.add("payload", pref.encrypted);
      await b.client.push({
        entries: [{ ...pref, metadata: { deviceId: joined.deviceId, updatedAt: Date.now() } }],
      });
      await a.client.delete({ ids: [good[1]!.id] });
      await b.client.now().catch(() => undefined);
      await a.client.pause();
      await a.client.resume();
    }
    await s.verify([a, b]);
    // A reset with the key still around, then a new init with it.
    await b.client.reset({ confirm: true, discardUnsynced: true });
    await b.client.init({ authKey, mode: "join", deviceName: "b2", platform: "linux" });

    // The CLI's flow: a new phrase, a command added in plaintext, a background daemon at trace level.
    const home = await s.cluster.dir("csc-");
    const env = { CARO_SYNC_RELAY: relay.url, ...TRACE };
    s.onCleanup(async () => void (await caroSync(["stop"], { home, env })));
    const cliInit = await caroSync(["init", "--json", "-y", "--device-name", "cli"], { home, env });
    assert.equal(cliInit.code, 0, cliInit.stderr);
    const { phrase } = oneJson(cliInit) as { phrase: string };
    s.secrets.addText("phrase", phrase);
    const keys = JSON.parse(readFileSync(join(home, ".config", "cmdai", "sync-keys.json"), "utf8")) as {
      keys: Record<string, string>;
    };
    for (const [name, value] of Object.entries(keys.keys)) s.secrets.add(`key ${name}`, value);
    s.secrets.addAuthKey(keys.keys.authKey!);
    const plaintext = { prompt: `secret prompt ${randomUUID()}`, command: `echo ${randomUUID()}` };
    s.secrets.addText("plaintext prompt", plaintext.prompt);
    s.secrets.addText("plaintext command", plaintext.command);
    const add = await caroSync(["add", plaintext.prompt, plaintext.command, "--json"], { home, env });
    assert.equal(add.code, 0, add.stderr);
    const stop = await caroSync(["stop"], { home, env });
    assert.equal(stop.code, 0, stop.stderr);
    s.secrets.addCredentials(home);
    // The CLI's stdout is the user's (it prints the phrase once, by design); its stderr and the
    // daemon's log file are logs.
    for (const [name, run] of Object.entries({ init: cliInit, add, stop }))
      s.addLog(`cli ${name} stderr`, run.stderr);
    for (const file of logFiles(home)) s.addLog(file.name, file.text);
    const traced = [...s.cluster.logs(), ...logFiles(home)].reduce((n, l) => n + l.text.length, 0);
    t.diagnostic(`${traced} bytes of daemon and relay logs so far`);
  },
);
