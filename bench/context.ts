// What the rows of one run share: the options, and the expensive set-ups (a 100k history on
// daemons and on raw jazz-tools, an idle daemon, the echo server), each made on first use and
// stopped by the runner after the last row of the run that reads it.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnDaemon, type DaemonProcess } from "../test/helpers/daemon.js";
import { runDaemonHistory, type DaemonHistory } from "./scenarios/daemonHistory.js";
import { runJazzHistory, type JazzHistory } from "./scenarios/jazzHistory.js";
import { daemonNodeOptions, forkChild, waitIdle, type Child } from "./support.js";

export interface BenchOptions {
  quick: boolean;
  /** Entries in the history rows (fresh, upload, push, live, memory, start with entries). */
  count: number;
  runs: number;
  /** When set, the memory row writes heap snapshots of both daemons at `count` here. */
  heapSnapshotDir: string | null;
}

export type Fixture = "daemonHistory" | "jazzHistory" | "idleDaemon" | "echoServer";

export interface EchoServer {
  socketPath: string;
  child: Child;
}

const ms = (n: number) => `${Math.round(n)} ms`;
const ECHO_SERVER = fileURLToPath(new URL("./baselines/echoServer.js", import.meta.url));

export class RunContext {
  private readonly made = new Map<Fixture, Promise<{ close(): Promise<void> }>>();
  private dirs = 0;

  constructor(
    readonly opts: BenchOptions,
    /** This run's temp directory (removed by the runner). */
    readonly dir: string,
    /** The fixtures the rows still to run read; the jazz history is made before the daemons' one. */
    private planned: ReadonlySet<Fixture>,
  ) {}

  /** A new empty directory inside the run's. */
  async newDir(name: string): Promise<string> {
    const path = join(this.dir, `${name}-${this.dirs++}`);
    await mkdir(path, { recursive: true });
    return path;
  }

  /** The daemons' history at `opts.count`, made once per run. */
  async daemonHistory(): Promise<DaemonHistory> {
    // While the daemons' history runs, the raw jazz-tools processes are idle: made first, they
    // cost less in the background than two idle daemons would cost the baseline.
    if (!this.made.has("daemonHistory") && this.planned.has("jazzHistory")) await this.jazzHistory();
    return this.fixture("daemonHistory", async () => {
      const h = await runDaemonHistory({
        count: this.opts.count,
        dir: await this.newDir("history"),
        nodeOptions: this.heapSnapshotOptions(),
      });
      console.error(
        `  daemons: push ${ms(h.pushMs)}, upload ${ms(h.uploadMs)}, fresh device ${ms(h.freshMs)}`,
      );
      return h;
    });
  }

  jazzHistory(): Promise<JazzHistory> {
    return this.fixture("jazzHistory", async () => {
      const h = await runJazzHistory({ count: this.opts.count, dir: await this.newDir("jazz") });
      console.error(`  raw jazz-tools: upload ${ms(h.uploadMs)}, fresh reader ${ms(h.freshMs)}`);
      return h;
    });
  }

  /** A daemon that was never initialised (no account, no relay): the IPC rows' server. */
  idleDaemon(): Promise<DaemonProcess & { close(): Promise<void> }> {
    return this.fixture("idleDaemon", async () => {
      const daemon = await spawnDaemon({
        home: await this.newDir("idle"),
        env: { CARO_SYNC_LOG_LEVEL: "warn", ...daemonNodeOptions() },
      });
      // Measured once it has settled after its start (module loading, JIT, the cache check).
      await waitIdle([daemon.child.pid!], { windowMs: 500, budgetMs: 25 });
      return Object.assign(daemon, { close: () => daemon.stop().then(() => undefined) });
    });
  }

  echoServer(): Promise<EchoServer & { close(): Promise<void> }> {
    return this.fixture("echoServer", async () => {
      const socketPath = join(await this.newDir("echo"), "echo.sock");
      const child = forkChild(ECHO_SERVER, ["--socket", socketPath], "echo server");
      await child.next("listening");
      return { socketPath, child, close: () => child.stop() };
    });
  }

  /** NODE_OPTIONS that make a daemon write a heap snapshot on SIGUSR2, into the snapshot dir. */
  heapSnapshotOptions(): string[] {
    const dir = this.opts.heapSnapshotDir;
    return dir ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${dir}`] : [];
  }

  /** Stops the fixtures not in `keep`: what the rows still to run read. */
  async release(keep: ReadonlySet<Fixture>): Promise<void> {
    this.planned = keep;
    for (const [name, made] of [...this.made]) {
      if (keep.has(name)) continue;
      this.made.delete(name);
      await made.then(
        (f) => f.close(),
        () => undefined,
      );
    }
  }

  close(): Promise<void> {
    return this.release(new Set());
  }

  private fixture<T extends { close(): Promise<void> }>(name: Fixture, make: () => Promise<T>): Promise<T> {
    let made = this.made.get(name) as Promise<T> | undefined;
    if (!made) {
      made = make();
      this.made.set(name, made);
    }
    return made;
  }
}
