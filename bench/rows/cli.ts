// `caro-sync ping`: a whole CLI process (start, connect, round trip, print, exit) against the
// idle daemon. Against `node -e 0`.
import { BIN } from "../../test/helpers/daemon.js";
import { fmtMs, type Row } from "../row.js";
import { median, timeProcess } from "../support.js";

const TARGET = 150;

export const cliPing: Row = {
  id: "cli",
  what: "`caro-sync ping` (CLI process round trip)",
  target: `≤ ${TARGET} ms`,
  baseline: "node -e 0",
  uses: ["idleDaemon"],
  async measure(ctx) {
    const repeats = ctx.opts.quick ? 2 : 7;
    const daemon = await ctx.idleDaemon();
    const env = { PATH: process.env.PATH, HOME: daemon.home, CARO_SYNC_SOCKET: daemon.socketPath };
    await timeProcess(process.execPath, [BIN, "ping"], { env }); // warm the file cache
    const ours: number[] = [];
    const node: number[] = [];
    for (let i = 0; i < repeats; i++) {
      ours.push(await timeProcess(process.execPath, [BIN, "ping"], { env }));
      node.push(await timeProcess(process.execPath, ["-e", "0"]));
    }
    const ms = median(ours);
    const nodeMs = median(node);
    return { ms, nodeMs, ratio: ms / nodeMs };
  },
  judge: (m) => ({ ours: fmtMs(m.ms), baseline: fmtMs(m.nodeMs), ratio: m.ratio!, pass: m.ms! <= TARGET }),
};
