// The interactive commands in a real terminal (tmux), against a real relay, each device with its
// own HOME and its daemon auto-started by the CLI: `init` shows the phrase as a grid and checks one
// word of it; `join` asks for the phrase without ever showing it; `status --watch` redraws in
// place; NO_COLOR turns colours off. Skipped without tmux, except in CI (.ci/run installs it).
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BIN_PATH } from "../../src/client/launch.js";
import { alive } from "../helpers/process.js";
import { startTestRelay, type TestRelay } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { Terminal, needTmux, sgrParams, stripAnsi, tmuxVersion } from "../helpers/tmux.js";
import { waitFor } from "../helpers/wait.js";
import { caroSync } from "./run.js";

const TMUX = tmuxVersion();
const BOLD = "\x1b[1m";
const GREEN = "\x1b[32m";
const WRONG_WORD = "notaword"; // not in the BIP39 list, so never the asked word
const PROMPT = /To confirm you saved it, type word #(\d+):/g;
const REJECTED = /That is not the word\. Check what you wrote down\./g;
/** Words the join screen prints by design: one of them in the phrase cannot tell a leak. */
const JOIN_TEXT =
  "deriving keys from the phrase joined account as device entries in the local cache downloading history " +
  "The relay is not reachable: this device finishes joining as soon as it is (see `caro-sync status`).";

type Home = Awaited<ReturnType<typeof tempDir>>;

const count = (text: string, re: RegExp): number => [...text.matchAll(re)].length;

/** Alphanumeric tokens: IDs stay whole, so only a real word matches a phrase word. */
const tokens = (text: string): string[] => text.split(/[^A-Za-z0-9]+/).filter((w) => w !== "");

/** The phrase words from the grid (cells "N. word", between the header and "Write it down"). */
function gridWords(screen: string): string[] {
  const lines = screen.split("\n");
  const start = lines.findIndex((l) => l.includes("Your recovery phrase"));
  const end = lines.findIndex((l) => l.startsWith("Write it down"));
  assert.ok(start >= 0 && end > start, "the phrase grid is on the screen");
  const cells = lines.slice(start + 1, end).flatMap((l) => [...l.matchAll(/(\d+)\. ([a-z]+)/g)]);
  const words = new Map(cells.map((m) => [Number(m[1]), m[2]!]));
  assert.deepEqual(
    [...words.keys()].sort((a, b) => a - b),
    Array.from({ length: 24 }, (_, i) => i + 1),
    "24 cells numbered 1 to 24",
  );
  return Array.from({ length: 24 }, (_, i) => words.get(i + 1)!);
}

/** Grid cells and the confirmation answers hidden, for error messages. */
const hideGrid = (screen: string): string =>
  screen.replace(/(\d+\.) [a-z]+/g, "$1 •••").replace(/(type word #\d+:) .*/g, "$1 •••");

/**
 * `caro-sync stop`, then waits for the process itself to be gone (stop returns once the socket
 * no longer answers), so HOME is not removed under it. Its pid comes from its log (pino `pid`).
 */
async function stopDaemon(home: string, env: Record<string, string>): Promise<void> {
  const log = await readFile(join(home, ".cache", "cmdai", "sync-daemon.log"), "utf8").catch(() => "");
  const pids = new Set([...log.matchAll(/"pid":(\d+)/g)].map((m) => Number(m[1])));
  // Only a process whose command line names this HOME is ours (a pid may have been reused).
  const ours = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(home);
    } catch {
      return false; // gone meanwhile (or no /proc: then it cannot be checked, and is left alone)
    }
  };
  const running = () => [...pids].filter((pid) => alive(pid) && ours(pid));
  await caroSync(["stop"], { home, env });
  await waitFor(() => running().length === 0, { timeoutMs: 10_000, what: "the daemon to exit" }).catch(() =>
    running().forEach((pid) => process.kill(pid, "SIGKILL")),
  );
}

