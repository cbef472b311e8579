// Second implementations to check ours against, all outside this code base's dependencies:
// Debian's argon2 package (its command line tool, and its libargon2 through python3's ctypes, since
// the tool refuses passwords over 127 bytes), the openssl command for SHA-256, HKDF and the AES
// block cipher, and a GCM built here from those AES blocks and a GHASH written from NIST SP 800-38D.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import type { TestContext } from "node:test";

export interface Argon2Params {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
  hashLength: number;
}

/**
 * True when `tool` can be run. Otherwise the test is skipped with the reason, or, when CI is set,
 * fails: CI must not go green on a cross-check it never ran.
 */
export function requireTool(t: TestContext, tool: "argon2" | "libargon2" | "openssl"): boolean {
  const missing = toolMissing(tool);
  if (missing === null) return true;
  if (process.env.CI) assert.fail(`${missing} (CI is set, so a missing cross-check tool is a failure)`);
  t.skip(missing);
  return false;
}

/** Why `tool` cannot be run, or null when it can. */
export function toolMissing(tool: "argon2" | "libargon2" | "openssl"): string | null {
  switch (tool) {
    case "argon2":
      return onPath("argon2") ? null : "argon2 is not installed (apt-get install argon2)";
    case "openssl":
      if (!onPath("openssl")) return "openssl is not installed";
      // `openssl kdf` arrived in OpenSSL 3.0.
      return spawnSync("openssl", ["kdf", "-help"], { stdio: "ignore" }).status === 0
        ? null
        : "openssl is older than 3.0 (no `openssl kdf`)";
    case "libargon2": {
      if (!onPath("python3")) return "python3 is not installed (needed to call libargon2)";
      const r = spawnSync("python3", ["-c", LIBARGON2_PY, "probe"], { encoding: "utf8" });
      return r.status === 0 ? null : "libargon2 is not installed (apt-get install argon2)";
    }
  }
}

function onPath(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

function run(cmd: string, args: string[], input?: Uint8Array, env?: NodeJS.ProcessEnv): Buffer {
  const r = spawnSync(cmd, args, { input, env: { ...process.env, ...env }, maxBuffer: 1 << 20 });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `${cmd} failed: ${r.stderr.toString()}`);
  return r.stdout;
}

/**
 * Argon2id through Debian's `argon2` command. The password goes on stdin (at most 127 bytes: the
 * tool's limit), the binary salt as an argv string built by bash's printf from \xHH escapes; argv
 * cannot carry a NUL, and $(…) drops trailing newlines, so such salts are refused here.
 */
export function argon2Cli(password: string, salt: Uint8Array, p: Argon2Params): Uint8Array {
  assert.ok(Buffer.byteLength(password) <= 127, "the argon2 tool reads at most 127 bytes of password");
  assert.ok(!salt.includes(0x00) && salt[salt.length - 1] !== 0x0a, "this salt cannot travel in argv");
  const escaped = [...salt].map((b) => `\\x${b.toString(16).padStart(2, "0")}`).join("");
  const script = `printf %s "$PW" | argon2 "$(printf "$SALT")" -id -t ${p.iterations} -k ${p.memoryKiB} -p ${p.parallelism} -l ${p.hashLength} -r`;
  const out = run("bash", ["-c", script], undefined, { PW: password, SALT: escaped });
  return new Uint8Array(Buffer.from(out.toString("utf8").trim(), "hex"));
}

// argv: salt hex, t, m (KiB), p, length; password on stdin; prints the raw hash in hex.
const LIBARGON2_PY = `
import ctypes, ctypes.util, sys
try:
    lib = ctypes.CDLL(ctypes.util.find_library("argon2") or "libargon2.so.1")
except OSError:
    sys.exit(3)
if sys.argv[1] == "probe":
    sys.exit(0)
salt = bytes.fromhex(sys.argv[1])
t, m, p, n = (int(a) for a in sys.argv[2:6])
pwd = sys.stdin.buffer.read()
out = ctypes.create_string_buffer(n)
f = lib.argon2id_hash_raw
f.restype = ctypes.c_int
f.argtypes = [ctypes.c_uint32] * 3 + [ctypes.c_char_p, ctypes.c_size_t] * 2 + [ctypes.c_void_p, ctypes.c_size_t]
rc = f(t, m, p, pwd, len(pwd), salt, len(salt), out, n)
if rc != 0:
    sys.exit("argon2id_hash_raw returned %d" % rc)
print(out.raw.hex())
`;

