// Tells a client that hung up from one that only half-closed. On a Unix socket both read as
// end-of-input (socat and `nc -q` half-close and wait for answers; a CLI that exits closes). They
// differ on writing: a zero-length write fails with EPIPE only when the peer is gone, which makes
// the socket emit 'error' and 'close' (and the connection abort its requests' signal).
import type { Socket } from "node:net";

/** How often a connection whose input ended checks that its client is still there. */
export const HANGUP_PROBE_MS = 1000;

export class HangupProbe {
  private timer: NodeJS.Timeout | null = null;

  /** `busy`: requests are running (nobody needs to know about a gone client otherwise). */
  constructor(
    private readonly socket: Socket,
    private readonly busy: () => boolean,
  ) {}

  /** Input ended: probe now, and every HANGUP_PROBE_MS while busy. */
  start(): void {
    if (this.timer !== null || !this.busy()) return;
    if (this.socket.writable) this.socket.write("");
    // The probe must not hold the process: the server's own handles do.
    this.timer = setTimeout(() => {
      this.timer = null;
      this.start();
    }, HANGUP_PROBE_MS).unref();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
