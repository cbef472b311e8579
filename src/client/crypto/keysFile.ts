// The keys file: the derived keys (never the phrase), JSON, mode 0600 in a 0700 directory, replaced
// atomically so a crash mid-save leaves the old file or the new one, never half of one.
// Same discipline as the daemon's credentials file, with the client's own error type.
import { join } from "node:path";
import { z } from "zod";
import { defaultPaths } from "../../config/paths.js";
import { readPrivateFile, removePrivateFile, writePrivateFile } from "../../fs/privateFile.js";
import { KEY_BYTES, type SyncKeys } from "./keys.js";

export interface StoredKeys {
  version: 1;
  accountId: string;
  keys: SyncKeys;
  /** Unix epoch milliseconds. */
  createdAt: number;
}

export type KeysFileErrorReason = "insecure_permissions" | "unreadable" | "malformed";

/** A keys file that exists but cannot be trusted or used. The message names the path, never a key. */
export class KeysFileError extends Error {
  override readonly name = "KeysFileError";
  constructor(
    readonly reason: KeysFileErrorReason,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** `${configDir}/sync-keys.json`, i.e. ~/.config/cmdai/sync-keys.json by default. */
export function defaultKeysPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(defaultPaths(env).configDir, "sync-keys.json");
}

const key = z
  .string()
  .regex(/^[A-Za-z0-9+/]{43}=$/, "expected a 32-byte key in base64")
  .transform((b64) => new Uint8Array(Buffer.from(b64, "base64")));

const KEY_NAMES = ["commandKey", "preferenceKey", "authKey", "deviceKey"] as const;

const fileSchema = z.object({
  version: z.literal(1),
  accountId: z.string().min(1),
  keys: z.object({ commandKey: key, preferenceKey: key, authKey: key, deviceKey: key }),
  createdAt: z.number().int().nonnegative(),
});

export class KeysFile {
  constructor(readonly path: string) {}

  /** null when absent; throws KeysFileError when group/other-accessible (like ssh), unreadable or malformed. */
  load(): StoredKeys | null {
    const read = readPrivateFile(this.path);
    if (read.kind === "absent") return null;
    if (read.kind === "exposed")
      throw new KeysFileError("insecure_permissions", `keys file ${this.path} ${read.problem}`, read.hint);
    if (read.kind === "unreadable") throw this.unreadable(read.error);
    const text = read.text;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw this.malformed("not JSON");
    }
    const parsed = fileSchema.safeParse(json);
    if (!parsed.success) {
      // Paths only: an issue message about a key field must not echo the key.
      throw this.malformed(
        `unexpected ${parsed.error.issues.map((i) => i.path.join(".") || "content").join(", ")}`,
      );
    }
    return parsed.data;
  }

  /** Atomic (temp file 0600 + fsync + rename), mode 0600, parent dir created 0700 if missing. */
  save(stored: StoredKeys): void {
    const keys = Object.fromEntries(
      KEY_NAMES.map((name) => {
        const bytes = stored.keys[name];
        if (bytes.length !== KEY_BYTES) throw new RangeError(`${name} must be ${KEY_BYTES} bytes`);
        return [name, Buffer.from(bytes).toString("base64")];
      }),
    );
    const doc = { version: stored.version, accountId: stored.accountId, keys, createdAt: stored.createdAt };
    writePrivateFile(this.path, `${JSON.stringify(doc, null, 2)}\n`);
  }

  /** Deletes the file; no error when absent. */
  remove(): void {
    removePrivateFile(this.path);
  }

  private unreadable(cause: unknown): KeysFileError {
    const detail = (cause as NodeJS.ErrnoException).code ?? "error";
    return new KeysFileError(
      "unreadable",
      `keys file ${this.path} cannot be read (${detail})`,
      `check the permissions of ${this.path}`,
    );
  }

  private malformed(detail: string): KeysFileError {
    return new KeysFileError(
      "malformed",
      `keys file ${this.path} is malformed: ${detail}`,
      "move it away and run `caro-sync join` with your recovery phrase to derive the keys again",
    );
  }
}
