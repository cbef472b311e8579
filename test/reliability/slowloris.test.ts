// Slowloris: clients that hold the daemon's connections without ever finishing anything. Three
// kinds at once: drips (a request sent one byte at a time), stalls (half a request, then nothing,
// for ever) and non-readers (a flood of requests whose answers they never read, so their socket
// fills up). While they hang on, ordinary clients push and pull on the same daemon, and a second
// device receives everything through the relay: none of them is refused or stalled, and every
// acknowledged entry arrives once. A drip that finishes gets its answer (or, if the daemon evicted
// it meanwhile, a JSON-RPC line saying so).
import assert from "node:assert/strict";
import { createConnection, type Socket } from "node:net";
import { pullEverything } from "../helpers/daemon.js";
import { size } from "../helpers/soak.js";
import { waitFor } from "../helpers/wait.js";
import { TestClient } from "../ipc/helpers.js";
import { keepPushing, PushMeter, reliabilityScenario, UNLIMITED } from "./harness.js";

const PER_KIND = size({ ci: 20, soak: 60 });
const ACKS = size({ ci: 2_000, soak: 20_000 });
const PUSHERS = 8;
/** One byte of a drip every DRIP_MS. */
const DRIP_MS = 10;

/** Writes `text` one byte at a time; resolves when the last byte is written. */
function drip(client: TestClient, text: string, stop: () => boolean): Promise<void> {
  const bytes = Buffer.from(text);
  let i = 0;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (stop() || client.closed || i >= bytes.length) {
        clearInterval(timer);
        return resolve();
      }
      client.socket.write(bytes.subarray(i, ++i));
    }, DRIP_MS);
  });
}

/** Connects and writes requests without reading until the socket says it is full. */
async function nonReader(socketPath: string): Promise<Socket> {
  const socket = createConnection(socketPath);
  socket.on("error", () => undefined);
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  socket.pause();
  const request = (id: number) =>
    `${JSON.stringify({ jsonrpc: "2.0", id, method: "sync.pull", params: { limit: 1000 } })}\n`;
  for (let id = 0; id < 100_000; id++) if (!socket.write(request(id))) break;
  return socket;
}

reliabilityScenario(
  "slowloris clients",
  `serves ordinary clients while ${3 * PER_KIND} slow clients drip, stall and never read`,
  async (s, t) => {
    const relay = await s.cluster.relay();
    const [target, witness] = await s.pair(relay.url, ["target", "witness"], UNLIMITED);
    const { deviceIds } = await s.account(target, [witness]);
    const socketPath = target.proc.socketPath;

    let done = false;
    const drips: TestClient[] = [];
    const stalls: TestClient[] = [];
    const nonReaders: Socket[] = [];
    s.onCleanup(() => {
      done = true;
      for (const c of [...drips, ...stalls]) c.destroy();
      for (const n of nonReaders) n.destroy();
    });
    for (let i = 0; i < PER_KIND; i++) {
      drips.push(await TestClient.connect(socketPath));
      stalls.push(await TestClient.connect(socketPath));
      nonReaders.push(await nonReader(socketPath));
    }
    for (const c of stalls) await c.send('{"jsonrpc":"2.0","id":"stall","method":"daemon.pi');
    s.counts.messagesFuzzed += 3 * PER_KIND;
    // Each drip sends a whole ping, slowly, again and again until the ordinary clients are done.
    const dripping = Promise.all(
      drips.map(async (c, i) => {
        let sent = 0;
        while (!done && !c.closed) {
          const id = `drip-${i}-${sent++}`;
          await drip(c, `${JSON.stringify({ jsonrpc: "2.0", id, method: "daemon.ping" })}\n`, () => done);
          if (done || c.closed) break;
          await waitFor(() => c.closed || c.lines.some((l) => l.includes(`"${id}"`)), {
            timeoutMs: 30_000,
            what: `the answer to ${id}`,
          });
        }
        return sent;
      }),
    );

    // Ordinary clients, meanwhile: pushers and a puller paging through the whole cache, all answered.
    const clients = await Promise.all(Array.from({ length: PUSHERS + 1 }, () => target.proc.client()));
    const meter = new PushMeter(s.ledger);
    let pulls = 0;
    const work = Promise.all([
      ...clients
        .slice(1)
        .map((c) => keepPushing(s, c, deviceIds[0]!, { stop: () => done, paused: meter.paused })),
      (async () => {
        for (; !done; pulls++) await pullEverything(clients[0]!);
      })(),
    ]);
    try {
      await meter.more(ACKS, `${ACKS} entries acknowledged beside the slow clients`, 300_000);
    } finally {
      done = true;
      await work;
      for (const c of clients) c.close();
    }
    const dripped = await dripping;
    t.diagnostic(
      `drips sent ${dripped.reduce((a, b) => a + b, 0)} requests; ${pulls} full pulls beside them`,
    );

    // Each drip got an answer to every request it finished, or was evicted with a JSON-RPC line.
    for (const c of drips) {
      const answers = c.lines.filter((l) => /"pong":true/.test(l)).length;
      assert.ok(answers >= 1 || (c.closed && c.lines.length > 0), "a drip is answered or told why not");
    }
    await s.verify([target, witness]);
    assert.equal((await target.client.ping()).pong, true);
  },
);
