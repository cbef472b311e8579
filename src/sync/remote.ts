// The narrow interface through which sync/ reaches the remote side (Jazz and its relay).
// jazz/JazzSyncService implements it; sync/ never imports jazz-tools, cojson or ws.
//
// Records crossing this boundary are the daemon's own records (RemoteRecord), already validated;
// the remote maps them to and from the CaroSyncRoot CoValues.
import type { StorageFault } from "./storageFault.js";

/** One record as stored in CaroSyncRoot. `encrypted` is the client's base64 blob, never decrypted. */
export type RemoteRecord =
  | {
      type: "command";
      id: string;
      deviceId: string;
      encryptedPayload: string;
      safetyLevel: string;
      executed: boolean;
      success?: boolean;
      createdAt: number;
      executedAt?: number;
      deletedAt?: number;
    }
  | { type: "preference"; key: string; deviceId: string; encrypted: string; updatedAt: number }
  | {
      type: "device";
      deviceId: string;
      name: string;
      platform: string;
      schemaVersion: number;
      firstSeen: number;
      lastSeen: number;
      isActive: boolean;
    };

/**
 * Why a connection attempt failed, classified for the retry policy (docs/architecture.md). `message` is the
 * internal detail, for the log only: what clients see is derived from the kind and the structured
 * fields by sync/failures.ts, never from `message`.
 */
export type ConnectFailure =
  /** `afterMs`: the bound that ran out, when the Remote knows it. */
  | { kind: "timeout"; message: string; afterMs?: number }
  /** `errno`: the system error code (ECONNREFUSED, ENOTFOUND, ...), when there is one. */
  | { kind: "network"; message: string; errno?: string }
  | { kind: "rateLimited"; message: string; retryAfterMs: number | null }
  | { kind: "auth"; message: string; status: number }
  /** The relay does not know the account (a join before the first device uploaded it). */
  | { kind: "accountNotFound"; message: string }
  /**
   * Neither this device nor the relay holds enough of the account to open it (a device joined
   * while the relay held only part of it): it opens once a device that holds the rest uploads it.
   */
  | { kind: "accountIncomplete"; message: string }
  | { kind: "server"; message: string; status: number }
  | { kind: "invalidData"; message: string };

export class RemoteConnectError extends Error {
  constructor(readonly failure: ConnectFailure) {
    super(failure.message);
    this.name = "RemoteConnectError";
  }
}

export interface RemoteIdentity {
  /** Jazz account ID derived from the authKey (deterministic). */
  accountId: string;
  /** Jazz agent secret derived from the authKey. Secret: never logged. */
  agentSecret: string;
}

export interface Remote {
  /**
   * Resolves once deriveIdentity can be called. A Remote that loads its implementation on first
   * use (jazz/lazyRemote.ts) loads it here; sync.init awaits this before anything else.
   */
  ready?(): Promise<void>;

  /** Derives the Jazz identity from the 32-byte authKey. Pure, no network. */
  deriveIdentity(authKey: Uint8Array): RemoteIdentity;

  /**
   * Opens the account with Jazz local storage (so it works offline at once). `mode: "create"` may
   * create the account and its CaroSyncRoot, but only when the relay answers that the account is
   * unknown or when nothing exists anywhere reachable and the caller asked for a new identity; an
   * existing root is never replaced. Resolves once local data is loaded.
   */
  open(opts: { identity: RemoteIdentity; mode: "create" | "join" }): Promise<RemoteSession>;

  /**
   * Deletes everything open() keeps on this device (sync.reset: "forget this device's data").
   * Called only when no session is open. The account's data on the relay is untouched.
   */
  forgetLocalData(): Promise<void>;

  /**
   * Whether the local storage open() uses can be written now: null when it can (or there is
   * none), else the fault of its last failed write, kept until a write succeeds. A Remote whose
   * local writes fail keeps working from memory and the relay; daemon.health reports it.
   */
  storageFault?(): StorageFault | null;
}

/** The CoValues of an account, by role: the account, its profile, the root and each part of it. */
export type PartName =
  | "account"
  | "profile"
  | "root"
  | "commandHistory"
  | "preferences"
  | "preferenceEntries"
  | "devices"
  | "deviceRecord"
  | "group";

