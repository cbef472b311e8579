import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, renameSync, writeFileSync } from "node:fs";
import { appendFile, mkdir, rename, rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import pc from "picocolors";
import { BIN_PATH } from "../../src/client/launch.js";
import { formatLogLine, localTime } from "../../src/cli/logs/logFormat.js";
import { followLog, tailLines } from "../../src/cli/logs/logTail.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { caroSync } from "./run.js";

const T0 = 1_700_000_000_000;

/** A pino line as the daemon writes it (src/log/logger.ts). */
function pinoLine(i: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    level: 30,
    time: T0 + i,
    pid: 4242,
    name: "caro-sync",
    msg: `message ${i}`,
    seq: i,
    ...extra,
  });
}

const outLines = (stdout: string) => stdout.split("\n").filter((l) => l !== "");
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const seqLines = (from: number, to: number) =>
  range(from, to)
    .map((i) => pinoLine(i) + "\n")
    .join("");
const seqsOf = (stdout: string) => outLines(stdout).map((l) => Number(/message (\d+)/.exec(l)?.[1]));

describe("caro-sync logs", () => {
  let home: { path: string; cleanup: () => Promise<void> };
  let logFile: string;
  const run = (args: string[]) => caroSync(args, { home: home.path });

  before(async () => {
    home = await tempDir("cs-logs-");
    const cacheDir = join(home.path, ".cache", "cmdai");
    await mkdir(cacheDir, { recursive: true });
    logFile = join(cacheDir, "sync-daemon.log");
  });
  after(async () => await home.cleanup());

  it("formats a line for a human: local time, level, message, the other fields as key=value", () => {
    const line = pinoLine(1, {
      level: 50,
      state: "OFFLINE",
      note: "two words",
      err: { type: "Error", message: "boom" },
    });
    const text = formatLogLine(line, pc.createColors(false));
    assert.equal(
      text,
      `${localTime(T0 + 1)} ERROR message 1 seq=1 state=OFFLINE note="two words" err="Error: boom"`,
    );
    assert.match(localTime(T0), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
    assert.equal(formatLogLine("not json at all", pc.createColors(false)), "not json at all");
  });

  it("fails with a hint naming `caro-sync start` when there is no log file", async () => {
    const r = await run(["logs"]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /no log file at .*sync-daemon\.log/);
    assert.match(r.stderr, /hint: .*`caro-sync start`/);
    const j = await run(["logs", "--json"]);
    assert.equal(j.code, 1);
    assert.equal(j.stdout, "");
    const err = JSON.parse(j.stderr) as { error: { reason: string; hint: string } };
    assert.equal(err.error.reason, "no_log_file");
    assert.match(err.error.hint, /caro-sync start/);
  });

  it("prints exactly the last N complete lines; a torn last line waits until it is complete", async () => {
    const lines = Array.from({ length: 80 }, (_, i) => pinoLine(i));
    await writeFile(logFile, lines.join("\n") + "\n" + pinoLine(80).slice(0, 25));

    const three = await run(["logs", "--lines", "3"]);
    assert.equal(three.code, 0, three.stderr);
    const printed = outLines(three.stdout);
    assert.equal(printed.length, 3);
    assert.deepEqual(
      printed.map((l) => /message (\d+)/.exec(l)?.[1]),
      ["77", "78", "79"],
    );
    assert.match(printed[2] ?? "", /^\S+ \S+ INFO {2}message 79 seq=79$/);

    assert.equal(outLines((await run(["logs"])).stdout).length, 50, "50 lines by default");

    await appendFile(logFile, pinoLine(80).slice(25) + "\n");
    const completed = await run(["logs", "--lines", "1"]);
    assert.match(completed.stdout, /message 80/);
  });

  it("prints the raw JSON lines with --json, one document per line", async () => {
    await writeFile(logFile, [pinoLine(1), pinoLine(2), pinoLine(3)].join("\n") + "\n");
    const r = await run(["logs", "--json", "--lines", "2"]);
    assert.equal(r.code, 0, r.stderr);
    const docs = outLines(r.stdout).map((l) => JSON.parse(l) as { seq: number; pid: number });
    assert.deepEqual(
      docs.map((d) => d.seq),
      [2, 3],
    );
    assert.deepEqual(outLines(r.stdout), [pinoLine(2), pinoLine(3)], "the lines as written");
  });

  it("refuses a --lines that is not a whole number (exit 2)", async () => {
    const r = await run(["logs", "--lines", "ten"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--lines/);
  });

  it("reaches back into the rotated files when the current one holds fewer than N lines", async () => {
    await writeFile(`${logFile}.2`, seqLines(0, 10));
    await writeFile(`${logFile}.1`, seqLines(10, 20));
    await writeFile(logFile, seqLines(20, 25));
    try {
      const twelve = await run(["logs", "--lines", "12"]);
      assert.equal(twelve.code, 0, twelve.stderr);
      assert.deepEqual(seqsOf(twelve.stdout), range(13, 25));
      const all = await run(["logs", "--json", "--lines", "100"]);
      assert.deepEqual(seqsOf(all.stdout), range(0, 25), "as far as the rotated files go");
      const recent = await run(["logs", "--lines", "3"]);
      assert.deepEqual(seqsOf(recent.stdout), range(22, 25), "the current file alone when it is enough");
    } finally {
      await rm(`${logFile}.1`, { force: true });
      await rm(`${logFile}.2`, { force: true });
    }
  });

  it("following, reads the last lines of a file rotated away before they were read, then the new file", async () => {
    const path = join(home.path, "follow.log");
    await writeFile(path, pinoLine(1) + "\n");
    const { position } = await tailLines(path, 1);
    const seen: string[] = [];
    const stop = new AbortController();
    const following = followLog(path, position, (line) => seen.push(line), stop.signal);
    try {
      await appendFile(path, pinoLine(2) + "\n");
      await waitFor(() => seen.length === 1, { what: "the first appended line" });
      // Appended, rotated and replaced in one go, as a rotating writer does, before the follower
      // has looked again: line 3 is only in the renamed file.
      appendFileSync(path, pinoLine(3) + "\n");
      renameSync(path, `${path}.1`);
      writeFileSync(path, pinoLine(4) + "\n");
      await waitFor(() => seen.length >= 3, { timeoutMs: 5_000, what: "lines 3 and 4" });
    } finally {
      stop.abort();
      await following;
    }
    assert.deepEqual(seqsOf(seen.join("\n")), [2, 3, 4]);
  });

  describe("-f", () => {
    let child: ChildProcess | undefined;
    afterEach(() => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      child = undefined;
    });

    function follow(extra: string[] = []) {
      const proc = spawn(process.execPath, [BIN_PATH, "logs", "-f", "--lines", "1", ...extra], {
        env: { PATH: process.env.PATH ?? "", HOME: home.path },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child = proc;
      let stdout = "";
      let stderr = "";
      proc.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      proc.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      const exited = new Promise<number | string>((resolve) =>
        proc.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
      );
      const waitForOutput = (pattern: RegExp, what: string) =>
        waitFor(() => pattern.test(stdout), {
          timeoutMs: 10_000,
          what: `${what}; stdout: ${stdout}; stderr: ${stderr}`,
        });
      return { proc, exited, waitForOutput, stdout: () => stdout };
    }

    it("prints lines appended after it started, through truncation and rotation, until SIGINT", async () => {
      await writeFile(logFile, pinoLine(1) + "\n" + pinoLine(2) + "\n");
      const f = follow();
      await f.waitForOutput(/message 2/, "the last line at start");
      assert.doesNotMatch(f.stdout(), /message 1\b/);

      await appendFile(logFile, pinoLine(3).slice(0, 20));
      await appendFile(logFile, pinoLine(3).slice(20) + "\n");
      await f.waitForOutput(/message 3/, "an appended line");

      // Truncated and written again (copytruncate), then replaced by a new file (rename rotation).
      await truncate(logFile, 0);
      await appendFile(logFile, pinoLine(4) + "\n");
      await f.waitForOutput(/message 4/, "the first line after truncation");
      await rename(logFile, `${logFile}.1`);
      await writeFile(logFile, pinoLine(5) + "\n");
      await f.waitForOutput(/message 5/, "the first line of the rotated file");

      f.proc.kill("SIGINT");
      assert.equal(await f.exited, 0);
      const seqs = outLines(f.stdout()).map((l) => /message (\d+)/.exec(l)?.[1]);
      assert.deepEqual(seqs, ["2", "3", "4", "5"], "each line once, none torn");
    });

    it("follows with --json as JSON lines", async () => {
      await writeFile(logFile, pinoLine(10) + "\n");
      const f = follow(["--json"]);
      await f.waitForOutput(/"seq":10/, "the last line at start");
      await appendFile(logFile, pinoLine(11) + "\n");
      await f.waitForOutput(/"seq":11/, "an appended line");
      f.proc.kill("SIGINT");
      assert.equal(await f.exited, 0);
      const seqs = outLines(f.stdout()).map((l) => (JSON.parse(l) as { seq: number }).seq);
      assert.deepEqual(seqs, [10, 11]);
    });
  });
});
