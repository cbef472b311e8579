// The sync state machine (docs/protocol.md, seed diagram). The table is the whole truth: any transition not
// listed is a bug and throws.
import type { SyncState } from "../protocol.js";

export const TRANSITIONS: Readonly<Record<SyncState, readonly SyncState[]>> = {
  UNINITIALIZED: ["INITIALIZING"],
  // init or start-up failing before an identity is usable goes back to UNINITIALIZED.
  INITIALIZING: ["ONLINE", "OFFLINE", "UNINITIALIZED"],
  ONLINE: ["OFFLINE", "UNINITIALIZED"],
  OFFLINE: ["ONLINE", "UNINITIALIZED"],
};

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: SyncState,
    readonly to: SyncState,
  ) {
    super(`illegal sync state transition ${from} → ${to}`);
    this.name = "IllegalTransitionError";
  }
}

export class StateMachine {
  private current: SyncState = "UNINITIALIZED";

  constructor(private readonly onChange: (from: SyncState, to: SyncState) => void) {}

  get state(): SyncState {
    return this.current;
  }

  /** Moves to `to`; a no-op when already there; throws IllegalTransitionError when not allowed. */
  transition(to: SyncState): void {
    const from = this.current;
    if (from === to) return;
    if (!TRANSITIONS[from].includes(to)) throw new IllegalTransitionError(from, to);
    this.current = to;
    this.onChange(from, to);
  }
}
