// The secret scan every scenario ends with (test/helpers/secretScan.ts) finds what it must: a
// secret in any of its spellings, cut short, inside JSON, among thousands of payloads; and nothing
// in a log without one.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { SecretScan } from "../helpers/secretScan.js";

const line = (fields: Record<string, unknown>) => JSON.stringify({ level: 30, msg: "x", ...fields });

describe("the secret scan of the logs", () => {
  const authKey = randomBytes(32).toString("base64");
  const payloads = Array.from({ length: 5_000 }, () => randomBytes(60).toString("base64"));
  const agentSecret = `sealerSecret_z${"9".repeat(3)}${randomBytes(30).toString("base64url")}/signerSecret_z${randomBytes(30).toString("base64url")}`;
  const scan = new SecretScan();
  scan.addAuthKey(authKey);
  scan.addAgentSecret(agentSecret);
  scan.addPayloads(payloads);
  scan.addText("phrase", "abandon ability able about above absent");
  const clean = [
    line({ id: "7f0c2a4e-3b1d-4c5e-9a8f-1e2d3c4b5a69", count: 3 }),
    line({ url: "ws://127.0.0.1:4200" }),
  ];

  it("finds nothing in logs without a secret", () => {
    assert.deepEqual(scan.scan([{ name: "clean", text: clean.join("\n") }]).leaks, []);
  });

  for (const [what, text] of [
    ["an authKey in base64", line({ params: { authKey } })],
    ["an authKey in hex", `key=${Buffer.from(authKey, "base64").toString("hex")}`],
    ["an authKey in base64url", Buffer.from(authKey, "base64").toString("base64url")],
    ["the first 24 characters of a payload", line({ err: `bad blob ${payloads[4321]!.slice(0, 24)}…` })],
    ["one half of an agent secret", agentSecret.split("/")[1]!],
    ["a phrase", `phrase: abandon ability able about above absent`],
  ] as const) {
    it(`finds ${what}`, () => {
      const { leaks } = scan.scan([{ name: "log", text: [...clean, text].join("\n") }]);
      assert.equal(leaks.length, 1, `${what}: ${JSON.stringify(leaks)}`);
    });
  }
});
