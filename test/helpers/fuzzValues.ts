// The values behind the fuzz messages of ./fuzz.ts: a seeded PRNG, a valid params object for every
// method, random JSON values, structural mutations of a value, and textual damage to JSON text.
import { ENTRY_TYPES, EVENT_NAMES, SAFETY_LEVELS, type MethodName } from "../../src/protocol.js";

/** A small seeded PRNG (mulberry32): same seed, same sequence, so failures reproduce. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Dice over a PRNG. */
export class Dice {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Buffer {
    return Buffer.from(Array.from({ length: n }, () => this.int(256)));
  }
  /** A v4-shaped UUID that never starts with "0": ids starting "00000000-" are free for tests. */
  uuid(): string {
    const h = (n: number) => Array.from({ length: n }, () => "0123456789abcdef"[this.int(16)]).join("");
    return `${"123456789abcdef"[this.int(15)]}${h(7)}-${h(4)}-4${h(3)}-${"89ab"[this.int(4)]}${h(3)}-${h(12)}`;
  }
  /** Base64 of a well-formed blob (SPEC §6): version byte 1, at least 29 bytes. */
  blob(): string {
    return Buffer.concat([Buffer.from([1]), this.bytes(28 + this.int(64))]).toString("base64");
  }
}

export type FuzzedMethod = Exclude<MethodName, "daemon.shutdown">;

const pushEntry = (d: Dice) =>
  d.chance(0.75)
    ? {
        id: d.uuid(),
        type: "command",
        encrypted: d.blob(),
        metadata: {
          deviceId: d.uuid(),
          createdAt: 1.7e12 + d.int(1e10),
          safetyLevel: d.pick(SAFETY_LEVELS),
          ...(d.chance(0.3)
            ? { executed: true, success: d.chance(0.5), executedAt: 1.7e12 + d.int(1e10) }
            : {}),
        },
      }
    : {
        id: `pref.${d.int(20)}`,
        type: "preference",
        encrypted: d.blob(),
        metadata: { deviceId: d.uuid(), updatedAt: 1.7e12 + d.int(1e10) },
      };

/**
 * A valid params object for every method but daemon.shutdown (the type keeps this table complete).
 * `sync.push` asks for the relay's confirmation rarely: against an unreachable relay it waits 60 s.
 */
export const VALID_PARAMS: { [M in FuzzedMethod]: (d: Dice) => unknown } = {
  "rpc.discover": () => ({}),
  "daemon.handshake": (d) => ({
    clientVersion: `fuzz-${d.int(100)}`,
    protocolVersion: d.pick(["1.0.0", "1.9.3"]),
  }),
  "daemon.ping": () => ({}),
  "daemon.health": () => ({}),
  "daemon.subscribe": (d) => (d.chance(0.3) ? {} : { events: EVENT_NAMES.filter(() => d.chance(0.5)) }),
  "daemon.unsubscribe": () => ({}),
  "daemon.metrics": () => ({}),
  "sync.init": (d) => ({
    authKey: d.bytes(32).toString("base64"),
    deviceName: `fuzz-${d.int(1000)}`,
    platform: d.pick(["linux", "darwin", "windows"]),
  }),
  "sync.status": () => ({}),
  "sync.push": (d) => ({
    entries: Array.from({ length: 1 + d.int(4) }, () => pushEntry(d)),
    ...(d.chance(0.5) ? { ack: d.chance(0.005) ? "relay" : "local" } : {}),
  }),
  "sync.pull": (d) => ({
    since: d.chance(0.5) ? null : d.int(2e12),
    limit: 1 + d.int(100),
    types: ENTRY_TYPES.filter(() => d.chance(0.5)),
  }),
  "sync.delete": (d) => ({ ids: Array.from({ length: 1 + d.int(5) }, () => d.uuid()) }),
  "sync.now": () => ({}),
  "sync.pause": () => ({}),
  "sync.resume": () => ({}),
  "sync.reset": () => ({ confirm: true }),
  "sync.verify": (d) => (d.chance(0.5) ? {} : { repair: d.chance(0.5) }),
  "device.register": (d) => ({ name: `fuzz-${d.int(1000)}`, platform: d.pick(["linux", "darwin"]) }),
  "device.list": () => ({}),
  "device.remove": (d) => ({ deviceId: d.uuid() }),
};
export const FUZZED_METHODS = Object.keys(VALID_PARAMS) as FuzzedMethod[];

const STRINGS = [
  "",
  " ",
  "null",
  "0",
  "1e400",
  "\u0000",
  "\ud800",
  "\udfff\ud800",
  "é€😀",
  "\u202e\u200b\ufeff",
];
const STRINGS2 = [
  "a\nb",
  "'; DROP TABLE entries; --",
  "../../etc/passwd",
  "%s%n",
  "__proto__",
  "constructor",
];
const WORDS = ["command", "preference", "device", "safe", "local", "1.0.0", "2.0.0", "AQ==", "sync.pull"];
const NUMBERS = [0, -1, 0.5, -0.5, 1e-300, 2 ** 31, 2 ** 32, 2 ** 53 + 1, -(2 ** 53), 2 ** 64, 1e308, -1e308];
const KEYS = ["id", "since", "limit", "entries", "confirm", "ack", "metadata", "params", "__proto__", "é😀"];
/** Number literals JSON.parse reads but JSON.stringify never writes. */
export const RAW_NUMBERS = [
  "18446744073709551615",
  "1e400",
  "-1e400",
  "-0",
  "1.0",
  "0.1e-999",
  "9".repeat(400),
];
/** Byte sequences that are not UTF-8: overlong, lone continuation, surrogate, truncated, 0xff, 5-byte. */
const BAD_UTF8 = [
  [0xc0, 0xaf],
  [0x80],
  [0xed, 0xa0, 0x80],
  [0xf0, 0x9f, 0x98],
  [0xff],
  [0xf8, 0x88, 0x80, 0x80],
];

