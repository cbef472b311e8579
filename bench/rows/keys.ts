// Phrase → keys, as `init` and `join` derive them in the client library (Argon2id, 64 MiB,
// 3 passes, 4 lanes, then HKDF). Against libargon2, the reference C implementation that Debian's
// `argon2` package ships, called through python3's ctypes on the same phrase (the process start,
// ~20 ms, is counted against the baseline).
import { deriveKeys, deriveMasterKey, phraseSalt, ARGON2_PARAMS } from "../../src/client/crypto/index.js";
import { argon2Lib, toolMissing } from "../../test/client/crypto/independent.js";
import { fmtMs, type Row, type Sample } from "../row.js";
import { median, since } from "../support.js";

const TARGET = 1500;
const PHRASE = `${"abandon ".repeat(23)}art`;

export const keys: Row = {
  id: "keys",
  what: "phrase → keys (Argon2id m = 64 MiB, t = 3, p = 4)",
  target: `≤ ${TARGET / 1000} s`,
  baseline: "libargon2 (reference C)",
  uses: [],
  async measure(ctx): Promise<Sample> {
    const repeats = ctx.opts.quick ? 2 : 5;
    const reference = toolMissing("libargon2") === null;
    if (reference) await sameMasterKey();
    const ours: number[] = [];
    const lib: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t = performance.now();
      await deriveKeys(PHRASE);
      ours.push(since(t));
      if (reference) lib.push(timeLibargon2());
    }
    const ms = median(ours);
    if (!reference) return { ms };
    const referenceMs = median(lib);
    return { ms, referenceMs, ratio: ms / referenceMs };
  },
  judge: (m) => ({
    ours: fmtMs(m.ms),
    baseline: m.referenceMs === undefined ? "libargon2 not installed" : fmtMs(m.referenceMs),
    ratio: m.ratio ?? null,
    pass: m.ms! <= TARGET,
  }),
};

const PARAMS = { ...ARGON2_PARAMS, hashLength: 32 };

/** The baseline computes the same thing, or its time means nothing. */
async function sameMasterKey(): Promise<void> {
  const ours = Buffer.from(await deriveMasterKey(PHRASE)).toString("hex");
  const theirs = Buffer.from(argon2Lib(PHRASE, phraseSalt(PHRASE), PARAMS)).toString("hex");
  if (ours !== theirs) throw new Error("libargon2 and the client library disagree on the master key");
}

function timeLibargon2(): number {
  const t = performance.now();
  argon2Lib(PHRASE, phraseSalt(PHRASE), PARAMS);
  return since(t);
}
