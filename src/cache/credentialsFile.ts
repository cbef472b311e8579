// The credentials file (docs/architecture.md): JSON, mode 0600 in a 0700 directory, replaced atomically.
import { readPrivateFile, removePrivateFile, writePrivateFile } from "../fs/privateFile.js";
import { CredentialsError, type CredentialStore, type Credentials } from "../sync/credentials.js";

export class CredentialsFile implements CredentialStore {
  constructor(readonly path: string) {}

  load(): Credentials | null {
    const read = readPrivateFile(this.path);
    if (read.kind === "absent") return null;
    if (read.kind === "exposed")
      throw new CredentialsError(
        "insecure_permissions",
        `credentials file ${this.path} ${read.problem}`,
        read.hint,
      );
    if (read.kind === "unreadable") throw this.unreadable(read.error);
    let parsed: unknown;
    try {
      parsed = JSON.parse(read.text);
    } catch (err) {
      throw this.unreadable(err);
    }
    if (!isCredentials(parsed)) throw this.unreadable(new Error("unexpected content"));
    return parsed;
  }

  save(credentials: Credentials): void {
    writePrivateFile(this.path, `${JSON.stringify(credentials, null, 2)}\n`);
  }

  remove(): void {
    removePrivateFile(this.path);
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
