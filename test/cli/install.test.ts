// A global install from the clone puts `caro-sync` on PATH: `npm install -g --prefix <tmp> <repo>`
// links the folder (no download, no copy) and creates <prefix>/bin/caro-sync. Run offline and with
// --ignore-scripts: the suite runs after a build, and the `prepare` script (tsc) would rebuild the
// shared working tree. The repo's lock files must come out untouched.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it, type TestContext } from "node:test";
import { BIN_PATH } from "../../src/client/launch.js";
import { DAEMON_VERSION } from "../../src/version.js";
import { tempDir } from "../helpers/tmp.js";

/** The repository root (this file is dist/test/cli/install.test.js). */
const REPO = fileURLToPath(new URL("../../../", import.meta.url)).replace(/\/$/, "");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runTool(
  command: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd: string },
): Promise<Run> {
  const child = spawn(command, args, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const digest = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("npm install -g from the clone", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let prefix: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = await tempDir("cs-inst-");
    prefix = join(dir.path, "prefix");
    mkdirSync(join(prefix, "lib"), { recursive: true });
    const home = join(dir.path, "home");
    mkdirSync(home);
    // A HOME of its own: npm's cache, logs and user config stay in the temp dir.
    env = { PATH: process.env.PATH, HOME: home, npm_config_update_notifier: "false" };
  });
  // fs.rm removes the links and never follows them into the repository.
  after(() => dir.cleanup());

  it("puts a working caro-sync in <prefix>/bin, offline", async (t: TestContext) => {
    if (spawnSync("npm", ["--version"], { env }).status !== 0) {
      if (process.env.CI) assert.fail("npm is not on PATH (CI is set, so the install test must run)");
      return t.skip("npm is not on PATH");
    }
    const locks = [join(REPO, "package-lock.json"), join(REPO, "node_modules", ".package-lock.json")];
    const before = locks.map(digest);

    const started = performance.now();
    const installed = await runTool(
      "npm",
      ["install", "-g", "--prefix", prefix, "--offline", "--ignore-scripts", "--no-audit", "--no-fund", REPO],
      { env, cwd: dir.path },
    );
    const installMs = performance.now() - started;
    assert.equal(installed.code, 0, installed.stderr);
    t.diagnostic(`npm install -g took ${Math.round(installMs)} ms`);
    assert.deepEqual(locks.map(digest), before, "the install left the repository's lock files alone");

    // A link to the clone, not a copy: what runs is this checkout's build.
    const linked = join(prefix, "lib", "node_modules", "caro-sync");
    assert.ok(lstatSync(linked).isSymbolicLink());
    assert.equal(realpathSync(linked), realpathSync(REPO));
    const bin = join(prefix, "bin", "caro-sync");
    assert.equal(realpathSync(bin), realpathSync(BIN_PATH));

    // Run by its PATH name from elsewhere, as a user would.
    const onPath = { ...env, PATH: `${join(prefix, "bin")}:${env.PATH ?? ""}` };
    const version = await runTool("caro-sync", ["--version"], { env: onPath, cwd: dir.path });
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout, `${DAEMON_VERSION}\n`);

    const help = await runTool("caro-sync", ["--help"], { env: onPath, cwd: dir.path });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: caro-sync \[options\] \[command\]$/m);
    for (const command of ["daemon", "start", "status", "service"]) {
      assert.match(help.stdout, new RegExp(`^ {2}${command}\\b`, "m"), command);
    }

    // A service installed through the PATH command runs the clone's real bin/caro-sync, so it
    // keeps working whatever happens to the link in the prefix.
    const service = await runTool(
      "caro-sync",
      ["service", "install", "--platform", "linux", "--no-enable", "--json"],
      { env: onPath, cwd: dir.path },
    );
    assert.equal(service.code, 0, service.stderr);
    const doc = JSON.parse(service.stdout) as { argv: string[] };
    // argv[0] is the node that `#!/usr/bin/env node` found on PATH, which may not be ours.
    assert.ok(doc.argv[0]?.startsWith("/"), doc.argv[0]);
    assert.deepEqual(doc.argv.slice(1), [BIN_PATH, "daemon"]);
  });
});
