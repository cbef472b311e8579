import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pc from "picocolors";
import { KeysFile } from "../../src/client/crypto/index.js";
import { CredentialsFile } from "../../src/cache/credentialsFile.js";
import type { CheckResult } from "../../src/cli/doctor/check.js";
import { compareVersions } from "../../src/cli/doctor/daemon.js";
import { renderChecks } from "../../src/cli/doctor/render.js";
import { classifyNodeVersion } from "../../src/cli/doctor/runtime.js";
import { spawnDaemon, UNREACHABLE_RELAY, type DaemonProcess } from "../helpers/daemon.js";
import { startTestRelay, type TestRelay } from "../helpers/relay.js";
import { startStubRelay } from "../helpers/stubRelay.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { caroSync, oneJson, type CliRun } from "./run.js";

interface DoctorReport {
  ok: boolean;
  checks: CheckResult[];
}

const CHECK_NAMES = [
  "node",
  "config",
  "daemon",
  "daemon-version",
  "socket",
  "socket-directory",
  "credentials-file",
  "keys-file",
  "relay-daemon",
  "relay-handshake",
  "cache",
  "jazz-storage",
  "account",
];

function report(run: CliRun): DoctorReport {
  const doc = oneJson(run) as DoctorReport;
  assert.deepEqual(
    doc.checks.map((c) => c.name),
    CHECK_NAMES,
  );
  return doc;
}

function check(doc: DoctorReport, name: string): CheckResult {
  const found = doc.checks.find((c) => c.name === name);
  assert.ok(found, `no check ${name}`);
  return found;
}

const keysPathOf = (home: string) => join(home, ".config", "cmdai", "sync-keys.json");

function writeKeys(home: string, accountId: string): string {
  const path = keysPathOf(home);
  const key = () => new Uint8Array(randomBytes(32));
  new KeysFile(path).save({
    version: 1,
    accountId,
    keys: { commandKey: key(), preferenceKey: key(), authKey: key(), deviceKey: key() },
    createdAt: Date.now(),
  });
  return path;
}

/** Initializes the daemon with a random identity and returns its account ID. */
async function initDaemon(daemon: DaemonProcess): Promise<string> {
  const client = await daemon.client();
  try {
    await client.init({
      authKey: randomBytes(32).toString("base64"),
      deviceName: "doctor-test",
      platform: "linux",
    });
    const { accountId } = await waitFor(
      async () => {
        const s = await client.status();
        return s.accountId ? s : null;
      },
      { what: "the daemon's account ID" },
    );
    return accountId!;
  } finally {
    client.close();
  }
}

describe("caro-sync doctor: pure parts", () => {
  it("classifies Node.js versions: 20.19+, 22, 24 ok; older fail; odd or newer majors warn", () => {
    for (const v of ["20.19.0", "v20.20.2", "22.0.0", "22.12.1", "24.3.0"]) {
      assert.equal(classifyNodeVersion(v).status, "ok", v);
    }
    for (const v of ["18.20.0", "20.18.3", "16.0.0"]) {
      const f = classifyNodeVersion(v);
      assert.equal(f.status, "fail", v);
      assert.ok(f.hint, "a failure carries a hint");
    }
    for (const v of ["21.7.0", "23.1.0", "26.0.0", "garbage"])
      assert.equal(classifyNodeVersion(v).status, "warn", v);
  });

  it("compares daemon and client versions: equal ok, same major warn, other major fail, both with restart", () => {
    assert.equal(compareVersions("0.1.0", "0.1.0").status, "ok");
    const minor = compareVersions("0.1.0", "0.2.0");
    assert.equal(minor.status, "warn");
    assert.match(minor.hint ?? "", /caro-sync restart/);
    assert.equal(compareVersions("1.0.0", "2.0.0").status, "fail");
  });

  it("renders one row per check with the fix, colour only when enabled", () => {
    const results: CheckResult[] = [
      { name: "node", status: "ok", detail: "fine" },
      { name: "keys-file", status: "fail", detail: "mode 644", hint: "chmod 600 /k" },
    ];
    const plain = renderChecks(results, pc.createColors(false));
    assert.ok(!plain.join("\n").includes("\x1b["), "no escape codes when colour is off");
    assert.match(plain[1] ?? "", /^ok\s+node\s+fine$/);
    assert.match(plain[2] ?? "", /^FAIL\s+keys-file\s+mode 644 \(fix: chmod 600 \/k\)$/);
    assert.match(plain.at(-1) ?? "", /1 ok, 0 warnings, 1 failure, 0 skipped/);
    const coloured = renderChecks(results, pc.createColors(true));
    assert.ok(coloured.join("\n").includes("\x1b["), "escape codes when colour is on");
  });
});

