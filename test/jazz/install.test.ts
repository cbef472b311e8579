// The install cut: package.json points cojson's `cojson-core-rn` dependency (React Native crypto,
// ~150 MB of iOS/Android binaries) at the stub in stubs/cojson-core-rn through `overrides`. These
// tests show the cut is safe: cojson resolves to the stub, the stub is loud if anything reaches it,
// every Jazz entry point src/ imports still loads, the native crypto (cojson-core-napi) loads and
// signs, and two devices still sync through a relay.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { RemoteSession } from "../../src/sync/remote.js";
import { startTestRelay, type TestRelay } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { Collector, command, newAuthKey, service } from "./fixtures.js";

/** The repository root (this file is dist/test/jazz/install.test.js). */
const REPO = fileURLToPath(new URL("../../../", import.meta.url)).replace(/\/$/, "");
const STUB = join(REPO, "stubs", "cojson-core-rn");

/** Resolves `request` as cojson itself would: from cojson's own folder. */
function resolveFromCojson(request: string): string {
  const cojsonEntry = fileURLToPath(import.meta.resolve("cojson"));
  return createRequire(cojsonEntry).resolve(request);
}

/** Every cojson / jazz-tools package specifier that src/ imports, statically or dynamically. */
function jazzSpecifiersInSrc(): string[] {
  const found = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) {
        const text = readFileSync(path, "utf8");
        // Type-only imports have no runtime module to load.
        for (const [, specifier = ""] of text.matchAll(
          /(?:^import (?!type\b)[^;]*?from |\bimport\()"([^"]+)"/gms,
        )) {
          if (/^(cojson|jazz-tools)(-[a-z-]+)?(\/|$)/.test(specifier)) found.add(specifier);
        }
      }
    }
  };
  walk(join(REPO, "src"));
  return [...found].sort();
}

describe("install: cojson-core-rn is a stub, and Jazz still loads and syncs on Node", () => {
  it("cojson's cojson-core-rn resolves to the local stub, and nothing of React Native is installed", () => {
    const manifest = resolveFromCojson("cojson-core-rn/package.json");
    assert.equal(realpathSync(manifest), realpathSync(join(STUB, "package.json")));
    const pkg = JSON.parse(readFileSync(manifest, "utf8")) as { version: string; dependencies?: object };
    assert.match(pkg.version, /-node-stub$/);
    assert.equal(pkg.dependencies, undefined, "the stub pulls in nothing");
    // What the real package brought along: its binding generator and the RN binary folders.
    for (const gone of ["uniffi-bindgen-react-native", "react-native"]) {
      assert.equal(existsSync(join(REPO, "node_modules", gone)), false, `${gone} is not installed`);
    }
    for (const folder of ["android", "ios", "CojsonCoreRnFramework.xcframework"]) {
      assert.equal(existsSync(join(dirname(manifest), folder)), false, `no ${folder}/`);
    }
  });

  it("importing the stub fails loudly, so nothing can run on it by accident", async () => {
    const entry = resolveFromCojson("cojson-core-rn");
    await assert.rejects(import(pathToFileURL(entry).href), /cojson-core-rn is a stub in caro-sync/);
  });

  it("every cojson and jazz-tools entry point that src/ imports loads with the stub in place", async () => {
    const specifiers = jazzSpecifiersInSrc();
    // The scan must see the imports that matter, or it proves nothing.
    for (const expected of ["cojson", "jazz-tools", "cojson-transport-ws", "cojson/crypto/NapiCrypto"]) {
      assert.ok(specifiers.includes(expected), `src/ imports ${expected} (found: ${specifiers.join(", ")})`);
    }
    for (const specifier of specifiers) {
      await assert.doesNotReject(import(specifier), specifier);
    }
  });

  it("cojson-core-napi, the native crypto, loads and signs where it ships a build", async (t) => {
    const napiPlatforms = ["linux-x64", "linux-arm64", "linux-arm", "darwin-x64", "darwin-arm64"];
    if (!napiPlatforms.includes(`${process.platform}-${process.arch}`)) {
      return t.skip(`cojson-core-napi has no build for ${process.platform}-${process.arch}`);
    }
    // A dynamic import on purpose: app code takes its provider from src/jazz/crypto.ts (the lint
    // boundary), but this test is about the installed package itself.
    const { NapiCrypto } = await import("cojson/crypto/NapiCrypto");
    const crypto = await NapiCrypto.create();
    // create() itself falls back to WASM when the binary does not load: that would hide a bad install.
    assert.ok(crypto instanceof NapiCrypto, `the native build did not load (got ${crypto.constructor.name})`);
    const signer = crypto.newRandomSigner();
    const signature = crypto.sign(signer, { hello: "node" });
    assert.equal(crypto.verify(signature, { hello: "node" }, crypto.getSignerID(signer)), true);
  });

  describe("two devices through a relay", () => {
    let relay: TestRelay;
    let dir: { path: string; cleanup: () => Promise<void> };
    let a: RemoteSession | undefined;
    let b: RemoteSession | undefined;

    before(async () => {
      relay = await startTestRelay();
      dir = await tempDir("cs-jzi-");
    });

    after(async () => {
      await a?.close();
      await b?.close();
      await relay?.stop();
      await dir?.cleanup();
    });

    it("a command written on one device reaches the other", async () => {
      const authKey = newAuthKey();
      const svcA = service(relay.url, dir.path, "a");
      a = await svcA.open({ identity: svcA.deriveIdentity(authKey), mode: "create" });
      await a.connect();
      const written = command();
      await a.write([written]);
      await a.waitForUpload(10_000);

      const svcB = service(relay.url, dir.path, "b");
      b = await svcB.open({ identity: svcB.deriveIdentity(authKey), mode: "join" });
      const seen = new Collector(b);
      await seen.until("A's command at B", (c) => c.command(written.id));
      assert.deepEqual(seen.command(written.id), written);
      seen.off();
    });
  });
});