/** Argon2id through libargon2 (the reference C implementation Debian's argon2 package ships). */
export function argon2Lib(password: string, salt: Uint8Array, p: Argon2Params): Uint8Array {
  const args = [Buffer.from(salt).toString("hex"), p.iterations, p.memoryKiB, p.parallelism, p.hashLength];
  const out = run("python3", ["-c", LIBARGON2_PY, ...args.map(String)], Buffer.from(password, "utf8"));
  return new Uint8Array(Buffer.from(out.toString("utf8").trim(), "hex"));
}

export function opensslSha256(data: string): Uint8Array {
  return new Uint8Array(run("openssl", ["dgst", "-sha256", "-binary"], Buffer.from(data, "utf8")));
}

/** `openssl kdf … HKDF` with no salt option, which RFC 5869 and OpenSSL treat as the empty salt. */
export function opensslHkdf(ikm: Uint8Array, info: string, length: number): Uint8Array {
  const out = run("openssl", [
    "kdf",
    "-keylen",
    String(length),
    "-kdfopt",
    "digest:SHA256",
    "-kdfopt",
    `hexkey:${Buffer.from(ikm).toString("hex")}`,
    "-kdfopt",
    `info:${info}`,
    "HKDF",
  ]);
  return new Uint8Array(Buffer.from(out.toString("utf8").trim().replaceAll(":", ""), "hex"));
}

function aesEcbBlock(key: Uint8Array, block: Uint8Array): Buffer {
  const k = Buffer.from(key).toString("hex");
  return run("openssl", ["enc", "-aes-256-ecb", "-K", k, "-nopad"], block);
}

// OpenSSL's CTR increments all 128 bits, GCM only the low 32: the same stream below 2^32 blocks.
function aesCtr(key: Uint8Array, counterBlock: Uint8Array, data: Uint8Array): Buffer {
  if (data.length === 0) return Buffer.alloc(0);
  const [k, iv] = [key, counterBlock].map((b) => Buffer.from(b).toString("hex")) as [string, string];
  return run("openssl", ["enc", "-aes-256-ctr", "-K", k, "-iv", iv], data);
}

/** Multiplication in GF(2^128) with GCM's bit order (SP 800-38D, Algorithm 1). */
function gfMul(x: bigint, y: bigint): bigint {
  const R = 0xe1n << 120n;
  let z = 0n;
  let v = y;
  for (let i = 127n; i >= 0n; i--) {
    if ((x >> i) & 1n) z ^= v;
    v = v & 1n ? (v >> 1n) ^ R : v >> 1n;
  }
  return z;
}

const toBig = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString("hex") || "0"}`);
const fromBig = (n: bigint): Buffer => Buffer.from(n.toString(16).padStart(32, "0"), "hex");

/** GHASH_H over the ciphertext, zero-padded, then the 128-bit length block (no AAD). */
function ghash(h: Uint8Array, ciphertext: Uint8Array): bigint {
  const padded = Buffer.alloc(Math.ceil(ciphertext.length / 16) * 16 + 16);
  padded.set(ciphertext);
  padded.writeBigUInt64BE(BigInt(ciphertext.length) * 8n, padded.length - 8);
  const hn = toBig(h);
  let y = 0n;
  for (let off = 0; off < padded.length; off += 16) y = gfMul(y ^ toBig(padded.subarray(off, off + 16)), hn);
  return y;
}

/**
 * AES-256-GCM with a 96-bit nonce and no AAD, composed by hand (SP 800-38D §7.1): H = E(0^128),
 * J0 = nonce || 0x00000001, C = CTR from inc32(J0), tag = E(J0) xor GHASH_H(C). Returns C || tag.
 */
export function gcmSealByHand(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Buffer {
  assert.equal(nonce.length, 12);
  const counter = (n: number) => Buffer.concat([nonce, Buffer.from([0, 0, 0, n])]);
  const h = aesEcbBlock(key, new Uint8Array(16));
  const ciphertext = aesCtr(key, counter(2), plaintext);
  const tag = fromBig(toBig(aesEcbBlock(key, counter(1))) ^ ghash(h, ciphertext));
  return Buffer.concat([ciphertext, tag]);
}
