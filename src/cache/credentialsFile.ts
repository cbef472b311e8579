// The credentials file (SPEC §5): JSON, mode 0600 in a 0700 directory, replaced atomically.
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { CredentialsError, type CredentialStore, type Credentials } from "../sync/credentials.js";

export class CredentialsFile implements CredentialStore {
  constructor(readonly path: string) {}

  load(): Credentials | null {
    let mode: number;
    try {
      mode = statSync(this.path).mode;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw this.unreadable(err);
    }
    if (process.platform !== "win32" && (mode & 0o077) !== 0) {
      throw new CredentialsError(
        "insecure_permissions",
        `credentials file ${this.path} is accessible by group or others (mode ${(mode & 0o777).toString(8)})`,
        `run: chmod 600 ${this.path}`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.path, "utf8"));
    } catch (err) {
      throw this.unreadable(err);
    }
    if (!isCredentials(parsed)) throw this.unreadable(new Error("unexpected content"));
    return parsed;
  }

  save(credentials: Credentials): void {
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.${basename(this.path)}.${randomBytes(6).toString("hex")}.tmp`);
    const fd = openSync(tmp, "wx", 0o600);
    try {
      writeSync(fd, `${JSON.stringify(credentials, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(tmp, this.path);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    syncDir(dir);
  }

  remove(): void {
    rmSync(this.path, { force: true });
    syncDir(dirname(this.path));
  }

  private unreadable(cause: unknown): CredentialsError {
    const detail = cause instanceof Error ? cause.message : String(cause);
    return new CredentialsError(
      "unreadable",
      `credentials file ${this.path} cannot be used: ${detail}`,
      `move it away and run \`caro-sync init\` or \`caro-sync join\` again`,
    );
  }
}

/** Makes a rename or unlink in `dir` durable (best effort: not every platform can fsync a directory). */
function syncDir(dir: string): void {
  if (process.platform === "win32") return;
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not fatal: the data itself was fsynced before the rename.
  }
}

function isCredentials(v: unknown): v is Credentials {
  if (typeof v !== "object" || v === null) return false;
  const c = v as Record<string, unknown>;
  return (
    c.version === 1 &&
    typeof c.accountId === "string" &&
    (typeof c.agentSecret === "string" || c.agentSecret === null) &&
    typeof c.deviceId === "string" &&
    typeof c.deviceName === "string" &&
    typeof c.platform === "string" &&
    typeof c.createdAt === "number" &&
    (typeof c.syncRootId === "string" || c.syncRootId === null) &&
    (c.mode === "create" || c.mode === "join")
  );
}
