// Builds a relay that holds only part of an account, the way a relay ends up after losing data
// that no device has given back yet: a throw-away node (a random agent, no storage, as the
// daemon's account probe) loads chosen CoValues from a full relay and hands exactly those, with
// the groups they need, to another relay. Nothing else of the account reaches it.
import { LocalNode, type RawCoMap } from "cojson";
import { createWebSocketPeer } from "cojson-transport-ws";
import { WebSocket } from "ws";
import { holdsAll } from "../../src/jazz/accountParts.js";
import {
  addSyncPeer,
  contentOf,
  heldByPeer,
  heldLocally,
  loadCoValue,
} from "../../src/jazz/cojsonAdapter.js";
import { jazzCrypto } from "../../src/jazz/crypto.js";
import { waitFor } from "./wait.js";

/** A node of a random agent with the relays as peers, by peer ID. */
async function throwAwayNode(relays: Record<string, string>) {
  const secret = jazzCrypto.newRandomAgentSecret();
  const node = new LocalNode(
    secret,
    jazzCrypto.newRandomSessionID(jazzCrypto.getAgentID(secret)),
    jazzCrypto,
  );
  const sockets: WebSocket[] = [];
  for (const [id, url] of Object.entries(relays)) {
    const websocket = new WebSocket(url);
    websocket.on("error", () => undefined);
    sockets.push(websocket);
    await new Promise((resolve) => websocket.once("open", resolve));
    addSyncPeer(node, createWebSocketPeer({ id, role: "server", websocket }));
  }
  const close = async () => {
    for (const s of sockets) s.close();
    await node.gracefulShutdown();
  };
  return { node, close };
}

/** The CoValue IDs the account map names (profile, root): readable without the account's keys. */
export async function accountRefs(
  relayUrl: string,
  accountId: string,
): Promise<{ profile: string; root: string }> {
  const { node, close } = await throwAwayNode({ relay: relayUrl });
  try {
    if (!(await loadCoValue(node, accountId))) throw new Error("the account is not on the relay");
    const account = contentOf<RawCoMap>(node, accountId);
    const [profile, root] = [account?.get("profile"), account?.get("root")];
    if (typeof profile !== "string" || typeof root !== "string")
      throw new Error("account without profile/root");
    return { profile, root };
  } finally {
    await close();
  }
}

/** Copies the CoValues `ids` (and what they depend on) from one relay to another; resolves once stored. */
export async function copyCoValues(opts: {
  fromUrl: string;
  toUrl: string;
  ids: readonly string[];
}): Promise<void> {
  const { node, close } = await throwAwayNode({ from: opts.fromUrl, to: opts.toUrl });
  try {
    for (const id of opts.ids)
      if (!(await loadCoValue(node, id))) throw new Error(`${id} is not on the relay`);
    await waitFor(() => opts.ids.every((id) => holdsAll(heldByPeer(node, "to", id), heldLocally(node, id))), {
      what: "the target relay to hold the copied CoValues",
      timeoutMs: 15_000,
    });
  } finally {
    await close();
  }
}
