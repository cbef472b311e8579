// The stored sync identity, and the store that keeps it (cache/credentialsFile.ts writes it as a
// 0600 JSON file). Holding a secret: never log a Credentials value.

export interface Credentials {
  version: 1;
  /** Jazz account ID, or "local:…" for an identity derived without a Remote (see identity.ts). */
  accountId: string;
  /** Jazz agent secret; null when no Remote derived one. Secret. */
  agentSecret: string | null;
  /** Created once per identity (UUID), kept until reset. */
  deviceId: string;
  deviceName: string;
  platform: string;
  createdAt: number;
  /** The CaroSyncRoot CoValue ID, null until known. */
  syncRootId: string | null;
  /** "create": first device (sync.init without accountId); "join": accountId was given. */
  mode: "create" | "join";
}

export interface CredentialStore {
  readonly path: string;
  /**
   * The stored identity, or null when there is none. Throws CredentialsError when the file exists
   * but must not be used (readable by group/others, unreadable, malformed).
   */
  load(): Credentials | null;
  /** Replaces the stored identity atomically (temp file + fsync + rename); the file is 0600. */
  save(credentials: Credentials): void;
  /** Deletes the stored identity; no error when there is none. */
  remove(): void;
}

/**
 * The credentials file exists but is not safe or not readable. The daemon refuses to start with it
 * (like ssh with an unprotected key): silently ignoring it would invite a second identity.
 */
export class CredentialsError extends Error {
  constructor(
    readonly reason: "insecure_permissions" | "unreadable",
    message: string,
    readonly hint: string,
  ) {
    super(`${message} (${hint})`);
    this.name = "CredentialsError";
  }
}