/** A part one side lacks: not at all (`absent`), or without some changes the other side has. */
export interface MissingPart {
  part: PartName;
  state: "absent" | "partial";
}

type CommandRecord = Extract<RemoteRecord, { type: "command" }>;

/**
 * The parts of the account missing in the remote's local storage and on the relay
 * (RemoteSession.holdings). The history's feeds are parts (`commandHistory`): a relay side with
 * nothing missing holds every transaction, so every command, this device holds.
 */
export interface RemoteHoldings {
  local: { missing: MissingPart[] };
  /** Null when not connected. A part missing here is listed on the relay side too. */
  relay: { missing: MissingPart[] } | null;
}

/** What the remote's local storage and the relay hold of the account (RemoteSession.inventory). */
export interface RemoteInventory {
  /** Parts this device knows of but does not hold, and every command it holds (merged by id). */
  local: { missing: MissingPart[]; commands: CommandRecord[] };
  /**
   * What the relay holds, as it answered on the current connection; null when not connected. A
   * part missing here was not found on the relay either, so it is listed on both sides. When the
   * relay holds every command this device holds, `commands` may be `local.commands` itself (the
   * same array: a reader can tell the two apart by identity and compare nothing).
   */
  relay: { missing: MissingPart[]; commands: CommandRecord[] } | null;
}

export interface RemoteSession {
  readonly accountId: string;
  /** The CaroSyncRoot CoValue ID, or null until the root is known (offline first init). */
  syncRootId(): string | null;

  /**
   * Makes one connection attempt to the relay. Resolves when connected; rejects with
   * RemoteConnectError classifying the failure. The retry policy in sync/ decides when to call it.
   * Every connection starts from what the relay says it holds now, never from what an earlier
   * connection said, and sends it whatever it lacks.
   */
  connect(signal?: AbortSignal): Promise<void>;
  /** Drops the relay connection (pause, shutdown); local writes keep working. */
  disconnect(): void;
  /** Called when an established connection drops (not after disconnect()). */
  onDisconnected(listener: (failure: ConnectFailure) => void): () => void;
  /** Last measured relay round trip in ms, or null when not connected. */
  latencyMs(): number | null;

  /**
   * Writes records into the root (batched into few Jazz transactions). Resolves once Jazz holds
   * them in its local storage; upload happens in the background while connected.
   */
  write(records: RemoteRecord[]): Promise<void>;
  /**
   * Resolves when the relay holds everything this session holds, as the relay said on the current
   * connection: everything written so far, and the account and every part of it (a relay that came
   * back without its data gets all of it again on every connect). Rejects after `timeoutMs` (the
   * records stay pending and are uploaded later).
   */
  waitForUpload(timeoutMs: number): Promise<void>;

  /**
   * What is held where. Asks the relay afresh (when connected) what it holds, rather than trusting
   * earlier answers, sends it whatever it lacks of what this device holds, and tries again to load
   * what this device lacks; then waits up to `timeoutMs` for the relay to hold it all and reports.
   * Rejects only when the session is closed.
   */
  inventory(opts: { timeoutMs: number }): Promise<RemoteInventory>;
  /**
   * The inventory without the commands: asks the relay afresh, sends it what it lacks, loads again
   * what this device lacks, waits as long, and reports the parts missing in each place. It reads
   * no command, so it costs little at any size (the completeness check after a reconnect).
   */
  holdings(opts: { timeoutMs: number }): Promise<RemoteHoldings>;

  /**
   * Delivers records that are new or changed in the root (from any device, including records
   * this process wrote in an earlier session), in batches. The first call replays everything
   * already in the root. Returns an unsubscribe function.
   */
  onRecords(listener: (records: RemoteRecord[]) => void): () => void;
  /**
   * Resolves once what the session holds now has been handed to the onRecords listeners (a first
   * replay read from storage may take a while). Optional: a Remote that delivers synchronously
   * needs none.
   */
  untilDelivered?(): Promise<void>;

  /** Closes the session (what was written stays in local storage, to upload later); after it, no listener fires. */
  close(): Promise<void>;
}
