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

/** The identity this daemon runs with: read from the store once, changed only through here. */
export class CurrentIdentity {
  private creds: Credentials | null = null;

  constructor(private readonly store: CredentialStore) {}

  get(): Credentials | null {
    return this.creds;
  }

  /** Reads the stored identity (start-up). Throws CredentialsError like the store. */
  load(): Credentials | null {
    this.creds = this.store.load();
    return this.creds;
  }

  save(creds: Credentials): void {
    this.store.save(creds);
    this.creds = creds;
  }

  /** Changes fields of the current identity and stores it, if there is one and anything changes. */
  update(patch: Partial<Pick<Credentials, "syncRootId" | "deviceName" | "platform">>): void {
    const c = this.creds;
    if (!c) return;
    const next = { ...c, ...patch };
    if (next.syncRootId !== c.syncRootId || next.deviceName !== c.deviceName || next.platform !== c.platform)
      this.save(next);
  }

  /** Deletes the stored identity and forgets it. */
  forget(): void {
    this.creds = null;
    this.store.remove();
  }
}
