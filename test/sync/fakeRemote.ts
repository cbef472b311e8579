// An in-memory Remote for testing SyncManager's use of the Remote interface (write, confirm after
// waitForUpload, merge onRecords) and for injecting faults. It is not Jazz and stands in for it only
// in these unit tests; the product never uses it.
import { createHash } from "node:crypto";
import type {
  ConnectFailure,
  MissingPart,
  Remote,
  RemoteIdentity,
  RemoteHoldings,
  RemoteInventory,
  RemoteRecord,
  RemoteSession,
} from "../../src/sync/remote.js";
import { RemoteConnectError } from "../../src/sync/remote.js";
import { keyString, recordKey, remoteRecordSchema } from "../../src/sync/records.js";

/** What the relay holds: records by key, as last uploaded; and the sessions it serves. */
export class FakeRelay {
  readonly records = new Map<string, RemoteRecord>();
  /** Accounts the relay holds (a device that holds one uploads it when it connects). */
  readonly accounts = new Set<string>();
  reachable = true;
  /** Sessions of every device on this relay, so an upload reaches the others live. */
  readonly sessions = new Set<FakeSession>();

  /** Test control: the relay goes away; every established connection drops. */
  goDown(): void {
    this.reachable = false;
    for (const session of this.sessions) if (session.connected) session.drop();
  }

  /** Test control: the relay restarts without its data (in memory, or its database lost). */
  restartEmpty(): void {
    this.goDown();
    this.records.clear();
    this.accounts.clear();
    this.reachable = true;
  }
}

export class FakeRemote implements Remote {
  readonly sessions: FakeSession[] = [];
  constructor(readonly relay = new FakeRelay()) {}

  deriveIdentity(authKey: Uint8Array): RemoteIdentity {
    const hex = createHash("sha256").update(authKey).digest("hex");
    return { accountId: `co_z${hex.slice(0, 24)}`, agentSecret: `secret_${hex.slice(24)}` };
  }

  /** While set, open() waits for it (an open in flight: Jazz's storage, the relay's probe). */
  openGate: Promise<void> | null = null;
  /** How many times open() was called. */
  opens = 0;

  async open(opts: { identity: RemoteIdentity; mode: "create" | "join" }): Promise<RemoteSession> {
    this.opens += 1;
    if (this.openGate) await this.openGate;
    const session = new FakeSession(this.relay, opts.identity.accountId);
    this.sessions.push(session);
    return session;
  }

  /** How many times sync.reset asked to forget local data. */
  forgotten = 0;

  forgetLocalData(): Promise<void> {
    this.forgotten += 1;
    return Promise.resolve();
  }

  get session(): FakeSession {
    const s = this.sessions[this.sessions.length - 1];
    if (!s) throw new Error("no session opened");
    return s;
  }
}

export class FakeSession implements RemoteSession {
  connected = false;
  closed = false;
  /** While true, waitForUpload rejects (an upload that does not get through). */
  holdUploads = false;
  /** While set, waitForUpload waits for it before confirming (an upload in flight). */
  uploadGate: Promise<void> | null = null;
  /** Every batch passed to write(), in order. */
  readonly writes: RemoteRecord[][] = [];
  /** Test control: parts of the account this device lacks (and so cannot give the relay). */
  localMissing: MissingPart[] = [];
  /** What this device holds: written, or received from the relay. */
  private readonly held = new Map<string, RemoteRecord>();
  private unuploaded: RemoteRecord[] = [];
  private readonly recordListeners = new Set<(records: RemoteRecord[]) => void>();
  private readonly dropListeners = new Set<(failure: ConnectFailure) => void>();

  constructor(
    private readonly relay: FakeRelay,
    readonly accountId: string,
  ) {
    relay.sessions.add(this);
  }

  syncRootId(): string | null {
    return this.connected ? "co_zRoot" : null;
  }

  connect(): Promise<void> {
    if (!this.relay.reachable)
      return Promise.reject(new RemoteConnectError({ kind: "network", message: "ECONNREFUSED" }));
    this.connected = true;
    // As Jazz does on every connection: the relay gets what it lacks of what this device holds.
    this.restoreRelay();
    return Promise.resolve();
  }

  disconnect(): void {
    this.connected = false;
  }

  /** Test control: the established connection drops. */
  drop(failure: ConnectFailure = { kind: "network", message: "connection reset" }): void {
    this.connected = false;
    for (const l of this.dropListeners) l(failure);
  }

