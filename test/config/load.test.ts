import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/load.js";
import { ENV_SETTINGS, hasSettingsToCheck, socketPathOf } from "../../src/config/paths.js";
import { DEFAULTS } from "../../src/config/schema.js";
import { tempDir } from "../helpers/tmp.js";

describe("loadConfig", () => {
  let home: string;
  let cleanup: () => Promise<void>;
  const configFile = () => join(home, ".config", "cmdai", "sync-daemon.json");
  const writeConfig = async (text: string) => {
    await mkdir(join(home, ".config", "cmdai"), { recursive: true });
    await writeFile(configFile(), text);
  };

  before(async () => ({ path: home, cleanup } = await tempDir()));
  after(() => cleanup());

  it("uses the seed's defaults and paths under HOME when nothing is set", () => {
    const { config, warnings } = loadConfig({}, { HOME: "/home/u" });
    assert.equal(config.relay, "wss://mesh.jazz.tools");
    assert.equal(config.logLevel, "info");
    assert.equal(config.cacheMaxSize, 104_857_600);
    assert.equal(config.syncIntervalMs, 5_000);
    assert.equal(config.offlineQueueTtlMs, 86_400_000);
    assert.equal(config.logFile, "/home/u/.cache/cmdai/sync-daemon.log");
    assert.equal(config.logMaxBytes, 10 * 1024 * 1024);
    assert.equal(config.logFiles, 5);
    assert.equal(config.socketPath, "/home/u/.config/cmdai/sync.sock");
    assert.equal(config.cachePath, "/home/u/.cache/cmdai/sync.db");
    assert.equal(config.jazzStoragePath, "/home/u/.cache/cmdai/sync.jazz.db");
    assert.equal(config.credentialsPath, "/home/u/.config/cmdai/sync-credentials.json");
    assert.equal(config.configFile, "/home/u/.config/cmdai/sync-daemon.json");
    assert.deepEqual(warnings, []);
    assert.ok(Object.isFrozen(config));
  });

  it("layers defaults < file < environment < flags", async () => {
    await writeConfig(JSON.stringify({ relay: "ws://file:1", logLevel: "warn", syncIntervalMs: 750 }));
    const env = { HOME: home, CARO_SYNC_RELAY: "ws://env:2", CARO_SYNC_SOCKET: "/tmp/env.sock" };
    const fileOnly = loadConfig({}, { HOME: home });
    assert.equal(fileOnly.config.relay, "ws://file:1");
    assert.equal(fileOnly.config.syncIntervalMs, 750);
    assert.equal(fileOnly.config.offlineQueueTtlMs, DEFAULTS.offlineQueueTtlMs);

    const withEnv = loadConfig({}, env);
    assert.equal(withEnv.config.relay, "ws://env:2");
    assert.equal(withEnv.config.logLevel, "warn");
    assert.equal(withEnv.config.socketPath, "/tmp/env.sock");

    const withFlags = loadConfig(
      { relay: "ws://flag:3", socketPath: "/tmp/flag.sock", logLevel: "debug" },
      env,
    );
    assert.equal(withFlags.config.relay, "ws://flag:3");
    assert.equal(withFlags.config.socketPath, "/tmp/flag.sock");
    assert.equal(withFlags.config.logLevel, "debug");
  });

  it("takes the cache path and log level from the environment", () => {
    const { config } = loadConfig(
      {},
      { HOME: "/h", CARO_SYNC_CACHE_PATH: "/c/x.db", CARO_SYNC_LOG_LEVEL: "error" },
    );
    assert.equal(config.cachePath, "/c/x.db");
    assert.equal(config.logLevel, "error");
  });

  it("takes the log rotation's size and file count from the file", async () => {
    await writeConfig(JSON.stringify({ logMaxBytes: 65_536, logFiles: 2 }));
    const { config, warnings } = loadConfig({}, { HOME: home });
    assert.equal(config.logMaxBytes, 65_536);
    assert.equal(config.logFiles, 2);
    assert.deepEqual(warnings, []);
  });

  it("warns about unknown keys and keeps going", async () => {
    await writeConfig(JSON.stringify({ relay: "ws://x:1", colour: "blue" }));
    const { config, warnings } = loadConfig({}, { HOME: home });
    assert.equal(config.relay, "ws://x:1");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /unknown key "colour"/);
  });

  const bad: [string, string, RegExp][] = [
    ["invalid JSON", "{ relay: ", /is not valid JSON/],
    ["a non-object document", "[1,2]", /expected a JSON object/],
    ["a wrong type", JSON.stringify({ syncIntervalMs: "fast" }), /"syncIntervalMs".*expected number/],
    [
      "an unknown log level",
      JSON.stringify({ logLevel: "loud" }),
      /"logLevel".*expected one of trace, debug/,
    ],
    ["a log file size under 1 KiB", JSON.stringify({ logMaxBytes: 100 }), /"logMaxBytes".*at least 1024/],
    ["a fractional log file size", JSON.stringify({ logMaxBytes: 4096.5 }), /"logMaxBytes".*whole number/],
    ["a single log file", JSON.stringify({ logFiles: 1 }), /"logFiles".*from 2 to 100/],
    ["too many log files", JSON.stringify({ logFiles: 1000 }), /"logFiles".*from 2 to 100/],
    [
      "a relay that is not a WebSocket URL",
      JSON.stringify({ relay: "http://x" }),
      /"relay".*ws:\/\/ or wss:\/\//,
    ],
  ];
  for (const [what, text, message] of bad) {
    it(`rejects ${what}, naming the file, the key and the expectation`, async () => {
      await writeConfig(text);
      assert.throws(
        () => loadConfig({}, { HOME: home }),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.ok(err.message.startsWith(configFile()), err.message);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  it("rejects a bad log level from the environment, naming the source", async () => {
    await writeConfig("{}");
    assert.throws(
      () => loadConfig({}, { HOME: home, CARO_SYNC_LOG_LEVEL: "chatty" }),
      /environment CARO_SYNC_LOG_LEVEL: expected one of trace/,
    );
  });
});

// What a client command checks without loading the schema (cli/context.ts).
describe("hasSettingsToCheck", () => {
  it("is false only when loadConfig cannot fail: no file, no setting in the environment", async () => {
    const dir = await tempDir();
    try {
      const env = { HOME: dir.path, CARO_SYNC_SOCKET: "/tmp/x.sock", CARO_SYNC_CACHE_PATH: "/tmp/x.db" };
      assert.equal(hasSettingsToCheck({}, env), false);
      assert.equal(loadConfig({}, env).config.socketPath, socketPathOf({}, env));
      // Each variable loadConfig validates counts, and a bad value of each fails it.
      for (const name of Object.keys(ENV_SETTINGS)) {
        assert.equal(hasSettingsToCheck({}, { ...env, [name]: "bad value" }), true, name);
        assert.throws(() => loadConfig({}, { ...env, [name]: "bad value" }), ConfigError, name);
      }
      await mkdir(join(dir.path, ".config", "cmdai"), { recursive: true });
      await writeFile(join(dir.path, ".config", "cmdai", "sync-daemon.json"), "{ nope");
      assert.equal(hasSettingsToCheck({}, env), true);
      assert.equal(hasSettingsToCheck({ configFile: join(dir.path, "absent.json") }, env), false);
    } finally {
      await dir.cleanup();
    }
  });

  it("socketPathOf: the flag, else CARO_SYNC_SOCKET, else under HOME", () => {
    assert.equal(
      socketPathOf({ socketPath: "/f.sock" }, { HOME: "/h", CARO_SYNC_SOCKET: "/e.sock" }),
      "/f.sock",
    );
    assert.equal(socketPathOf({}, { HOME: "/h", CARO_SYNC_SOCKET: "/e.sock" }), "/e.sock");
    assert.equal(socketPathOf({}, { HOME: "/h", CARO_SYNC_SOCKET: "" }), "/h/.config/cmdai/sync.sock");
  });
});
