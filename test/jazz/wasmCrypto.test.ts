// The WASM crypto fallback (src/jazz/crypto.ts): cojson-core-napi has no Windows build, so when the
// native module does not load the daemon runs on cojson's WASM build. Forced here two ways: an
// injected native loader that fails (as the import does on Windows), and CARO_SYNC_JAZZ_CRYPTO=wasm
// on a real daemon process, whose data a native-crypto device then reads and answers.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { CryptoProvider } from "cojson";
import { ConfigError, EX_CONFIG } from "../../src/config/load.js";
import { deriveIdentity } from "../../src/jazz/account.js";
import {
  cryptoModeFromEnv,
  jazzCrypto,
  jazzCryptoKind,
  loadJazzCrypto,
  type JazzCryptoChoice,
} from "../../src/jazz/crypto.js";
import type { RemoteSession } from "../../src/sync/remote.js";
import { pullEverything, spawnDaemon, type DaemonProcess } from "../helpers/daemon.js";
import { startTestRelay, type TestRelay } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { command as record, Collector, service } from "./fixtures.js";

const noNativeBuild = () => Promise.reject(new Error("No native binding for win32-x64-msvc"));
const key = (fill: number) => new Uint8Array(32).fill(fill);

describe("choosing the Jazz crypto", () => {
  it("uses the native build when it loads (this machine has one)", () => {
    assert.equal(jazzCryptoKind, "native");
  });

  it("falls back to WASM when the native module does not load, and says why", async () => {
    const choice = await loadJazzCrypto({ loadNative: noNativeBuild });
    assert.equal(choice.kind, "wasm");
    assert.match(choice.fallbackReason ?? "", /win32-x64-msvc/);
    assert.equal(choice.crypto.constructor.name, "WasmCrypto");
  });

  it("with mode native, fails instead of falling back; with mode wasm, never loads native", async () => {
    await assert.rejects(loadJazzCrypto({ mode: "native", loadNative: noNativeBuild }), /win32-x64-msvc/);
    let nativeLoads = 0;
    const loadNative = () => (nativeLoads++, noNativeBuild());
    const choice = await loadJazzCrypto({ mode: "wasm", loadNative });
    assert.equal(choice.kind, "wasm");
    assert.equal(choice.fallbackReason, undefined);
    assert.equal(nativeLoads, 0);
  });

  it("reads CARO_SYNC_JAZZ_CRYPTO (unset is auto) and refuses other values as bad configuration", async () => {
    assert.equal(cryptoModeFromEnv({}), "auto");
    assert.equal(cryptoModeFromEnv({ CARO_SYNC_JAZZ_CRYPTO: "" }), "auto");
    assert.equal(cryptoModeFromEnv({ CARO_SYNC_JAZZ_CRYPTO: "WASM" }), "wasm");
    assert.equal(cryptoModeFromEnv({ CARO_SYNC_JAZZ_CRYPTO: "native" }), "native");
    assert.throws(
      () => cryptoModeFromEnv({ CARO_SYNC_JAZZ_CRYPTO: "openssl" }),
      (err) => err instanceof ConfigError && /CARO_SYNC_JAZZ_CRYPTO/.test(err.message),
    );
    const daemon = await spawnDaemon({ env: { CARO_SYNC_JAZZ_CRYPTO: "openssl" }, waitReady: false });
    try {
      assert.equal(await daemon.exited, EX_CONFIG, "the daemon exits 78, not restarted by a service manager");
      assert.match(daemon.stderr(), /CARO_SYNC_JAZZ_CRYPTO/);
    } finally {
      await daemon.cleanup();
    }
  });
});

