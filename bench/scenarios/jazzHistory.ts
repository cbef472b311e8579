// The raw jazz-tools baseline of the history rows, on a relay process of its own (the same kind
// as the daemons'): the writer uploads the N items, then a fresh reader loads them
// (baselines/jazzPeer.ts). Both stay up for the live probes until close(). Times are taken here,
// in the parent, as for the daemons: IPC costs about what the daemons' sockets cost.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startRelayProcess, type RelayProcess } from "../../test/helpers/relay.js";
import { forkChild, since, type Child } from "../support.js";

const PEER = fileURLToPath(new URL("../baselines/jazzPeer.js", import.meta.url));

export interface JazzHistory {
  readonly count: number;
  /** "write" sent → the writer's waitForAllCoValuesSync resolved. */
  readonly uploadMs: number;
  /** The reader's fork → all N items in its feed. */
  readonly freshMs: number;
  readonly relay: RelayProcess;
  readonly writer: Child;
  readonly reader: Child;
  /** Writer pushes one item; resolves with the ms until the reader reports it. */
  probe(): Promise<number>;
  close(): Promise<void>;
}

export async function runJazzHistory(opts: { count: number; dir: string }): Promise<JazzHistory> {
  const relay = await startRelayProcess({ dbPath: join(opts.dir, "relay.db") });
  const children: Child[] = [];
  const close = async () => {
    await Promise.all(children.map((c) => c.stop()));
    await relay.stop();
  };
  try {
    const common = ["--relay", relay.url, "--dir", opts.dir, "--count", String(opts.count)];
    const writer = forkChild(PEER, ["--role", "writer", ...common], "jazz writer");
    children.push(writer);
    const ready = await writer.next("ready");
    let t = performance.now();
    writer.send({ cmd: "write" });
    await writer.next("uploaded");
    const uploadMs = since(t);

    t = performance.now();
    const credentials = ["--account", String(ready.account), "--secret", String(ready.secret)];
    const reader = forkChild(PEER, ["--role", "reader", ...common, ...credentials], "jazz reader");
    children.push(reader);
    await reader.next("loaded");
    const freshMs = since(t);

    const probe = async () => {
      const id = randomUUID();
      const start = performance.now();
      writer.send({ cmd: "probe", id });
      for (;;) {
        const seen = await reader.next("seen");
        if (seen.id === id) return since(start);
      }
    };
    return { count: opts.count, uploadMs, freshMs, relay, writer, reader, probe, close };
  } catch (err) {
    await close();
    throw err;
  }
}
