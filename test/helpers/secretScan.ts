// Searches logs for secrets: authKeys (in base64, base64url and hex), agent secrets and payload
// blobs. A secret counts as leaked when its first WINDOW characters appear anywhere in a log, so a
// truncated or re-encoded copy of its start is caught too. Thousands of payloads are searched in
// one pass: every WINDOW-character slice of every token in the logs is looked up in a map.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const WINDOW = 20;
/** Runs of characters that base64, base64url, hex and cojson's secrets are made of. */
const TOKEN = /[A-Za-z0-9+/=_-]{20,}/g;

export interface LogText {
  name: string;
  text: string;
}

export interface ScanResult {
  logs: number;
  bytes: number;
  secrets: number;
  /** "<secret label> in <log name>", one per leak found. */
  leaks: string[];
}

export class SecretScan {
  /** First WINDOW characters → the label of the secret. */
  private readonly prefixes = new Map<string, string>();
  /** Secrets that are not one token (a phrase, a plaintext): searched for whole. */
  private readonly texts = new Map<string, string>();

  get size(): number {
    return this.prefixes.size + this.texts.size;
  }

  /** A secret searched for as it is (words with spaces, short plaintexts). */
  addText(label: string, value: string): void {
    this.texts.set(value, label);
  }

  add(label: string, value: string): void {
    if (value.length < WINDOW) throw new Error(`secret ${label} is too short to search for`);
    this.prefixes.set(value.slice(0, WINDOW), label);
  }

  /** A 32-byte authKey as base64, the way clients send it, plus its other common spellings. */
  addAuthKey(authKey: string): void {
    const bytes = Buffer.from(authKey, "base64");
    this.add("authKey", authKey);
    this.add("authKey (base64url)", bytes.toString("base64url"));
    this.add("authKey (hex)", bytes.toString("hex"));
  }

  /** cojson agent secrets look like `sealerSecret_z<base58>/signerSecret_z<base58>`. */
  addAgentSecret(secret: string): void {
    for (const part of secret.split("/")) {
      const random = part.replace(/^[a-zA-Z]+_z/, "");
      if (random.length >= WINDOW) this.add("agentSecret", random);
    }
  }

  /** The agentSecret in a daemon's credentials file, when there is one. */
  addCredentials(home: string): void {
    let text: string;
    try {
      text = readFileSync(join(home, ".config", "cmdai", "sync-credentials.json"), "utf8");
    } catch {
      return;
    }
    const { agentSecret } = JSON.parse(text) as { agentSecret?: string | null };
    if (agentSecret) this.addAgentSecret(agentSecret);
  }

  addPayloads(payloads: Iterable<string>): void {
    for (const p of payloads) this.add("payload", p);
  }

  scan(logs: readonly LogText[]): ScanResult {
    const leaks: string[] = [];
    let bytes = 0;
    for (const log of logs) {
      bytes += log.text.length;
      const found = new Set<string>();
      for (const [token] of log.text.matchAll(TOKEN)) {
        for (let i = 0; i + WINDOW <= token.length; i++) {
          const label = this.prefixes.get(token.slice(i, i + WINDOW));
          if (label !== undefined) found.add(label);
        }
      }
      for (const [value, label] of this.texts) if (log.text.includes(value)) found.add(label);
      for (const label of found) leaks.push(`${label} in ${log.name}`);
    }
    return { logs: logs.length, bytes, secrets: this.size, leaks };
  }
}
