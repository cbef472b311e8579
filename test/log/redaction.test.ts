import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { createLogger } from "../../src/log/logger.js";

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

const AUTH_KEY = "c2VjcmV0LWF1dGgta2V5LTMyLWJ5dGVzLWxvbmchIQ==";
const PAYLOAD = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

describe("log redaction", () => {
  it("censors secrets and payloads at any depth and keeps the rest", () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: "trace", destination: stream });
    logger.info({ authKey: AUTH_KEY, method: "sync.init" }, "init");
    logger.debug({ request: { params: { authKey: AUTH_KEY, deviceName: "laptop" } } }, "request");
    logger.warn({
      batch: [{ id: "e1", encrypted: PAYLOAD }],
      identity: { agentSecret: "sealerSecret_z123" },
    });
    logger.child({ part: "sync" }).error({ entry: { encryptedPayload: PAYLOAD, id: "e2" } }, "push failed");

    const text = lines.join("\n");
    assert.equal(lines.length, 4);
    for (const secret of [AUTH_KEY, PAYLOAD, "sealerSecret_z123", "laptop"]) {
      assert.ok(!text.includes(secret), `log output leaked ${secret}`);
    }
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(first.authKey, "[redacted]");
    assert.equal(first.method, "sync.init");
    const third = JSON.parse(lines[2]!) as { batch: { id: string }[] };
    assert.equal(third.batch[0]!.id, "e1");
  });

  it("honours the level", () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: "warn", destination: stream });
    logger.info("hidden");
    logger.warn("shown");
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /shown/);
  });
});
