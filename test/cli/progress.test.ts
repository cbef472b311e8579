// The progress bars of long work (docs/cli.md): a bulk `push`, `export` and join's download draw a
// bar on stderr when it is a terminal, and erase it when the work ends; off a terminal, or with
// --json, stderr gets no bar and no escape, and stdout is the same clean data. In a real terminal
// (tmux) with stdout sent to a file, so everything on the terminal came from stderr. The bar is
// redrawn in place and erased at the end, so the test reads what was written to the terminal
// (the pane's transcript), not only the last screen. Skipped without tmux, except in CI.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { KeysFile } from "../../src/client/crypto/index.js";
import { BIN_PATH } from "../../src/client/launch.js";
import { MAX_LINE_BYTES } from "../../src/protocol/constants.js";
import { commandEntry } from "../../src/cli/records.js";
import { startTestRelay, type TestRelay } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { Terminal, needTmux, stripAnsi, tmuxVersion } from "../helpers/tmux.js";
import { caroSync } from "./run.js";

const TMUX = tmuxVersion();
/** Commands of ~64 KiB each (~87 KiB encrypted): the push takes three requests, so the bar moves. */
const ENTRIES = 24;
const COMMAND_BYTES = 64 * 1024;
/** What every escape sequence (a bar's redraw, a colour) starts with. */
const ESC = "\x1b";

type Home = Awaited<ReturnType<typeof tempDir>>;

