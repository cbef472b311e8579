// sync.push's per-entry validation (src/sync/validate.ts): its quick path for the usual valid
// command must answer exactly as the full checks do, for any entry a client can send.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MAX_ENTRY_BASE64 } from "../../src/protocol.js";
import { checkPushEntry, isStrictBase64, validatePushEntry } from "../../src/sync/validate.js";

const runs = { numRuns: Number(process.env.VALIDATE_RUNS ?? 2000) };
const ABSENT = Symbol("absent");
const UUID = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";
const blob = (bytes: number, version = 1) =>
  Buffer.concat([Buffer.from([version]), Buffer.alloc(bytes - 1, 7)]).toString("base64");
const ms = [0, 1_600_000_000_000, -0, -1, 1.5, 2 ** 53, Number.MAX_SAFE_INTEGER, "1", null, true, ABSENT];
const flag = [true, false, null, 0, "true", ABSENT];

/** The first value six times in seven (a field is usually right), else one of the others. */
const mostly = (usual: unknown, ...others: unknown[]) =>
  fc.oneof({ weight: 6, arbitrary: fc.constant(usual) }, fc.constantFrom(...others));

/** An object of the chosen fields; ABSENT leaves a field out. */
const withFields = (fields: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== ABSENT));

const metadataArb = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record({
        deviceId: mostly("dev-a", "", "d".repeat(200), "d".repeat(201), 5, null, ABSENT),
        createdAt: mostly(1_600_000_000_000, ...ms),
        safetyLevel: mostly("safe", "moderate", "high", "critical", "extreme", "SAFE", 1, ABSENT),
        executed: mostly(ABSENT, ...flag),
        success: mostly(ABSENT, ...flag),
        executedAt: mostly(ABSENT, ...ms),
        deletedAt: mostly(ABSENT, ...ms),
        extra: mostly(ABSENT, "x", { nested: true }),
      })
      .map(withFields),
  },
  { weight: 1, arbitrary: fc.constantFrom(null, [], "meta", 7) },
);

const entryArb = fc
  .record({
    id: fc.constantFrom(
      UUID,
      UUID.toUpperCase(),
      "not-a-uuid",
      "",
      "theme",
      "k".repeat(257),
      5,
      null,
      ABSENT,
    ),
    type: mostly("command", "preference", "device", null, ABSENT),
    encrypted: mostly(
      blob(300),
      blob(29),
      blob(28),
      blob(40, 2),
      blob(31).replace(/=+$/, ""),
      "not base64!",
      "",
      "A".repeat(MAX_ENTRY_BASE64 + 4),
      7,
      ABSENT,
    ),
    metadata: fc.oneof({ weight: 9, arbitrary: metadataArb }, fc.constant(ABSENT)),
  })
  .map(withFields);

describe("sync.push entry validation", () => {
  it("answers every entry exactly as the full checks do (the quick path changes nothing)", () => {
    const seen = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(entryArb, fc.nat(999), (entry, index) => {
        const answer = validatePushEntry(entry, index);
        assert.deepEqual(answer, checkPushEntry(entry, index));
        seen[answer.ok ? "valid" : "invalid"]++;
      }),
      runs,
    );
    assert.ok(seen.valid > runs.numRuns / 20 && seen.invalid > runs.numRuns / 20, JSON.stringify(seen));
  });

  it("answers entries from the wire the same way, __proto__ keys and all", () => {
    const metadata = `{"__proto__":{"deviceId":"dev-a"},"createdAt":1,"safetyLevel":"safe"}`;
    const texts = [
      `{"id":"${UUID}","type":"command","encrypted":"${blob(40)}","metadata":${metadata}}`,
      `{"__proto__":{"type":"command"},"id":"${UUID}","encrypted":"${blob(40)}","metadata":{}}`,
      `{"id":"${UUID}","type":"command","encrypted":"${blob(40)}","metadata":{"deviceId":"d","createdAt":1e3,"safetyLevel":"high","constructor":1}}`,
    ];
    for (const text of texts) {
      const entry: unknown = JSON.parse(text);
      assert.deepEqual(validatePushEntry(entry, 0), checkPushEntry(entry, 0), text);
    }
  });

  it("checks base64 as the strict RegExp does", () => {
    const strict = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
    const text = fc.string({
      unit: fc.constantFrom("A", "z", "0", "+", "/", "=", "-", "_", " ", "\n", "é", "\u{1F600}"),
    });
    fc.assert(
      fc.property(text, (s) => assert.equal(isStrictBase64(s), strict.test(s), JSON.stringify(s))),
      runs,
    );
    for (const s of ["", "QQ==", "QUI=", "QUJD", "Q===", "====", "QQ=", "QQ==QUJD", "QUJD\n"])
      assert.equal(isStrictBase64(s), strict.test(s), s);
  });
});
