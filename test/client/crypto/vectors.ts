// Loads vectors.json from the source tree (tsc does not copy JSON into dist/).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { CommandPlaintext } from "../../../src/client/crypto/index.js";

export interface Vectors {
  phrase: string;
  entropyHex: string;
  saltHex: string;
  argon2id: {
    memoryKiB: number;
    iterations: number;
    parallelism: number;
    hashLength: number;
    version: number;
  };
  masterKeyHex: string;
  keys: Record<"commandKey" | "preferenceKey" | "authKey" | "deviceKey", { info: string; hex: string }>;
  authKeyBase64: string;
  command: {
    plaintext: CommandPlaintext;
    plaintextJson: string;
    nonceHex: string;
    blobHex: string;
    blobBase64: string;
  };
  shortPhrase: { phrase: string; saltHex: string; masterKeyHex: string };
  preference: { plaintext: string; nonceHex: string; blobHex: string; blobBase64: string };
}

// From dist/test/client/crypto/ (where this runs) back to the committed file in test/client/crypto/.
const VECTORS_PATH = fileURLToPath(new URL("../../../../test/client/crypto/vectors.json", import.meta.url));

export const vectors = JSON.parse(readFileSync(VECTORS_PATH, "utf8")) as Vectors;

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
