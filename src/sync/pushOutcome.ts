// The result of one sync.push, built up entry by entry: `synced` + `failed` cover every entry.
import { ErrorCode, type PushResult } from "../protocol.js";
import type { EntryKey } from "./localCache.js";
import { keyString } from "./records.js";

export class PushOutcome {
  private readonly failed: string[] = [];
  private readonly errors: PushResult["errors"] = [];
  private accepted: { label: string; key: EntryKey }[] = [];

  fail(id: string, code: number, message: string): void {
    this.failed.push(id);
    this.errors.push({ id, code, message });
  }

  accept(entries: readonly { label: string; key: EntryKey }[]): void {
    this.accepted.push(...entries);
  }

  /** Accepted entries the relay has not confirmed in time fail with -32003 (they stay queued). */
  unconfirmed(keys: readonly EntryKey[], message: string): void {
    const waiting = new Set(keys.map(keyString));
    const stillAccepted = [];
    for (const a of this.accepted) {
      if (waiting.has(keyString(a.key))) this.fail(a.label, ErrorCode.NetworkUnreachable, message);
      else stillAccepted.push(a);
    }
    this.accepted = stillAccepted;
  }

  result(): PushResult {
    return { synced: this.accepted.length, failed: this.failed, errors: this.errors };
  }
}
