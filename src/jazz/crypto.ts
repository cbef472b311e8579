// One crypto provider for the process: cojson's native (N-API) build when it loads, its WASM build
// otherwise. cojson-core-napi ships binaries for Linux and macOS only (no Windows build), and a
// missing binary fails at import time, so the native module is imported dynamically and a failure
// falls back to WASM: the same algorithms, so the same account IDs and readable data, only slower
// (docs/jazz.md has the figures). `CARO_SYNC_JAZZ_CRYPTO=native|wasm` forces one: `wasm` to run
// the fallback on a machine that has the native build, `native` to fail instead of falling back.
//
// Chosen once at module load (top-level await), so identity derivation can stay synchronous.
import type { CryptoProvider } from "cojson";
import type { Logger } from "../log/logger.js";
import { cryptoModeFromEnv, type JazzCryptoKind, type JazzCryptoMode } from "./cryptoMode.js";

export { CRYPTO_ENV, cryptoModeFromEnv, type JazzCryptoKind, type JazzCryptoMode } from "./cryptoMode.js";

export interface JazzCryptoChoice {
  crypto: CryptoProvider;
  kind: JazzCryptoKind;
  /** Why the native build was not used; only on an automatic fallback to WASM. */
  fallbackReason?: string;
}

export interface LoadJazzCryptoOptions {
  /** "auto" (the default): native when it loads, WASM otherwise. */
  mode?: JazzCryptoMode;
  /** Loads the native provider; a test replaces it with one that fails, as on Windows. */
  loadNative?: () => Promise<CryptoProvider>;
  loadWasm?: () => Promise<CryptoProvider>;
}

async function loadNativeCrypto(): Promise<CryptoProvider> {
  const { NapiCrypto } = await import("cojson/crypto/NapiCrypto");
  return NapiCrypto.create();
}

async function loadWasmCrypto(): Promise<CryptoProvider> {
  const { WasmCrypto } = await import("cojson/crypto/WasmCrypto");
  // The synchronous init decodes the module from the package itself (no fetch of a data: URL).
  return WasmCrypto.createSync();
}

/** Picks the provider. Rejects only when `mode` names one that cannot load. */
export async function loadJazzCrypto(opts: LoadJazzCryptoOptions = {}): Promise<JazzCryptoChoice> {
  const mode = opts.mode ?? "auto";
  const loadNative = opts.loadNative ?? loadNativeCrypto;
  const loadWasm = opts.loadWasm ?? loadWasmCrypto;
  if (mode === "wasm") return { crypto: await loadWasm(), kind: "wasm" };
  if (mode === "native") return { crypto: await loadNative(), kind: "native" };
  try {
    return { crypto: await loadNative(), kind: "native" };
  } catch (err) {
    const fallbackReason = err instanceof Error ? err.message : String(err);
    return { crypto: await loadWasm(), kind: "wasm", fallbackReason };
  }
}

const choice = await loadJazzCrypto({ mode: cryptoModeFromEnv() });

/** The process's provider: every node, identity derivation and the relay use it. */
export const jazzCrypto: CryptoProvider = choice.crypto;
export const jazzCryptoKind: JazzCryptoKind = choice.kind;

/** Says which provider the process uses (a warning when it fell back to WASM, with why). */
export function logJazzCrypto(logger: Logger): void {
  if (choice.fallbackReason !== undefined) {
    logger.warn(
      { crypto: choice.kind, reason: choice.fallbackReason },
      "native Jazz crypto did not load; using the WASM build (slower)",
    );
  } else {
    logger.info({ crypto: choice.kind }, "jazz crypto");
  }
}
