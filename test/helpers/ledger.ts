// "Nothing lost, nothing duplicated", counted: the ledger holds every command a test tried to push
// and those a push acknowledged (returned as synced). After a scenario settles, `check` pulls each
// device's whole cache and counts acknowledged entries that are missing or carry another payload
// (lost), ids that come more than once (duplicated), and commands nobody pushed (unexpected).
import type { SyncClient } from "../../src/client/SyncClient.js";
import type { PushResult } from "../../src/protocol.js";
import { pullEverything } from "./daemon.js";

export interface PushedCommand {
  id: string;
  encrypted: string;
}

export interface DeliveryCheck {
  /** Acknowledged entries looked up on this device. */
  checked: number;
  lost: string[];
  duplicated: string[];
  unexpected: string[];
}

export class DeliveryLedger {
  /** id → payload of every command a push carried, acknowledged or not. */
  private readonly attempted = new Map<string, string>();
  private readonly acked = new Set<string>();

  /** Call before sending a push. An id pushed again must carry the same payload. */
  attempt(entries: readonly PushedCommand[]): void {
    for (const e of entries) {
      const before = this.attempted.get(e.id);
      if (before !== undefined && before !== e.encrypted) throw new Error(`ledger: ${e.id} changed payload`);
      this.attempted.set(e.id, e.encrypted);
    }
  }

  /** Records the entries of a push result's `synced` part (everything not in `failed`). */
  ack(entries: readonly PushedCommand[], result?: Pick<PushResult, "failed">): void {
    const failed = new Set(result?.failed ?? []);
    for (const e of entries) if (!failed.has(e.id)) this.acked.add(e.id);
  }

  /** Attempts and acknowledges in one go, for pushes known to have succeeded. */
  record(entries: readonly PushedCommand[]): void {
    this.attempt(entries);
    this.ack(entries);
  }

  get ackedCount(): number {
    return this.acked.size;
  }

  ackedIds(): string[] {
    return [...this.acked];
  }

  /** Every payload pushed, for the secret scan of the logs. */
  payloads(): IterableIterator<string> {
    return this.attempted.values();
  }

  /** True once `client` holds every acknowledged command (for waitFor). */
  async holdsAll(client: SyncClient): Promise<boolean> {
    const { entries } = await pullEverything(client, { types: ["command"] });
    const ids = new Set(entries.map((e) => e.id));
    for (const id of this.acked) if (!ids.has(id)) return false;
    return true;
  }

  /** Pulls the device's whole cache and compares it with the ledger. */
  async check(client: SyncClient): Promise<DeliveryCheck> {
    const { entries } = await pullEverything(client, { types: ["command"] });
    const seen = new Map<string, number>();
    const payload = new Map<string, string>();
    for (const e of entries) {
      seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
      payload.set(e.id, e.encrypted);
    }
    const lost = [...this.acked].filter((id) => payload.get(id) !== this.attempted.get(id));
    const duplicated = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
    const unexpected = [...seen.keys()].filter((id) => !this.attempted.has(id));
    return { checked: this.acked.size, lost, duplicated, unexpected };
  }
}
