// Which Jazz crypto provider `CARO_SYNC_JAZZ_CRYPTO` asks for (jazz/crypto.ts loads it). Apart
// from the provider, so that the daemon checks the variable at start without loading Jazz.
import { ConfigError } from "../config/errors.js";

export type JazzCryptoKind = "native" | "wasm";
export type JazzCryptoMode = "auto" | JazzCryptoKind;

export const CRYPTO_ENV = "CARO_SYNC_JAZZ_CRYPTO";

/**
 * The mode `CARO_SYNC_JAZZ_CRYPTO` asks for (unset or empty: auto). Any other value is a
 * ConfigError, so the daemon exits 78 (EX_CONFIG) and a service manager does not restart it.
 */
export function cryptoModeFromEnv(env: NodeJS.ProcessEnv = process.env): JazzCryptoMode {
  const value = env[CRYPTO_ENV]?.trim().toLowerCase() ?? "";
  if (value === "") return "auto";
  if (value === "auto" || value === "native" || value === "wasm") return value;
  throw new ConfigError(CRYPTO_ENV, null, `"native", "wasm" or "auto", not ${JSON.stringify(value)}`);
}