  onDisconnected(listener: (failure: ConnectFailure) => void): () => void {
    this.dropListeners.add(listener);
    return () => this.dropListeners.delete(listener);
  }

  latencyMs(): number | null {
    return this.connected ? 3 : null;
  }

  write(records: RemoteRecord[]): Promise<void> {
    this.writes.push(records);
    this.unuploaded.push(...records);
    for (const r of records) this.held.set(keyString(recordKey(r)), r);
    return Promise.resolve();
  }

  async waitForUpload(_timeoutMs: number): Promise<void> {
    // What was written before the wait is what this wait confirms.
    const batch = this.unuploaded;
    this.unuploaded = [];
    if (this.uploadGate) await this.uploadGate;
    if (!this.connected || this.holdUploads) {
      this.unuploaded.unshift(...batch);
      throw new Error("upload not confirmed in time");
    }
    for (const r of batch) this.relay.records.set(keyString(recordKey(r)), r);
    this.restoreRelay();
    // Other connected devices of the account get the upload live (the writer already has it).
    for (const other of this.relay.sessions) if (other !== this && other.connected) other.deliver(batch);
  }

  async inventory(opts: { timeoutMs: number }): Promise<RemoteInventory> {
    const held = await this.holdings(opts);
    const commands = (records: Iterable<RemoteRecord>) =>
      [...records].filter((r): r is Extract<RemoteRecord, { type: "command" }> => r.type === "command");
    const local = { missing: held.local.missing, commands: commands(this.held.values()) };
    if (!held.relay) return { local, relay: null };
    return { local, relay: { missing: held.relay.missing, commands: commands(this.relay.records.values()) } };
  }

  holdings(_opts: { timeoutMs: number }): Promise<RemoteHoldings> {
    if (this.closed) return Promise.reject(new Error("session is closed"));
    const local = { missing: [...this.localMissing] };
    if (!this.connected) return Promise.resolve({ local, relay: null });
    // As the Jazz session does: the relay is asked again and sent what it lacks.
    this.restoreRelay();
    const missing: MissingPart[] = [...this.localMissing];
    if (!this.relay.accounts.has(this.accountId)) missing.push({ part: "account", state: "absent" });
    const lacking = [...this.held].some(([key, r]) => r.type === "command" && !this.relay.records.has(key));
    if (lacking) missing.push({ part: "commandHistory", state: "partial" });
    return Promise.resolve({ local, relay: { missing } });
  }

  /** Gives the relay the account and whatever it lacks of what was uploaded from here (not held). */
  private restoreRelay(): void {
    if (this.holdUploads) return;
    this.relay.accounts.add(this.accountId);
    const pending = new Set(this.unuploaded.map((r) => keyString(recordKey(r))));
    for (const [key, r] of this.held)
      if (!pending.has(key) && !this.relay.records.has(key)) this.relay.records.set(key, r);
  }

  onRecords(listener: (records: RemoteRecord[]) => void): () => void {
    this.recordListeners.add(listener);
    const snapshot = [...this.relay.records.values()];
    for (const r of snapshot) this.held.set(keyString(recordKey(r)), r);
    if (snapshot.length > 0) queueMicrotask(() => listener(snapshot));
    return () => this.recordListeners.delete(listener);
  }

  /** Test control: Jazz's storage here holds records the cache was never given (no delivery). */
  holdQuietly(records: RemoteRecord[]): void {
    for (const r of records) this.held.set(keyString(recordKey(r)), r);
  }

  /** Test control: Jazz's storage here and the relay lose these records (a lost database, say). */
  lose(records: RemoteRecord[]): void {
    for (const r of records) {
      const key = keyString(recordKey(r));
      this.held.delete(key);
      this.relay.records.delete(key);
    }
  }

  /** Test control: records arrive from the relay (another device wrote them). */
  deliver(records: RemoteRecord[]): void {
    // Tests also deliver malformed records (what another client could write): not held as records.
    for (const r of records)
      if (remoteRecordSchema.safeParse(r).success) this.held.set(keyString(recordKey(r)), r);
    for (const l of this.recordListeners) l(records);
  }

  close(): Promise<void> {
    this.closed = true;
    this.connected = false;
    this.relay.sessions.delete(this);
    this.recordListeners.clear();
    this.dropListeners.clear();
    return Promise.resolve();
  }
}