describe("caro-sync doctor without a daemon", () => {
  let home: { path: string; cleanup: () => Promise<void> };
  const env = { CARO_SYNC_RELAY: UNREACHABLE_RELAY };
  before(async () => (home = await tempDir("cs-doc-")));
  after(async () => await home.cleanup());

  it("fails the socket check with `caro-sync start` and exits 1, without starting the daemon", async () => {
    const r = await caroSync(["doctor", "--json"], { home: home.path, env });
    assert.equal(r.code, 1, r.stderr);
    const doc = report(r);
    assert.equal(doc.ok, false);
    const daemon = check(doc, "daemon");
    assert.equal(daemon.status, "fail");
    assert.match(daemon.hint ?? "", /`caro-sync start`/);
    assert.equal(check(doc, "relay-handshake").status, "warn", "an unreachable relay is only a warning");
    assert.equal(check(doc, "keys-file").status, "warn");
    assert.match(check(doc, "keys-file").hint ?? "", /caro-sync init.*caro-sync join/);
    // Doctor must not have started one.
    const ping = await caroSync(["ping", "--json"], { home: home.path, env });
    assert.equal(ping.code, 3);
  });

  it("prints a table without colour when stdout is not a terminal", async () => {
    const r = await caroSync(["doctor"], { home: home.path, env });
    assert.equal(r.code, 1);
    assert.ok(!r.stdout.includes("\x1b["), "no colour in a pipe");
    assert.match(r.stdout, /^FAIL\s+daemon\s+.*\(fix: run `caro-sync start`\)$/m);
    assert.match(r.stdout, /^ok\s+node\s+/m);
    assert.match(r.stdout, /\d+ ok, \d+ warnings?, 1 failure, \d+ skipped/);
  });

  it("fails on a relay that answers the upgrade with 401", async () => {
    const stub = await startStubRelay({ status: 401 });
    try {
      const r = await caroSync(["doctor", "--json"], { home: home.path, env: { CARO_SYNC_RELAY: stub.url } });
      const relay = check(report(r), "relay-handshake");
      assert.equal(relay.status, "fail");
      assert.match(relay.detail, /HTTP 401/);
    } finally {
      await stub.stop();
    }
  });

  it("gives up on a relay that accepts the connection and never answers: a warning after 5 s", async () => {
    const stub = await startStubRelay("silent");
    try {
      const started = Date.now();
      const r = await caroSync(["doctor", "--json"], { home: home.path, env: { CARO_SYNC_RELAY: stub.url } });
      assert.ok(Date.now() - started < 15_000, "doctor finished within its timeouts");
      const relay = check(report(r), "relay-handshake");
      assert.equal(relay.status, "warn");
      assert.match(relay.detail, /no handshake .* within 5000 ms/);
    } finally {
      await stub.stop();
    }
  });

  it("gives up on a socket that accepts and never answers, instead of hanging", async () => {
    const dir = await tempDir("cs-hung-");
    const socketPath = join(dir.path, "hung.sock");
    const held = new Set<Socket>();
    const server = createServer((s) => held.add(s));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const started = Date.now();
      const r = await caroSync(["doctor", "--json"], { home: home.path, socket: socketPath, env });
      assert.ok(Date.now() - started < 20_000, "doctor finished within its timeouts");
      assert.equal(r.code, 1);
      const daemon = check(report(r), "daemon");
      assert.equal(daemon.status, "fail");
      assert.match(daemon.detail, /did not answer daemon\.ping/);
    } finally {
      for (const s of held) s.destroy();
      await new Promise((resolve) => server.close(resolve));
      await dir.cleanup();
    }
  });

  it("reports config warnings and a broken config file, and still runs the other checks", async () => {
    const configDir = join(home.path, ".config", "cmdai");
    await mkdir(configDir, { recursive: true, mode: 0o700 });
    const configFile = join(configDir, "sync-daemon.json");
    try {
      await writeFile(configFile, JSON.stringify({ relay: UNREACHABLE_RELAY, bogusKey: 1 }));
      const warned = report(await caroSync(["doctor", "--json"], { home: home.path }));
      assert.equal(check(warned, "config").status, "warn");
      assert.match(check(warned, "config").detail, /bogusKey/);

      await writeFile(configFile, "{ not json");
      const r = await caroSync(["doctor", "--json"], { home: home.path });
      assert.equal(r.code, 1);
      const broken = report(r);
      assert.equal(check(broken, "config").status, "fail");
      assert.match(check(broken, "config").detail, /not valid JSON/);
      assert.equal(check(broken, "relay-handshake").status, "skip");
      assert.equal(check(broken, "daemon").status, "fail", "the socket is still found at its default place");
    } finally {
      await writeFile(configFile, "{}");
    }
  });

  it("fails the integrity check of a cache that is not an SQLite database, skips a missing one", async () => {
    const cachePath = join(home.path, "broken.db");
    await writeFile(cachePath, "this is not a database, just text long enough to fill a header page.");
    const doc = report(
      await caroSync(["doctor", "--json"], {
        home: home.path,
        env: { ...env, CARO_SYNC_CACHE_PATH: cachePath },
      }),
    );
    const cache = check(doc, "cache");
    assert.equal(cache.status, "fail");
    assert.match(cache.detail, /not a database/);
    assert.match(cache.hint ?? "", /caro-sync repair/);
    assert.equal(check(doc, "jazz-storage").status, "skip");
  });

  it("with the daemon down, compares the keys with the credentials file's account (no secret printed)", async () => {
    const credentialsPath = join(home.path, ".config", "cmdai", "sync-credentials.json");
    const agentSecret = `sealerSecret_z${randomBytes(16).toString("hex")}`;
    new CredentialsFile(credentialsPath).save({
      version: 1,
      accountId: "co_zTheDaemonsAccount",
      agentSecret,
      deviceId: "dev-1",
      deviceName: "test",
      platform: "linux",
      createdAt: Date.now(),
      syncRootId: null,
      mode: "create",
    });
    const keysPath = writeKeys(home.path, "co_zAnotherAccount");
    try {
      const r = await caroSync(["doctor", "--json"], { home: home.path, env });
      const doc = report(r);
      const account = check(doc, "account");
      assert.equal(account.status, "fail");
      assert.match(account.detail, /co_zAnotherAccount.*co_zTheDaemonsAccount/);
      assert.match(account.hint ?? "", /caro-sync reset.*caro-sync join/);
      assert.equal(check(doc, "credentials-file").status, "ok");
      assert.ok(
        !r.stdout.includes(agentSecret) && !r.stderr.includes(agentSecret),
        "the secret is never printed",
      );
    } finally {
      new CredentialsFile(credentialsPath).remove();
      new KeysFile(keysPath).remove();
    }
  });
});

