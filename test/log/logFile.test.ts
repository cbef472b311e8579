import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { openLogFile, REOPEN_AFTER_MS } from "../../src/log/logFile.js";
import { createLogger } from "../../src/log/logger.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

const CRASH_CHILD = fileURLToPath(new URL("./crashChild.js", import.meta.url));

interface Line {
  msg: string;
  seq?: number;
  dropped?: number;
  failure?: string;
  err?: { message: string };
}

async function linesOf(path: string): Promise<Line[]> {
  const text = await readFile(path, "utf8");
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
}

describe("the background log file", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let path: string;
  beforeEach(async () => {
    dir = await tempDir("cs-log-");
    path = join(dir.path, "sync-daemon.log");
  });
  afterEach(() => dir.cleanup());

  it("is rotated by size: at most N files of about the limit, all 0600, the newest lines in the active one", async () => {
    const maxBytes = 4096;
    const output = openLogFile({ path, maxBytes, files: 3 });
    const logger = createLogger({ level: "info", destination: output.destination });
    // ~190 bytes a line, 600 lines: about 28 rotations of 4 KiB.
    for (let seq = 0; seq < 600; seq++) logger.info({ seq, pad: "x".repeat(64) }, "a line of the log");
    await output.close();

    assert.deepEqual((await readdir(dir.path)).sort(), [
      "sync-daemon.log",
      "sync-daemon.log.1",
      "sync-daemon.log.2",
    ]);
    const oldestFirst = [`${path}.2`, `${path}.1`, path];
    const files = await Promise.all(oldestFirst.map(linesOf));
    const longest = Math.max(...files.flat().map((l) => JSON.stringify(l).length + 1));
    for (const file of oldestFirst) {
      const info = await stat(file);
      assert.equal(info.mode & 0o777, 0o600, `${file} is the user's alone`);
      // The library rotates right after the write that reaches the limit: a file holds at most
      // the limit plus one line.
      assert.ok(info.size < maxBytes + longest, `${file}: ${info.size} bytes`);
    }
    for (const rotated of [`${path}.2`, `${path}.1`]) {
      assert.ok((await stat(rotated)).size >= maxBytes, `${rotated} was rotated when full`);
    }
    const seqs = files.flat().map((l) => l.seq);
    assert.equal(seqs.at(-1), 599, "the newest line is the last one written");
    const first = seqs[0] ?? 0;
    assert.deepEqual(
      seqs,
      Array.from({ length: 600 - first }, (_, i) => first + i),
      "the kept files hold the last lines, each once, in order",
    );
  });

  it("removes rotated files left beyond a smaller files setting", async () => {
    for (const i of [1, 2, 3, 4]) await writeFile(`${path}.${i}`, "{}\n");
    const output = openLogFile({ path, maxBytes: 4096, files: 3 });
    await output.close();
    assert.deepEqual((await readdir(dir.path)).sort(), [
      "sync-daemon.log",
      "sync-daemon.log.1",
      "sync-daemon.log.2",
    ]);
  });

  it("survives a write error: the lines meanwhile are counted, and the file is tried again later", async () => {
    let now = 1_700_000_000_000;
    const warnings: string[] = [];
    // The rotation cannot rename the file onto a non-empty directory: the stream fails.
    await mkdir(`${path}.1`);
    await writeFile(join(`${path}.1`, "in-the-way"), "");
    const output = openLogFile({
      path,
      maxBytes: 1024,
      files: 2,
      now: () => now,
      warn: (t) => warnings.push(t),
    });
    const logger = createLogger({ level: "info", destination: output.destination });
    for (let seq = 0; seq < 20; seq++) logger.info({ seq, pad: "x".repeat(64) }, "before the failure");
    await waitFor(() => warnings.length > 0, { what: "the write error to be reported" });
    assert.match(
      warnings[0] ?? "",
      /cannot write the log file .*sync-daemon\.log \(E[A-Z]+\); trying again in 30 s/,
    );

    for (let seq = 100; seq < 105; seq++) logger.info({ seq }, "while the file fails");
    now += REOPEN_AFTER_MS - 1;
    logger.info({ seq: 105 }, "while the file fails");
    await rm(`${path}.1`, { recursive: true });
    now += 1;
    logger.info({ seq: 200 }, "after the file works again");
    await output.close();

    const lines = [...(await linesOf(`${path}.1`).catch(() => [])), ...(await linesOf(path))];
    const notice = lines.find((l) => l.dropped !== undefined);
    assert.ok(notice, "a line says lines were lost");
    assert.equal(notice.dropped, 6);
    assert.match(notice.failure ?? "", /^E[A-Z]+$/);
    assert.equal(lines.at(-1)?.seq, 200, "the file is written again");
    assert.equal(
      lines.filter((l) => l.msg === "while the file fails").length,
      0,
      "dropped lines are not written later",
    );
    assert.equal(warnings.length, 1);
  });

  it("holds every line written before an uncaught exception ends the process", async () => {
    const child = spawn(process.execPath, [CRASH_CHILD, path, "3000"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    assert.equal(code, 70, stderr);
    const lines = await linesOf(path);
    assert.equal(lines.filter((l) => l.msg === "before the crash").length, 3000);
    assert.equal(lines.at(-1)?.msg, "uncaught exception");
    assert.equal(lines.at(-1)?.err?.message, "boom");
  });
});
