// The command table of program.ts: every command is listed in help, and a run loads only the module
// of the command it names (checked by the modules the process loads, not by its speed).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { buildProgram, COMMAND_MODULES, modulesFor } from "../../src/cli/program.js";
import { startPeer, type Peer } from "../client/peer.js";
import { RECORD_MODULES_FLAG, readLoadedModules } from "../helpers/loadedModules.js";
import { tempDir } from "../helpers/tmp.js";
import { caroSync, oneJson } from "./run.js";

/** Packages a client command such as ping has no use for. */
const HEAVY = [
  "zod",
  "@inquirer",
  "@scure/bip39",
  "hash-wasm",
  "cli-table3",
  "cli-progress",
  "log-update",
  "pino",
];

const commandModule = (url: string): string | null =>
  /\/dist\/src\/cli\/commands\/([^/]+)\.js$/.exec(url)?.[1] ?? null;
const packageOf = (url: string): string | null =>
  /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? null;

describe("the command table", () => {
  it("names exactly the commands each module registers, in the order help lists them", async () => {
    for (const m of COMMAND_MODULES) {
      const program = await buildProgram(() => {}, { modules: [m] });
      assert.deepEqual(
        program.commands.map((c) => c.name()),
        m.names,
      );
    }
    const all = await buildProgram(() => {});
    assert.deepEqual(
      all.commands.map((c) => c.name()),
      COMMAND_MODULES.flatMap((m) => m.names),
    );
  });

  it("picks the named command's module, none for --version, all for help and unknown names", () => {
    const names = (args: string[]) => modulesFor(args).flatMap((m) => m.names);
    assert.deepEqual(names(["ping"]), ["ping", "status", "health"]);
    assert.deepEqual(names(["--socket", "/tmp/s.sock", "--json", "init", "--yes"]), ["init", "join"]);
    assert.deepEqual(names(["--json", "devices", "remove", "x"]), ["devices"]);
    assert.deepEqual(names(["--", "verify"]), ["verify"]);
    assert.deepEqual(names(["--version"]), []);
    assert.deepEqual(names(["-V", "--json"]), []);
    const all = COMMAND_MODULES.flatMap((m) => m.names);
    for (const args of [[], ["--help"], ["-V", "-h"], ["help", "ping"], ["bogus"], ["statsu"]])
      assert.deepEqual(names(args), all, args.join(" "));
  });
});

describe("what a run loads", () => {
  let home: { path: string; cleanup: () => Promise<void> };
  let peer: Peer;

  before(async () => {
    home = await tempDir("cs-home-");
    peer = await startPeer({});
  });
  after(async () => {
    await peer.close();
    await home.cleanup();
  });

  async function loaded(args: string[], env: Record<string, string> = {}) {
    const file = join(home.path, `modules-${args.join("-")}.txt`);
    const run = await caroSync(args, {
      home: home.path,
      socket: peer.socketPath,
      env: { NODE_OPTIONS: RECORD_MODULES_FLAG, LOADED_MODULES_FILE: file, ...env },
    });
    return { run, urls: readLoadedModules(file) };
  }

  it("ping loads its own command module and none of the heavy packages", async () => {
    const { run, urls } = await loaded(["ping", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((oneJson(run) as { pong: boolean }).pong, true);
    assert.deepEqual(urls.map(commandModule).filter(Boolean), ["info"]);
    const packages = new Set(urls.map(packageOf));
    for (const name of HEAVY) assert.ok(![...packages].some((p) => p?.startsWith(name)), `${name} loaded`);
  });

  it("--version loads no command module", async () => {
    const { run, urls } = await loaded(["--version"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^\d+\.\d+\.\d+/);
    assert.deepEqual(urls.map(commandModule).filter(Boolean), []);
  });

  it("--help loads every command module and lists every command with its description", async () => {
    const { run, urls } = await loaded(["--help"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(new Set(urls.map(commandModule).filter(Boolean)).size, COMMAND_MODULES.length);
    const program = await buildProgram(() => {});
    for (const command of program.commands) {
      // "  name [options] <args>   description": the term two spaces in (wrapped text is further in).
      const line = run.stdout.split("\n").find((l) => l.startsWith(`  ${command.name()} `));
      assert.ok(line, `${command.name()} is not listed:\n${run.stdout}`);
      // Long descriptions wrap: the first words are on the command's line.
      const firstWords = command.description().split(" ").slice(0, 3).join(" ");
      assert.ok(line.includes(firstWords), `${command.name()}: "${firstWords}" not in "${line}"`);
    }
  });

  it("an unknown command is a usage error suggesting the nearest of all commands", async () => {
    const r = await caroSync(["statsu"], { home: home.path, socket: peer.socketPath });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'statsu'[\s\S]*Did you mean status\?/);
  });

  it("an invalid setting in the environment still stops ping (exit 78)", async () => {
    const r = await caroSync(["ping"], { home: home.path, env: { CARO_SYNC_LOG_LEVEL: "loud" } });
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, /CARO_SYNC_LOG_LEVEL/);
  });
});