describe("caro-sync doctor against a real daemon", () => {
  let daemon: DaemonProcess;
  before(async () => (daemon = await spawnDaemon()));
  after(async () => await daemon.cleanup());

  it("fails a keys file of mode 0644 with the chmod hint, exit 1; the offline relay only warns", async () => {
    const accountId = await initDaemon(daemon);
    const keysPath = writeKeys(daemon.home, accountId);
    await chmod(keysPath, 0o644);
    const r = await caroSync(["doctor", "--json"], {
      home: daemon.home,
      env: { CARO_SYNC_RELAY: UNREACHABLE_RELAY },
    });
    assert.equal(r.code, 1, r.stderr);
    const doc = report(r);
    const keys = check(doc, "keys-file");
    assert.equal(keys.status, "fail");
    assert.match(keys.detail, /644/);
    assert.equal(keys.hint, `chmod 600 ${keysPath}`);
    assert.equal(check(doc, "daemon").status, "ok");
    assert.equal(check(doc, "relay-daemon").status, "warn");
    assert.equal(check(doc, "relay-handshake").status, "warn");
    const failures = doc.checks.filter((c) => c.status === "fail").map((c) => c.name);
    assert.deepEqual(failures, ["keys-file"]);
    // And in human form: the FAIL line carries the fix.
    const human = await caroSync(["doctor"], {
      home: daemon.home,
      env: { CARO_SYNC_RELAY: UNREACHABLE_RELAY },
    });
    assert.equal(human.code, 1);
    assert.match(human.stdout, new RegExp(`^FAIL\\s+keys-file\\s+.*\\(fix: chmod 600 ${keysPath}\\)$`, "m"));
  });

  it("fails the socket check and exits 1 once the daemon is down", async () => {
    await daemon.stop();
    const r = await caroSync(["doctor", "--json"], {
      home: daemon.home,
      env: { CARO_SYNC_RELAY: UNREACHABLE_RELAY },
    });
    assert.equal(r.code, 1);
    const doc = report(r);
    assert.equal(check(doc, "daemon").status, "fail");
    assert.equal(check(doc, "daemon-version").status, "skip");
    assert.equal(check(doc, "relay-daemon").status, "skip");
    // Storage is still checked while nothing holds it.
    assert.equal(check(doc, "cache").status, "ok");
  });
});

describe("caro-sync doctor on a healthy setup", () => {
  let relay: TestRelay;
  let daemon: DaemonProcess;
  before(async () => {
    relay = await startTestRelay();
    daemon = await spawnDaemon({ env: { CARO_SYNC_RELAY: relay.url } });
  });
  after(async () => {
    await daemon.cleanup();
    await relay.stop();
  });

  it("reports every check ok and exits 0", async () => {
    const accountId = await initDaemon(daemon);
    writeKeys(daemon.home, accountId);
    const client = await daemon.client();
    try {
      await waitFor(async () => (await client.health()).jazz.connected, {
        what: "the daemon to reach the relay",
      });
    } finally {
      client.close();
    }
    const r = await caroSync(["doctor", "--json"], {
      home: daemon.home,
      env: { CARO_SYNC_RELAY: relay.url },
    });
    const doc = report(r);
    const notOk = doc.checks.filter((c) => c.status !== "ok");
    assert.deepEqual(notOk, [], JSON.stringify(notOk));
    assert.equal(doc.ok, true);
    assert.equal(r.code, 0);
    assert.match(check(doc, "account").detail, new RegExp(accountId));
    assert.match(check(doc, "relay-handshake").detail, /handshake .* in \d+ ms/);
  });
});
