// A real Jazz relay for tests: in-process (fast) or as a child process (when a test must kill it
// and start it again on the same port, with --db so its data survives).
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { silentLogger } from "../../src/log/logger.js";
import { startRelay, type RelayHandle } from "../../src/relay/server.js";

export interface TestRelay {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** An in-memory relay on 127.0.0.1 and a free port. */
export async function startTestRelay(opts: { dbPath?: string } = {}): Promise<TestRelay> {
  const relay: RelayHandle = await startRelay({
    port: 0,
    inMemory: opts.dbPath === undefined,
    dbPath: opts.dbPath,
    logger: silentLogger,
  });
  return { url: relay.url, port: relay.port, stop: () => relay.close() };
}

export interface RelayProcess extends TestRelay {
  readonly child: ChildProcess;
  /** SIGKILL: the relay gets no chance to close anything. */
  kill(): Promise<void>;
  /** SIGSTOP: the relay hangs with every connection open (a frozen host). */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
  /** Everything the process wrote so far (stdout, then stderr). */
  output(): string;
}

const relayMain = fileURLToPath(new URL("../../src/relay/main.js", import.meta.url));

/** Runs `dist/src/relay/main.js` as a child process; resolves once it listens. */
export async function startRelayProcess(opts: {
  dbPath: string;
  port?: number;
  /** The relay's --log-level (its default is warn). */
  logLevel?: string;
}): Promise<RelayProcess> {
  const port = opts.port ?? (await freePort());
  const args = [relayMain, "--port", String(port), "--db", opts.dbPath];
  if (opts.logLevel) args.push("--log-level", opts.logLevel);
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  let stdout = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error("relay process did not start within 10 s")), 10_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(err);
    };
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n").find((l) => l.includes('"listening"'));
      if (!line) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once("exit", (code) => fail(new Error(`relay process exited (${code}): ${stderr}`)));
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  const stopWith = async (signal: NodeJS.Signals) => {
    if (running()) {
      child.kill(signal);
      child.kill("SIGCONT"); // a frozen relay acts on SIGTERM only once it runs again
    }
    await exited;
  };
  return {
    url,
    port,
    child,
    stop: () => stopWith("SIGTERM"),
    kill: () => stopWith("SIGKILL"),
    freeze: () => void (running() && child.kill("SIGSTOP")),
    thaw: () => void (running() && child.kill("SIGCONT")),
    output: () => stdout + stderr,
  };
}

/** A port that was free a moment ago (for a relay that must come back on the same port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