describe("WASM crypto is interchangeable with native", () => {
  let wasm: JazzCryptoChoice;
  before(async () => (wasm = await loadJazzCrypto({ loadNative: noNativeBuild })));

  it("derives the same account from the same authKey (and the pinned vector)", () => {
    for (const fill of [1, 7, 255]) {
      assert.deepEqual(deriveIdentity(key(fill), wasm.crypto), deriveIdentity(key(fill), jazzCrypto));
    }
    const random = new Uint8Array(randomBytes(32));
    assert.deepEqual(deriveIdentity(random, wasm.crypto), deriveIdentity(random, jazzCrypto));
    assert.equal(deriveIdentity(key(1), wasm.crypto).accountId, "co_zTU3ysLQKoP63TP2Fm1dNUoBwXb");
  });

  it("verifies and decrypts what native signed and encrypted, and the other way round", () => {
    const pairs: [CryptoProvider, CryptoProvider][] = [
      [jazzCrypto, wasm.crypto],
      [wasm.crypto, jazzCrypto],
    ];
    for (const [from, to] of pairs) {
      const signer = from.newRandomAgentSecret();
      const message = { text: "hello", n: 42 };
      const signature = from.sign(from.getAgentSignerSecret(signer), message);
      assert.equal(to.verify(signature, message, to.getAgentSignerID(to.getAgentID(signer))), true);
      const { secret } = from.newRandomKeySecret();
      const nonce = { in: "co_zTest", tx: { sessionID: "s", txIndex: 0 } } as never;
      const encrypted = from.encrypt(message, secret, nonce);
      assert.deepEqual(to.decrypt(encrypted, secret, nonce), message);
    }
  });
});

describe("a daemon forced onto WASM crypto syncs with a native-crypto device", () => {
  let relay: TestRelay;
  let daemon: DaemonProcess;
  let dir: { path: string; cleanup: () => Promise<void> };
  let native: RemoteSession | null = null;
  before(async () => {
    relay = await startTestRelay();
    dir = await tempDir("cs-wasm-");
    daemon = await spawnDaemon({ env: { CARO_SYNC_RELAY: relay.url, CARO_SYNC_JAZZ_CRYPTO: "wasm" } });
  });
  after(async () => {
    await native?.close();
    await daemon?.cleanup();
    await relay?.stop();
    await dir?.cleanup();
  });

  it("logs WASM, creates the account native derives, and both sides read each other's commands", async () => {
    const authKey = randomBytes(32);
    const client = await daemon.client();
    try {
      const init = await client.init({
        authKey: authKey.toString("base64"),
        deviceName: "wasm",
        platform: "linux",
      });
      assert.equal(init.accountId, deriveIdentity(new Uint8Array(authKey)).accountId);
      assert.match(daemon.stderr(), /"crypto":"wasm"/, "the daemon says it runs on WASM");
      await daemon.waitForState("ONLINE");
      const fromDaemon = {
        id: randomUUID(),
        type: "command" as const,
        encrypted: Buffer.concat([Buffer.from([1]), randomBytes(63)]).toString("base64"),
        metadata: { deviceId: init.deviceId, createdAt: Date.now(), safetyLevel: "safe" },
      };
      const pushed = await client.push({ entries: [fromDaemon], ack: "relay" });
      assert.equal(pushed.synced, 1);

      // A device on native crypto (this process) joins the account and reads the daemon's command.
      const svc = service(relay.url, dir.path, "native");
      native = await svc.open({ identity: svc.deriveIdentity(new Uint8Array(authKey)), mode: "join" });
      await native.connect();
      const seen = new Collector(native);
      const got = await seen.until("the daemon's command", (c) => c.command(fromDaemon.id));
      assert.equal(got.encryptedPayload, fromDaemon.encrypted);

      // ...and writes one that the WASM daemon receives.
      const fromNative = record({ deviceId: "native-device" });
      await native.write([fromNative]);
      await native.waitForUpload(20_000);
      await waitFor(async () => (await pullEverything(client)).entries.some((e) => e.id === fromNative.id), {
        what: "the native device's command on the WASM daemon",
        timeoutMs: 20_000,
        intervalMs: 50,
      });
    } finally {
      client.close();
    }
  });
});