/** A JSON value of any shape; `depth` bounds the nesting. */
export function junk(d: Dice, depth = 3): unknown {
  const r = d.next();
  if (depth <= 0 || r < 0.45) {
    return d.pick<() => unknown>([
      () => null,
      () => d.chance(0.5),
      () => d.pick(NUMBERS),
      () => d.pick(STRINGS),
      () => d.pick(STRINGS2),
      () => d.pick(WORDS),
      () => "a".repeat(d.int(500)),
    ])();
  }
  if (r < 0.5) return hugeString(d);
  if (r < 0.75) return Array.from({ length: d.int(5) }, () => junk(d, depth - 1));
  const obj: Record<string, unknown> = {};
  for (let i = d.int(5); i > 0; i--) setOwn(obj, d.pick(KEYS), junk(d, depth - 1));
  return obj;
}

function hugeString(d: Dice): string {
  const unit = d.pick(["A", "é", "😀", "\\", "AQAA"]);
  return unit.repeat(d.int(d.chance(0.1) ? 300_000 : 20_000) / unit.length);
}

/** Sets an own property, even "__proto__" (plain assignment would set the prototype instead). */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

export type Container = Record<string, unknown> | unknown[];
export const isContainer = (v: unknown): v is Container => typeof v === "object" && v !== null;

/** 1–3 structural mutations anywhere in `value`: wrong types, missing/extra fields, odd values. */
export function mutate(value: unknown, d: Dice): unknown {
  const box: Record<string, unknown> = { root: structuredClone(value) };
  for (let n = 1 + d.int(3); n > 0; n--) {
    const slots: [Container, string | number][] = [];
    const walk = (c: Container) => {
      for (const key of Array.isArray(c) ? c.keys() : Object.keys(c)) {
        slots.push([c, key]);
        const child = (c as Record<string, unknown>)[key];
        if (isContainer(child)) walk(child);
      }
    };
    walk(box);
    if (slots.length === 0) slots.push([box, "root"]); // the value itself was deleted
    const [parent, key] = d.pick(slots);
    const current = (parent as Record<string | number, unknown>)[key];
    const set = (v: unknown) => ((parent as Record<string | number, unknown>)[key] = v);
    const op = d.int(6);
    if (op === 0) {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
    } else if (op === 1 && isContainer(current) && !Array.isArray(current)) {
      setOwn(current, d.pick([...KEYS, ...Object.keys(current)]), junk(d, 2));
    } else if (op === 2 && Array.isArray(current) && current.length > 0) {
      const items = current as unknown[];
      const item = d.pick(items);
      set(
        d.chance(0.5) ? [] : [...items, ...Array.from({ length: d.int(300) }, () => structuredClone(item))],
      );
    } else if (op === 3) {
      set(
        typeof current === "number"
          ? d.pick(NUMBERS)
          : typeof current === "string"
            ? oddString(d, current)
            : null,
      );
    } else {
      set(junk(d, 1 + d.int(3)));
    }
  }
  return box.root;
}

function oddString(d: Dice, s: string): string {
  return d.pick([s.toUpperCase(), ` ${s}`, `${s}\u0000`, s.slice(1), s + s, hugeString(d), d.pick(STRINGS)]);
}

/** Textual damage to a JSON text; may yield invalid UTF-8. */
export function damage(text: string, d: Dice): string | Buffer {
  switch (d.int(7)) {
    case 0:
      return text.slice(0, d.int(text.length));
    case 1: {
      // Duplicated key: an earlier duplicate loses to the original, a later one wins (JSON.parse).
      const keys = [...text.matchAll(/"([^"\\]{1,40})":/g)];
      if (keys.length === 0) return text;
      const m = d.pick(keys);
      const dup = `"${m[1]}":${JSON.stringify(junk(d, 1))}`;
      if (d.chance(0.5)) return text.slice(0, m.index) + `${dup},` + text.slice(m.index);
      const close = text.lastIndexOf("}", d.int(text.length + 1));
      return close < 0 ? text : `${text.slice(0, close)},${dup}${text.slice(close)}`;
    }
    case 2: {
      const nums = [...text.matchAll(/-?\d+(\.\d+)?([eE][+-]?\d+)?/g)];
      if (nums.length === 0) return text;
      const m = d.pick(nums);
      return text.slice(0, m.index) + d.pick(RAW_NUMBERS) + text.slice(m.index + m[0].length);
    }
    case 3: {
      // A character of a string spelled as a \u escape: same value after parsing.
      const at = text.indexOf('"', d.int(text.length)) + 1;
      const c = text[at];
      if (at === 0 || c === undefined || c === '"' || c === "\\") return text;
      return `${text.slice(0, at)}\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}${text.slice(at + 1)}`;
    }
    case 4: {
      const bytes = Buffer.from(text);
      const at = d.int(bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(d.pick(BAD_UTF8)), bytes.subarray(at)]);
    }
    case 5:
      return d.pick(["\ufeff", " \t", "", "\r"]) + text + d.pick(["\r", " ", "}", ",", "x", "\u0000", ""]);
    default: {
      const chars = [...text];
      for (let i = 1 + d.int(5); i > 0; i--) {
        const at = d.int(chars.length + 1);
        const r = d.next();
        if (r < 0.4) chars[at] = String.fromCharCode(d.int(0x7f));
        else if (r < 0.7) chars.splice(at, 1);
        else chars.splice(at, 0, d.pick(['"', "{", "}", "[", "]", ",", ":", "\\", "é", "\u0000"]));
      }
      return chars.join("");
    }
  }
}