describe("caro-sync progress bars: on a terminal's stderr only", () => {
  let relay: TestRelay | undefined;
  let a: Home; // init, push, export
  let b: Home; // joins in the terminal
  let phrase = "";
  let entriesFile = "";
  let oneEntryFile = "";
  const terms: Terminal[] = [];

  const env = (): Record<string, string> => ({ CARO_SYNC_RELAY: relay?.url ?? "ws://127.0.0.1:9" });
  const plain = (home: Home, args: string[]) => caroSync(args, { home: home.path, env: env() });

  /**
   * `caro-sync ARGS` in a terminal, stdout to `out` (and stdin from `input`); resolves once it has
   * exited 0, with what it wrote to the terminal and to stdout.
   */
  async function inTerminal(
    home: Home,
    args: string[],
    opts: { out: string; input?: string },
  ): Promise<{ terminal: string; stdout: string; screen: string }> {
    const redirect = `>"$CS_OUT"${opts.input === undefined ? "" : ' <"$CS_IN"'}`;
    const term = await Terminal.start({
      command: ["sh", "-c", `exec "$@" ${redirect}`, "sh", process.execPath, BIN_PATH, ...args],
      env: {
        HOME: home.path,
        PATH: process.env.PATH,
        TERM: "xterm-256color",
        CS_OUT: opts.out,
        CS_IN: opts.input,
        ...env(),
      },
    });
    terms.push(term);
    const status = await term.waitForExit({ timeoutMs: 60_000 });
    const terminal = await term.transcript();
    assert.equal(status, 0, `caro-sync ${args.join(" ")} exited ${status}:\n${stripAnsi(terminal)}`);
    return { terminal, stdout: await readFile(opts.out, "utf8"), screen: await term.capture() };
  }

  /**
   * Every state of a bar drawn on the terminal, in order ("pushing … 100% | 24/24"): each redraw
   * starts at the first column (CSI 1 G).
   */
  const frames = (terminal: string, label: string): string[] =>
    terminal
      // eslint-disable-next-line no-control-regex
      .split(/\x1b\[1G|\r|\n/)
      .map((l) => stripAnsi(l))
      .filter((l) => l.startsWith(label));

  before(async () => {
    if (!TMUX) return;
    relay = await startTestRelay();
    [a, b] = await Promise.all([tempDir("cs-bar-a-"), tempDir("cs-bar-b-")]);
    const init = await plain(a, ["init", "--json", "--device-name", "bars"]);
    assert.equal(init.code, 0, init.stderr);
    const { phrase: p, deviceId } = JSON.parse(init.stdout) as { phrase: string; deviceId: string };
    phrase = p;
    const stored = new KeysFile(join(a.path, ".config", "cmdai", "sync-keys.json")).load();
    assert.ok(stored);
    const entries = Array.from({ length: ENTRIES }, (_, i) =>
      commandEntry(stored.keys, deviceId, {
        prompt: `long command ${i}`,
        command: `echo ${String(i).padStart(3, "0")} ${"x".repeat(COMMAND_BYTES)}`,
        safetyLevel: "safe",
      }),
    );
    const json = JSON.stringify(entries);
    assert.ok(json.length > 2 * MAX_LINE_BYTES, "more than two requests' worth of entries");
    entriesFile = join(a.path, "entries.json");
    await writeFile(entriesFile, json);
    // One of the same entries again (a push is idempotent): the history still holds ENTRIES.
    oneEntryFile = join(a.path, "one.json");
    await writeFile(oneEntryFile, JSON.stringify(entries.slice(0, 1)));
  });
  after(async () => {
    for (const term of terms) await term.kill();
    if (!relay) return;
    for (const home of [a, b]) await plain(home, ["stop"]);
    await relay.stop();
    for (const home of [a, b]) await home.cleanup();
  });

  it("push draws a bar on a terminal up to every entry, then erases it; stdout holds only the result", async (t) => {
    if (!needTmux(t)) return;
    const run = await inTerminal(a, ["push", entriesFile], { out: join(a.path, "push.out") });
    const drawn = frames(run.terminal, "pushing");
    assert.ok(drawn.length >= 2, `a bar drawn at the start and at the end:\n${drawn.join("\n")}`);
    assert.match(drawn[0]!, new RegExp(`^pushing ░+ 0% \\| 0/${ENTRIES}$`));
    assert.match(drawn.at(-1)!, new RegExp(`^pushing █+ 100% \\| ${ENTRIES}/${ENTRIES}$`));
    assert.doesNotMatch(run.screen, /pushing/, "the bar is erased when the push ends");
    assert.equal(run.stdout, `pushed ${ENTRIES} of ${ENTRIES} entries\n`);
  });

  it("push of a single request draws no bar on a terminal: it is over before a bar could move", async (t) => {
    if (!needTmux(t)) return;
    const run = await inTerminal(a, ["push", oneEntryFile], { out: join(a.path, "one.out") });
    assert.deepEqual(frames(run.terminal, "pushing"), []);
    assert.equal(run.stdout, "pushed 1 of 1 entries\n");
  });

  it("push --json on a terminal and push off a terminal draw no bar and write no escape", async (t) => {
    if (!needTmux(t)) return;
    const scripted = await inTerminal(a, ["push", "--json", entriesFile], { out: join(a.path, "push.json") });
    assert.equal(scripted.terminal, "", "nothing on the terminal with --json");
    assert.equal((JSON.parse(scripted.stdout) as { synced: number }).synced, ENTRIES);

    const piped = await caroSync(["push", entriesFile], { home: a.path, env: env() });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stderr, "", "no bar on stderr off a terminal");
    assert.equal(piped.stdout, `pushed ${ENTRIES} of ${ENTRIES} entries\n`);
  });

  it("export draws a bar up to every record on a terminal; off one, stderr is empty and stdout is JSON lines", async (t) => {
    if (!needTmux(t)) return;
    const run = await inTerminal(a, ["export"], { out: join(a.path, "export.jsonl") });
    const records = run.stdout.trimEnd().split("\n");
    assert.ok(!run.stdout.includes(ESC), "no escape on stdout");
    const lines = records.map((l) => JSON.parse(l) as { type: string });
    assert.equal(lines.filter((l) => l.type === "command").length, ENTRIES);
    const drawn = frames(run.terminal, "exporting");
    assert.ok(drawn.length >= 2, `a bar drawn at the start and at the end:\n${drawn.join("\n")}`);
    assert.match(drawn.at(-1)!, new RegExp(`^exporting █+ 100% \\| ${lines.length}/${lines.length}$`));
    assert.doesNotMatch(run.screen, /exporting/, "the bar is erased when the export ends");

    const piped = await plain(a, ["export"]);
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stderr, "", "no bar on stderr off a terminal");
    assert.equal(piped.stdout, run.stdout, "the same JSON lines, one record per line");
  });

  it("join shows the download on a terminal, up to the entries it reports, then erases it", async (t) => {
    if (!needTmux(t)) return;
    const input = join(b.path, "phrase");
    await writeFile(input, `${phrase}\n`, { mode: 0o600 });
    const run = await inTerminal(b, ["join", "--phrase-stdin", "--device-name", "joined"], {
      out: join(b.path, "join.out"),
      input,
    });
    const reported = /: (\d+) entries in the local cache$/m.exec(run.stdout);
    assert.ok(reported, run.stdout);
    const entries = Number(reported[1]);
    // More than its own device record: some of the history came (all of it, unless it paused 1.5 s).
    assert.ok(entries > 1, `the history downloaded (${entries} entries)`);
    assert.ok(!run.stdout.includes(ESC), "no escape on stdout");
    const drawn = frames(run.terminal, "downloading history");
    assert.ok(drawn.length >= 2, `a count drawn at the start and at the end:\n${drawn.join("\n")}`);
    assert.equal(drawn[0], "downloading history 0");
    assert.equal(drawn.at(-1), `downloading history ${entries}`);
    assert.doesNotMatch(run.screen, /downloading history/, "the count is erased when the download ends");
  });
});