describe("caro-sync in a real terminal (tmux): init, join, status --watch", () => {
  let relay: TestRelay | undefined;
  const homes: Home[] = [];
  const terms: Terminal[] = [];
  let phrase: string[] = [];
  let joined: Home | undefined;

  before(async () => {
    if (TMUX) relay = await startTestRelay();
  });
  after(async () => {
    for (const term of terms) await term.kill();
    await Promise.all(homes.map((home) => stopDaemon(home.path, relayEnv())));
    await relay?.stop();
    for (const home of homes) await home.cleanup();
  });

  const relayEnv = (): Record<string, string> => ({ CARO_SYNC_RELAY: relay?.url ?? "ws://127.0.0.1:9" });
  const newHome = async (): Promise<Home> => {
    const home = await tempDir("cs-tty-home-");
    homes.push(home);
    return home;
  };
  /** `caro-sync ARGS` in a new terminal, HOME=home, TERM=xterm-256color, no NO_COLOR unless given. */
  const open = async (
    home: Home,
    args: string[],
    opts: { env?: Record<string, string>; redact?: (s: string) => string } = {},
  ): Promise<Terminal> => {
    const env = {
      HOME: home.path,
      PATH: process.env.PATH,
      TERM: "xterm-256color",
      ...relayEnv(),
      ...opts.env,
    };
    const term = await Terminal.start({
      command: [process.execPath, BIN_PATH, ...args],
      env,
      ...(opts.redact ? { redact: opts.redact } : {}),
    });
    terms.push(term);
    return term;
  };
  const promptedWord = (screen: string): number => {
    const asked = [...screen.matchAll(PROMPT)].map((m) => Number(m[1]));
    assert.ok(asked.length > 0, "init asks for a word of the phrase");
    assert.equal(new Set(asked).size, 1, "every try asks for the same word");
    return asked[0]!;
  };
  const keysPath = (home: Home) => join(home.path, ".config", "cmdai", "sync-keys.json");

  it("init shows the phrase as a numbered grid, asks again after a wrong word, and sets up sync on the right one", async (t) => {
    if (!needTmux(t)) return;
    const home = await newHome();
    const term = await open(home, ["init", "--device-name", "tty-a"], { redact: hideGrid });
    const asked = await term.waitForScreen((s) => count(s, PROMPT) === 1, "the confirmation prompt");
    const words = gridWords(asked);
    assert.ok(
      words.every((w) => /^[a-z]{3,8}$/.test(w)),
      "every cell holds a BIP39 word",
    );
    const n = promptedWord(asked);
    assert.ok(n >= 1 && n <= 24);
    // Colour is on (a terminal, NO_COLOR unset): the grid's header is bold.
    assert.ok(
      (await term.capture({ escapes: true })).includes(`${BOLD}Your recovery phrase`),
      "a bold header",
    );

    await term.sendLine(WRONG_WORD);
    const again = await term.waitForScreen(
      (s) => count(s, REJECTED) === 1 && count(s, PROMPT) === 2,
      "init to reject the wrong word and ask again",
    );
    assert.equal(promptedWord(again), n);
    assert.ok(!existsSync(keysPath(home)), "no keys before the word is confirmed");

    await term.sendLine(words[n - 1]!);
    const done = await term.waitForScreen((s) => s.includes("sync is set up"), "sync to be set up", {
      timeoutMs: 30_000,
    });
    assert.equal(await term.waitForExit(), 0);
    assert.match(done, /sync is set up: account co_\w+, this device \S+ \((ONLINE|OFFLINE)\)/);
    assert.equal(count(done, REJECTED), 1, "the right word is accepted at once");
    assert.ok((await term.capture({ escapes: true })).includes(`${GREEN}sync is set up`), "in green");
    assert.equal(statSync(keysPath(home)).mode & 0o777, 0o600);
    phrase = words;
  });

  it("init cancels after three wrong words and stores nothing", async (t) => {
    if (!needTmux(t)) return;
    const home = await newHome();
    const term = await open(home, ["init", "--device-name", "tty-c"], { redact: hideGrid });
    await term.waitForScreen((s) => count(s, PROMPT) === 1, "the confirmation prompt");
    for (let tries = 1; tries <= 3; tries++) {
      await term.sendLine(WRONG_WORD);
      await term.waitForScreen((s) => count(s, REJECTED) === tries, `wrong answer #${tries} to be rejected`);
    }
    const cancelled = await term.waitForScreen(
      (s) => s.includes("init cancelled: nothing was stored"),
      "init to cancel",
    );
    assert.equal(await term.waitForExit(), 1);
    assert.equal(count(cancelled, PROMPT), 3, "three tries, no fourth");
    assert.ok(!existsSync(keysPath(home)), "no keys file after a cancelled init");
    const status = await caroSync(["status", "--json"], { home: home.path, env: relayEnv() });
    assert.equal(status.code, 4, status.stderr);
    assert.equal(
      (JSON.parse(status.stderr) as { error: { reason: string } }).error.reason,
      "not_initialized",
    );
  });

  it("join asks for the phrase and never shows a word of it, while typing or after Enter", async (t) => {
    if (!needTmux(t)) return;
    assert.equal(phrase.length, 24, "the init test read a phrase");
    const home = await newHome();
    const secret = new Set(phrase);
    const redact = (s: string) =>
      tokens(s).reduce((out, w) => (secret.has(w) ? out.replaceAll(w, "•••") : out), s);
    const term = await open(home, ["join", "--device-name", "tty-b"], { redact });
    const prompt = await term.waitForScreen((s) => s.includes("Recovery phrase"), "the phrase prompt");
    // A phrase word that the screen shows anyway (as UI text) proves nothing either way.
    const shownAnyway = new Set([...tokens(prompt), ...tokens(JOIN_TEXT)]);
    const watched = phrase.filter((w) => !shownAnyway.has(w));
    assert.ok(watched.length >= 20, "most phrase words can be watched for");
    const assertHidden = (screen: string, when: string) => {
      // tmux's own "Pane is dead (status 0, <date>)" line is not the command's output.
      const shown = new Set(tokens(stripAnsi(screen).replace(/^Pane is dead .*$/gm, "")));
      const leaked = watched.map((w) => phrase.indexOf(w) + 1).filter((i) => shown.has(phrase[i - 1]!));
      // Word numbers only: the words themselves stay out of the report.
      assert.deepEqual(leaked, [], `phrase words #${leaked.join(", #")} were shown ${when}`);
    };

    // The check itself catches a phrase on the screen.
    assert.throws(() => assertHidden(`${prompt}\n${phrase.join(" ")}`, "(control)"), /were shown/);
    for (const [i, word] of phrase.entries()) {
      await term.sendKeys(i === phrase.length - 1 ? word : `${word} `);
      assertHidden(await term.capture(), `after typing word #${i + 1}`);
    }
    await term.press("Enter");
    const done = await term.waitForScreen(
      (s) => /joined account co_\w+ as device/.test(s),
      "the join to finish",
      {
        timeoutMs: 30_000,
      },
    );
    assert.equal(await term.waitForExit(), 0);
    assertHidden(await term.capture(), "after Enter");
    // Also what a redraw may have erased before any capture saw it.
    assertHidden(await term.transcript(), "in anything join wrote to the terminal");
    assert.match(done, /joined account co_\w+ as device \S+/);
    joined = home;
  });

  it("status --watch redraws its block in place when the state changes, and exits 0 on Ctrl-C", async (t) => {
    if (!needTmux(t)) return;
    assert.ok(joined, "the join test set up a device");
    const home = joined;
    const term = await open(home, ["status", "--watch"]);
    const stateLine = (s: string) => /^state: +(.*)$/m.exec(s)?.[1] ?? "";
    const assertOneBlock = (screen: string, when: string) => {
      for (const re of [/^state:/gm, /^last sync:/gm, /^account:/gm, /\(watching; updated/g])
        assert.equal(count(screen, re), 1, `one status block ${when} (${String(re)}), not appended copies`);
    };
    const online = await term.waitForScreen(
      (s) => stateLine(s).startsWith("ONLINE"),
      "the joined device ONLINE",
      {
        timeoutMs: 20_000,
      },
    );
    assertOneBlock(online, "at first");

    const paused = await caroSync(["pause"], { home: home.path, env: relayEnv() });
    assert.equal(paused.code, 0, paused.stderr);
    const offline = await term.waitForScreen(
      (s) => stateLine(s) === "OFFLINE (paused)",
      "the state line to show OFFLINE (paused)",
    );
    assertOneBlock(offline, "after pause");

    const resumed = await caroSync(["resume"], { home: home.path, env: relayEnv() });
    assert.equal(resumed.code, 0, resumed.stderr);
    const back = await term.waitForScreen(
      (s) => stateLine(s).startsWith("ONLINE") && !stateLine(s).includes("paused"),
      "the state line to show ONLINE again",
      { timeoutMs: 20_000 },
    );
    assertOneBlock(back, "after resume");

    await term.press("C-c");
    // docs/cli.md: "Ctrl-C ends it (exit 0)"; 130 here means the process was killed by SIGINT.
    assert.equal(await term.waitForExit(), 0, "Ctrl-C ends status --watch with exit 0");
  });

  it("NO_COLOR=1 leaves every colour escape out of the init screen", async (t) => {
    if (!needTmux(t)) return;
    const home = await newHome();
    const term = await open(home, ["init", "--device-name", "tty-n"], {
      env: { NO_COLOR: "1" },
      redact: hideGrid,
    });
    const asked = await term.waitForScreen((s) => count(s, PROMPT) === 1, "the confirmation prompt");
    await term.sendLine(gridWords(asked)[promptedWord(asked) - 1]!);
    await term.waitForScreen((s) => s.includes("sync is set up"), "sync to be set up", { timeoutMs: 30_000 });
    assert.equal(await term.waitForExit(), 0);
    // Resets (0, 39, 49: the terminal's defaults) carry no colour or attribute.
    const styled = sgrParams(await term.capture({ escapes: true })).filter(
      (p) => !/^(0|39|49)?(;(0|39|49))*$/.test(p),
    );
    assert.deepEqual(styled, [], "no SGR colour or attribute escapes with NO_COLOR=1");
    const sgrInOutput = sgrParams(await term.transcript()).filter((p) => !/^0?$/.test(p));
    assert.deepEqual(sgrInOutput, [], "init itself wrote no SGR escapes");
  });
});
