// The Remote contract suite against the in-memory fake that the SyncManager unit tests use, so the
// fake is held to the same contract as the real Remote.
import { FakeRelay, FakeRemote } from "./fakeRemote.js";
import { runRemoteContractTests } from "./remoteContract.js";

runRemoteContractTests("FakeRemote (in memory)", () => {
  const relay = new FakeRelay();
  return Promise.resolve({
    device: () => new FakeRemote(relay),
    relayDown: () => Promise.resolve(relay.goDown()),
    relayUp: () => Promise.resolve(void (relay.reachable = true)),
    relayRestartEmpty: () => Promise.resolve(relay.restartEmpty()),
    cleanup: () => Promise.resolve(),
  });
});
