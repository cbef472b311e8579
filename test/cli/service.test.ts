// `caro-sync service install|uninstall|status` into a temp HOME: the systemd unit (checked by
// `systemd-analyze verify`), the launchd plist (parsed by python3's plistlib), and what happens
// when systemctl is missing, refuses, or works (a stand-in on PATH that records its calls, so no
// test ever touches the machine's real user manager).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { chmod, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it, type TestContext } from "node:test";
import { BIN_PATH } from "../../src/client/launch.js";
import { renderServiceFile, systemdExecLine, systemdQuote } from "../../src/cli/service/units.js";
import { tempDir } from "../helpers/tmp.js";
import { caroSync, oneJson } from "./run.js";

interface InstallDoc {
  platform: string;
  path: string;
  written: boolean;
  existed: boolean;
  changed: boolean;
  enabled: boolean;
  argv: string[];
  environment: string[];
  steps: { command: string; ok: boolean; error?: string }[];
  next: string[];
}

const onPath = (tool: string) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;

/** True when `tool` exists; else the test skips, or fails when CI is set (CI must run it). */
function requireTool(t: TestContext, tool: string): boolean {
  if (onPath(tool)) return true;
  if (process.env.CI) assert.fail(`${tool} is not installed (CI is set, so the check must run)`);
  t.skip(`${tool} is not installed`);
  return false;
}

/** `systemd-analyze --user verify` on a unit file; its output must not mention the unit at all. */
function verifyUnit(unitPath: string, scratch: string): void {
  const r = spawnSync("systemd-analyze", ["--user", "verify", unitPath], {
    encoding: "utf8",
    // A user manager is simulated from a runtime dir of our own; nothing reaches a real one.
    env: { PATH: process.env.PATH, HOME: scratch, XDG_RUNTIME_DIR: scratch },
  });
  const output = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, output);
  assert.doesNotMatch(output, /caro-sync|not executable|Unknown|Invalid|Ignoring|bad|fail/i, output);
}

