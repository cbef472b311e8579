// Records as the Remote interface carries them, for tests of any Remote (the fake, Jazz).
import { randomBytes, randomUUID } from "node:crypto";
import type { RemoteRecord } from "../../src/sync/remote.js";

export type CommandRecord = Extract<RemoteRecord, { type: "command" }>;

/** A base64 blob shaped like the client's (version byte 0x01, nonce, ciphertext, tag). */
export function blob(bytes = 64): string {
  const buf = randomBytes(bytes);
  buf[0] = 1;
  return buf.toString("base64");
}

export function command(over: Partial<CommandRecord> = {}): CommandRecord {
  return {
    type: "command",
    id: randomUUID(),
    deviceId: "device-a",
    encryptedPayload: blob(),
    safetyLevel: "safe",
    executed: false,
    createdAt: Date.now(),
    ...over,
  };
}
