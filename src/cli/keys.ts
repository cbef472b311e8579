// The keys this client derived from the recovery phrase (never the phrase itself), as the data
// commands need them: `add`, `history`, `pref`, `export` encrypt and decrypt locally with them.
import { KeysFile, KeysFileError, defaultKeysPath, type StoredKeys } from "../client/crypto/index.js";
import { CliError, EXIT } from "./exitCodes.js";

export function keysFile(env: NodeJS.ProcessEnv = process.env): KeysFile {
  return new KeysFile(defaultKeysPath(env));
}

/** The stored keys; a clear error (exit 4, or 1 for an unsafe file) when there are none. */
export function requireKeys(env: NodeJS.ProcessEnv = process.env): StoredKeys {
  const file = keysFile(env);
  let stored: StoredKeys | null;
  try {
    stored = file.load();
  } catch (err) {
    if (!(err instanceof KeysFileError)) throw err;
    throw new CliError(err.message, EXIT.failure, `keys_${err.reason}`, err.hint);
  }
  if (!stored) {
    throw new CliError(
      `this device has no sync keys (${file.path})`,
      EXIT.notInitialized,
      "no_keys",
      "run `caro-sync init` on your first device, or `caro-sync join` with its recovery phrase",
    );
  }
  return stored;
}