describe("caro-sync service (linux: systemd user unit)", () => {
  let home: { path: string; cleanup: () => Promise<void> };
  let emptyBin: string;
  let unitPath: string;
  const run = (args: string[], env: Record<string, string> = {}) =>
    caroSync(args, { home: home.path, env: { PATH: emptyBin, ...env } });

  before(async () => {
    home = await tempDir("cs-svc-");
    emptyBin = join(home.path, "empty-bin");
    await mkdir(emptyBin);
    unitPath = join(home.path, ".config", "systemd", "user", "caro-sync.service");
  });
  after(() => home.cleanup());

  it("reports not installed before install", async () => {
    const r = await run(["service", "status", "--platform", "linux", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = oneJson(r) as { installed: boolean; path: string; current: null };
    assert.deepEqual([doc.installed, doc.path, doc.current], [false, unitPath, null]);
  });

  it("--no-enable writes a unit that runs this installation's absolute paths", async () => {
    const r = await run(["service", "install", "--platform", "linux", "--no-enable", "--json"], {
      CARO_SYNC_RELAY: "ws://127.0.0.1:4200",
      CARO_SYNC_LOG_LEVEL: "debug",
      SOME_OTHER_SETTING: "not-recorded",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    const doc = oneJson(r) as InstallDoc;
    assert.equal(doc.path, unitPath);
    assert.deepEqual([doc.written, doc.existed, doc.enabled, doc.steps], [true, false, false, []]);
    assert.deepEqual(doc.next, [
      "systemctl --user daemon-reload",
      "systemctl --user enable --now caro-sync.service",
    ]);
    assert.deepEqual(doc.environment, ["CARO_SYNC_RELAY", "CARO_SYNC_LOG_LEVEL"]);
    assert.deepEqual(doc.argv, [process.execPath, BIN_PATH, "daemon"]);

    assert.equal(statSync(unitPath).mode & 0o777, 0o600);
    const unit = await readFile(unitPath, "utf8");
    const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1];
    assert.equal(execStart, `"${process.execPath}" "${BIN_PATH}" "daemon"`);
    for (const path of [process.execPath, BIN_PATH]) {
      assert.ok(path.startsWith("/"), `${path} is absolute`);
      accessSync(path, constants.R_OK);
    }
    accessSync(process.execPath, constants.X_OK);
    assert.match(unit, /^Restart=on-failure$/m);
    assert.match(unit, /^RestartPreventExitStatus=65 75 77 78$/m);
    assert.match(unit, /^WantedBy=default.target$/m);
    assert.match(unit, /^Environment="CARO_SYNC_RELAY=ws:\/\/127.0.0.1:4200"$/m);
    assert.match(unit, /^Environment="CARO_SYNC_LOG_LEVEL=debug"$/m);
    // The memory settings of every daemon this package starts (client/launch.ts).
    assert.match(unit, /^Environment="MALLOC_TRIM_THRESHOLD_=131072"$/m);
    assert.match(unit, /^Environment="NODE_OPTIONS=--max-semi-space-size=2"$/m);
    assert.doesNotMatch(unit, /SOME_OTHER_SETTING|--background/);
  });

  it("writes a unit that systemd-analyze verify accepts", (t) => {
    if (!requireTool(t, "systemd-analyze")) return;
    verifyUnit(unitPath, home.path);
  });

  it("status finds the file and says whether it matches this installation", async () => {
    const same = await run(["service", "status", "--platform", "linux", "--json"], {
      CARO_SYNC_RELAY: "ws://127.0.0.1:4200",
      CARO_SYNC_LOG_LEVEL: "debug",
    });
    assert.equal(same.code, 0, same.stderr);
    const doc = oneJson(same) as { installed: boolean; current: boolean; manager: { available: boolean } };
    assert.deepEqual([doc.installed, doc.current], [true, true]);
    const other = oneJson(await run(["service", "status", "--platform", "linux", "--json"])) as typeof doc;
    assert.equal(other.current, false, "without the recorded relay the file is not what install writes now");
  });

  it("keeps the file and names the commands to run when systemctl is missing", async () => {
    const r = await run(["service", "install", "--platform", "linux", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = oneJson(r) as InstallDoc;
    if (process.platform !== "linux") return; // systemctl is only tried on Linux itself
    assert.equal(doc.enabled, false);
    assert.deepEqual(doc.steps, [
      { command: "systemctl --user daemon-reload", ok: false, error: "systemctl not found" },
    ]);
    assert.deepEqual(doc.next, [
      "systemctl --user daemon-reload",
      "systemctl --user enable --now caro-sync.service",
      "systemctl --user try-restart caro-sync.service",
    ]);
    assert.match(r.stderr, /^warning: could not enable the service: systemctl --user daemon-reload/m);
    assert.ok(existsSync(unitPath));

    const human = await run(["service", "install", "--platform", "linux"]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /to enable and start it, run:\n {2}systemctl --user daemon-reload\n/);
  });

  it("enables and starts the unit through systemctl --user when it works", async (t) => {
    if (process.platform !== "linux") return t.skip("systemctl is only called on Linux");
    const bin = join(home.path, "fake-bin");
    const calls = join(home.path, "systemctl-calls");
    await mkdir(bin, { recursive: true });
    // Stands in for a user manager: records each call, answers is-enabled / is-active.
    await writeFile(
      join(bin, "systemctl"),
      `#!/bin/sh\necho "$*" >> '${calls}'\ncase "$2" in is-enabled) echo enabled;; is-active) echo active;; esac\n`,
    );
    await chmod(join(bin, "systemctl"), 0o755);
    const r = await run(["service", "install", "--json"], { PATH: bin });
    assert.equal(r.code, 0, r.stderr);
    const doc = oneJson(r) as InstallDoc;
    assert.deepEqual([doc.enabled, doc.existed, doc.next], [true, true, []]);
    assert.deepEqual((await readFile(calls, "utf8")).trim().split("\n"), [
      "--user daemon-reload",
      "--user enable --now caro-sync.service",
      "--user try-restart caro-sync.service",
    ]);

    const s = await run(["service", "status", "--json"], { PATH: bin });
    assert.deepEqual((oneJson(s) as { manager: unknown }).manager, {
      available: true,
      enabled: "enabled",
      active: "active",
    });
  });

  it("passes --socket on to the daemon's command line", async () => {
    const socket = join(home.path, "custom.sock");
    const r = await run([
      "--socket",
      socket,
      "service",
      "install",
      "--platform",
      "linux",
      "--no-enable",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((oneJson(r) as InstallDoc).argv, [
      process.execPath,
      BIN_PATH,
      "--socket",
      socket,
      "daemon",
    ]);
    assert.match(await readFile(unitPath, "utf8"), new RegExp(`"--socket" "${socket}" "daemon"$`, "m"));
  });

  it("uninstall removes the file (best effort with systemctl missing), and is idempotent", async () => {
    const r = await run(["service", "uninstall", "--platform", "linux", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = oneJson(r) as { removed: boolean; path: string };
    assert.deepEqual([doc.removed, doc.path], [true, unitPath]);
    assert.equal(existsSync(unitPath), false);
    const again = await run(["service", "uninstall", "--platform", "linux", "--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((oneJson(again) as { removed: boolean }).removed, false);
  });
});

describe("caro-sync service (darwin: launchd agent)", () => {
  let home: { path: string; cleanup: () => Promise<void> };
  let plistPath: string;
  const run = (args: string[]) =>
    caroSync(args, { home: home.path, env: { CARO_SYNC_RELAY: "ws://h:1/?a=1&b=<2>" } });

  before(async () => {
    home = await tempDir("cs-svc-");
    plistPath = join(home.path, "Library", "LaunchAgents", "dev.caro.sync.plist");
  });
  after(() => home.cleanup());

  it("writes a well-formed plist with absolute paths and logs under ~/.cache/cmdai", async (t) => {
    const r = await run(["service", "install", "--platform", "darwin", "--no-enable", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = oneJson(r) as InstallDoc;
    assert.equal(doc.path, plistPath);
    assert.deepEqual(doc.next, [
      `launchctl enable gui/${process.getuid!()}/dev.caro.sync`,
      `launchctl bootstrap gui/${process.getuid!()} ${plistPath}`,
    ]);
    const logDir = join(home.path, ".cache", "cmdai");
    assert.ok(statSync(logDir).isDirectory(), "launchd needs the log directory to exist");

    if (!requireTool(t, "python3")) return;
    const parsed = spawnSync(
      "python3",
      [
        "-c",
        "import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))",
        plistPath,
      ],
      { encoding: "utf8" },
    );
    assert.equal(parsed.status, 0, parsed.stderr);
    const plist = JSON.parse(parsed.stdout) as Record<string, unknown>;
    assert.deepEqual(plist, {
      Label: "dev.caro.sync",
      ProgramArguments: [process.execPath, BIN_PATH, "daemon"],
      EnvironmentVariables: { CARO_SYNC_RELAY: "ws://h:1/?a=1&b=<2>" },
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ThrottleInterval: 5,
      ExitTimeOut: 20,
      ProcessType: "Background",
      Umask: 0o77,
      StandardOutPath: join(logDir, "sync-daemon.log"),
      StandardErrorPath: join(logDir, "sync-daemon.log"),
    });
  });

  it("status and uninstall", async () => {
    const s = oneJson(await run(["service", "status", "--platform", "darwin", "--json"])) as {
      installed: boolean;
      current: boolean;
    };
    assert.deepEqual([s.installed, s.current], [true, true]);
    const r = await run(["service", "uninstall", "--platform", "darwin", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((oneJson(r) as { removed: boolean }).removed, true);
    assert.equal(existsSync(plistPath), false);
  });

  it("refuses an unknown --platform as a usage error", async () => {
    const r = await run(["service", "install", "--platform", "windows", "--json"]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
  });
});

describe("service file quoting", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  before(async () => (dir = await tempDir("cs-q-")));
  after(() => dir.cleanup());

  it("quotes paths with spaces, quotes, % and $ so systemd runs them as given", async (t) => {
    assert.equal(systemdQuote('a b"c\\%d$e', true), '"a b\\"c\\\\%%d$$e"');
    assert.equal(systemdQuote("K=50% $x", false), '"K=50%% $x"');
    assert.throws(() => systemdExecLine(['/opt/a"b/node', "x"]), /quotes or backslashes/);
    if (!requireTool(t, "systemd-analyze")) return;
    // A Node.js reached through a directory with a space, a specifier and a $ in its name, and
    // arguments that need every escape.
    const odd = join(dir.path, "odd dir %i $HOME");
    await mkdir(odd);
    await symlink(process.execPath, join(odd, "node"));
    const unitDir = join(dir.path, "units");
    await mkdir(unitDir);
    const unit = join(unitDir, "caro-sync.service");
    const argv = [join(odd, "node"), BIN_PATH, "--socket", '/tmp/a "b" %h $USER \\c', "daemon"];
    const spec = { version: "0", argv, env: { CARO_SYNC_RELAY: 'ws://x/?q="1"&p=50%' }, logFile: "/x" };
    await writeFile(unit, renderServiceFile("linux", spec));
    verifyUnit(unit, dir.path);
    // A path that does not exist is reported by the verifier: the check above is not vacuous.
    const missing = { ...spec, argv: [join(odd, "nonexistent"), BIN_PATH, "daemon"] };
    await writeFile(unit, renderServiceFile("linux", missing));
    assert.throws(() => verifyUnit(unit, dir.path), /nonexistent/);
  });

  it("refuses control characters in any value", () => {
    const spec = { version: "0", argv: ["/bin/node", "/x\nExecStartPre=/bin/evil"], env: {}, logFile: "/x" };
    assert.throws(() => renderServiceFile("linux", spec), /control characters/);
  });
});
