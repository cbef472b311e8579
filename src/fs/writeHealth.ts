// The write health of one local store (the cache file, Jazz's storage file): the truth comes from
// real write outcomes. A write that fails with a storage fault (sync/storageFault.ts) is remembered
// until a later write succeeds, so daemon.health stays false between a failed push and the next
// write that works, and recovery needs no restart.
//
// A tiny probe write alone would lie on a full disk: SQLite reuses the pages of its WAL and free
// pages of the file, so a few bytes still commit when a real push cannot. The probe therefore also
// asks the file system how much room is left, and below FREE_SPACE_FLOOR counts the disk as full.
import { accessSync, constants, realpathSync, statfsSync } from "node:fs";
import { dirname } from "node:path";
import {
  StorageFaultError,
  storageFaultReason,
  type StorageFault,
  type StorageFaultReason,
  type StorageName,
} from "../sync/storageFault.js";

/** Free bytes below which a file system counts as full: room for a few large pushes and their WAL. */
export const FREE_SPACE_FLOOR = 256 * 1024;

export interface WriteHealthOptions {
  store: StorageName;
  /** The store's file: the file system looked at is the one holding it (a symlink is followed). */
  file: string;
  now?: () => number;
  /** True while a write runs inside an open transaction: its outcome is the transaction's. */
  nested?: () => boolean;
  /** Called when the fault changes (a new one, or null when writable again); for the log. */
  onChange?: (fault: StorageFault | null, cause?: unknown) => void;
}

export class WriteHealth {
  private current: StorageFault | null = null;
  private everFaulted = false;
  private probeWrite: (() => void) | null = null;
  private readonly now: () => number;

  constructor(private readonly opts: WriteHealthOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The remembered fault: the last write failed with it and none has succeeded since. */
  get fault(): StorageFault | null {
    return this.current;
  }

  /** Whether any fault was remembered since this WriteHealth was made, even one cleared since. */
  get hasFaulted(): boolean {
    return this.everFaulted;
  }

  /**
   * Runs a write. Success clears the remembered fault; a storage fault is remembered and thrown as
   * a StorageFaultError (the original as its cause); any other error is thrown as it is.
   */
  guard<T>(write: () => T): T {
    if (this.opts.nested?.()) return write();
    let result: T;
    try {
      result = write();
    } catch (err) {
      throw this.failed(err);
    }
    this.succeeded();
    return result;
  }

  /** Records the outcome of a failed write; returns what to throw (a StorageFaultError or `err`). */
  failed(err: unknown): unknown {
    const reason = storageFaultReason(err);
    if (reason === null) return err;
    const fault = this.remember(this.refine(reason), err);
    return err instanceof StorageFaultError ? err : new StorageFaultError(fault, { cause: err });
  }

  succeeded(): void {
    if (this.current === null) return;
    this.current = null;
    this.opts.onChange?.(null);
  }

  /** Sets the write probe() makes when none is passed (the owner of the open connection); returns its removal. */
  attachProbe(write: () => void): () => void {
    this.probeWrite = write;
    return () => {
      if (this.probeWrite === write) this.probeWrite = null;
    };
  }

  /**
   * The store's health now: a file system with less than FREE_SPACE_FLOOR free is full; otherwise
   * `write` (a small real write; default: the attached one) runs, and its outcome decides. Returns
   * the fault, or null.
   */
  probe(write: (() => void) | null = this.probeWrite): StorageFault | null {
    const free = freeBytes(this.dir());
    if (free !== null && free < FREE_SPACE_FLOOR) return this.remember("disk_full");
    if (write) {
      try {
        this.guard(write);
      } catch (err) {
        // guard remembered a storage fault; any other failure of a write this small (a busy or
        // damaged file) still means the store cannot be written now. The probe reports, never throws.
        if (!(err instanceof StorageFaultError)) this.remember("io_error", err);
      }
    }
    return this.current;
  }

  /** SQLite reports an EROFS or ENOSPC of the OS as a generic I/O error: the file system says which. */
  private refine(reason: StorageFaultReason): StorageFaultReason {
    if (reason !== "io_error") return reason;
    const dir = this.dir();
    try {
      accessSync(dir, constants.W_OK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EROFS") return "read_only";
    }
    const free = freeBytes(dir);
    return free !== null && free < FREE_SPACE_FLOOR ? "disk_full" : reason;
  }

  /** The directory the store's file really lives in (its WAL and journal go beside it). */
  private dir(): string {
    try {
      return dirname(realpathSync(this.opts.file));
    } catch {
      return dirname(this.opts.file);
    }
  }

  private remember(reason: StorageFaultReason, cause?: unknown): StorageFault {
    if (this.current?.reason === reason) return this.current;
    this.current = { store: this.opts.store, reason, at: this.now() };
    this.everFaulted = true;
    this.opts.onChange?.(this.current, cause);
    return this.current;
  }
}

/** Bytes an unprivileged writer may still use on the file system of `dir`; null when unknown. */
export function freeBytes(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}
