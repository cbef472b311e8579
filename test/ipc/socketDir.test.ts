// The socket's directory: created 0700 when absent; an existing one is never changed, and refused
// when another user could swap the socket (group/other-writable without the sticky bit, or owned by
// someone else unless it is a sticky shared directory like /tmp). Real directories, a real daemon.
import assert from "node:assert/strict";
import { chmod, chown, mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { unsafeDirectory } from "../../src/ipc/socket-file.js";
import { spawnDaemon } from "../helpers/daemon.js";
import { tempDir } from "../helpers/tmp.js";

const me = process.getuid?.() ?? 0;

describe("socket directory safety", () => {
  it("judges directories by mode, sticky bit and owner", () => {
    assert.equal(unsafeDirectory({ mode: 0o40700, uid: me }, me), null);
    assert.equal(unsafeDirectory({ mode: 0o40755, uid: me }, me), null);
    assert.equal(unsafeDirectory({ mode: 0o41777, uid: me + 1 }, me), null, "a /tmp-like directory is fine");
    assert.match(unsafeDirectory({ mode: 0o40777, uid: me }, me) ?? "", /writable by group or others/);
    assert.match(unsafeDirectory({ mode: 0o40770, uid: me }, me) ?? "", /writable by group or others/);
    assert.match(unsafeDirectory({ mode: 0o40700, uid: me + 1 }, me) ?? "", /owned by another user/);
    assert.match(unsafeDirectory({ mode: 0o41755, uid: me + 1 }, me) ?? "", /owned by another user/);
  });

  it("listens in a shared sticky directory (mode 1777) without changing its mode", async () => {
    const tmp = await tempDir("sd-");
    const shared = join(tmp.path, "shared");
    await mkdir(shared);
    await chmod(shared, 0o1777);
    const d = await spawnDaemon({ home: tmp.path, env: { CARO_SYNC_SOCKET: join(shared, "s.sock") } });
    try {
      assert.equal((await stat(shared)).mode & 0o7777, 0o1777);
      assert.equal((await stat(join(shared, "s.sock"))).mode & 0o777, 0o600);
    } finally {
      await d.cleanup();
    }
  });

  it("refuses a directory others can write without the sticky bit (exit 77), changing nothing", async () => {
    const tmp = await tempDir("sd-");
    const open = join(tmp.path, "open");
    await mkdir(open);
    await chmod(open, 0o777);
    const d = await spawnDaemon({
      home: tmp.path,
      env: { CARO_SYNC_SOCKET: join(open, "s.sock") },
      waitReady: false,
    });
    try {
      assert.equal(await d.exited, 77);
      assert.match(d.stderr(), /refusing to listen in .*open: it is writable by group or others/);
      assert.equal((await stat(open)).mode & 0o7777, 0o777, "the mode is left as it was");
    } finally {
      await d.cleanup();
    }
  });

  it("refuses a directory owned by another user", async (t) => {
    if (me !== 0) return t.skip("needs root to give a directory to another user");
    const tmp = await tempDir("sd-");
    const theirs = join(tmp.path, "theirs");
    await mkdir(theirs, { mode: 0o755 });
    await chown(theirs, 65534, 65534);
    const d = await spawnDaemon({
      home: tmp.path,
      env: { CARO_SYNC_SOCKET: join(theirs, "s.sock") },
      waitReady: false,
    });
    try {
      assert.equal(await d.exited, 77);
      assert.match(d.stderr(), /owned by another user/);
    } finally {
      await d.cleanup();
    }
  });
});
