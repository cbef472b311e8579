// The metricsPort setting: off by default, from the config file or --metrics-port, range-checked.
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/load.js";
import { tempDir } from "../helpers/tmp.js";

describe("metricsPort", () => {
  let home: string;
  let cleanup: () => Promise<void>;
  const writeConfig = async (doc: unknown) => {
    await mkdir(join(home, ".config", "cmdai"), { recursive: true });
    await writeFile(join(home, ".config", "cmdai", "sync-daemon.json"), JSON.stringify(doc));
  };

  before(async () => ({ path: home, cleanup } = await tempDir()));
  after(() => cleanup());

  it("is 0 (off) unless set", () => {
    assert.equal(loadConfig({}, { HOME: "/nonexistent-home" }).config.metricsPort, 0);
  });

  it("comes from the file, and --metrics-port wins over it", async () => {
    await writeConfig({ metricsPort: 9464 });
    assert.equal(loadConfig({}, { HOME: home }).config.metricsPort, 9464);
    assert.equal(loadConfig({ metricsPort: "9100" }, { HOME: home }).config.metricsPort, 9100);
    assert.equal(loadConfig({ metricsPort: "0" }, { HOME: home }).config.metricsPort, 0);
  });

  it("rejects a port outside 0-65535 or not an integer, naming the key or flag", async () => {
    for (const bad of [-1, 65_536, 80.5, "9464"]) {
      await writeConfig({ metricsPort: bad });
      assert.throws(
        () => loadConfig({}, { HOME: home }),
        (err: unknown) => err instanceof ConfigError && err.key === "metricsPort",
        String(bad),
      );
    }
    await writeConfig({});
    for (const bad of ["65536", "-1", "12ab", "0x50", "1e3"]) {
      assert.throws(
        () => loadConfig({ metricsPort: bad }, { HOME: home }),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.message === "command line --metrics-port: expected an integer port from 0 to 65535 (0 = off)",
        bad,
      );
    }
  });
});
