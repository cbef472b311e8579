// What goes inside a blob: a command entry as UTF-8 JSON, a preference value as a UTF-8 string.
// Blobs travel base64 (standard alphabet, padded) in the `encrypted` field of the protocol.
import { z } from "zod";
import { BlobError, openBlob, sealBlob } from "./blob.js";
import type { SyncKeys } from "./keys.js";

export interface CommandPlaintext {
  prompt: string;
  command: string;
  explanation?: string;
  tags?: string[];
}

// Readers are lenient where another writer may reasonably differ: unknown keys are dropped (a newer
// writer may add fields) and null stands for absent (serde's default for an Option).
const commandSchema = z.object({
  prompt: z.string(),
  command: z.string(),
  explanation: z.string().nullish(),
  tags: z.array(z.string()).nullish(),
});

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * base64 of sealBlob(commandKey, UTF-8 JSON of `p`). The JSON is compact, keys in the order prompt,
 * command, explanation, tags, absent optional fields omitted. Throws TypeError for a value that is not
 * a CommandPlaintext (so nothing is ever written that decryptCommand would refuse).
 */
export function encryptCommand(
  keys: Pick<SyncKeys, "commandKey">,
  p: CommandPlaintext,
  nonce?: Uint8Array,
): string {
  const parsed = commandSchema.safeParse(p);
  if (!parsed.success) throw new TypeError(`not a command plaintext: ${describeIssues(parsed.error)}`);
  const json = JSON.stringify(canonical(parsed.data));
  return toBase64(sealBlob(keys.commandKey, Buffer.from(json, "utf8"), nonce));
}

/** Throws BlobError; reason "malformed" when it decrypts but is not a valid CommandPlaintext. */
export function decryptCommand(keys: Pick<SyncKeys, "commandKey">, b64: string): CommandPlaintext {
  const text = decodeText(openBlob(keys.commandKey, fromBase64(b64)));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BlobError("malformed", "decrypted command is not JSON");
  }
  const parsed = commandSchema.safeParse(value);
  if (!parsed.success)
    throw new BlobError("malformed", `decrypted command is not valid: ${describeIssues(parsed.error)}`);
  return canonical(parsed.data);
}

/** base64 of sealBlob(preferenceKey, UTF-8 bytes of `value`). */
export function encryptPreference(
  keys: Pick<SyncKeys, "preferenceKey">,
  value: string,
  nonce?: Uint8Array,
): string {
  return toBase64(sealBlob(keys.preferenceKey, Buffer.from(value, "utf8"), nonce));
}

/** Throws BlobError; reason "malformed" when the plaintext is not valid UTF-8. */
export function decryptPreference(keys: Pick<SyncKeys, "preferenceKey">, b64: string): string {
  return decodeText(openBlob(keys.preferenceKey, fromBase64(b64)));
}

function canonical(c: z.infer<typeof commandSchema>): CommandPlaintext {
  const out: CommandPlaintext = { prompt: c.prompt, command: c.command };
  if (c.explanation != null) out.explanation = c.explanation;
  if (c.tags != null) out.tags = c.tags;
  return out;
}

// zod's default messages name the path and the expected type, never the (secret) input value.
function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("base64");
}

// Buffer.from(…, "base64") skips characters it does not know; a blob must be exact or refused.
function fromBase64(b64: string): Uint8Array {
  if (!STRICT_BASE64.test(b64)) throw new BlobError("malformed", "encrypted blob is not valid base64");
  return new Uint8Array(Buffer.from(b64, "base64"));
}

function decodeText(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new BlobError("malformed", "decrypted plaintext is not valid UTF-8");
  }
}
