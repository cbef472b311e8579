// sync.verify, the full completeness check (the daemon runs it by itself when the quick check after
// a connection finds a gap), on the first device of the history (all N confirmed by the relay):
// without and with repair (nothing to repair, so the background run's cost). Against a paged
// sync.pull of the same N commands from the same daemon: reading the cache over the socket, the
// least a check of the cache can cost.
import { pullEverything } from "../../test/helpers/daemon.js";
import { TARGET_COUNT } from "./history.js";
import { fmtEntries, fmtMs, type Row } from "../row.js";
import { median } from "../support.js";

const TARGET = 2000;

export const verify: Row = {
  id: "verify",
  what: "`sync.verify` on the first device (all confirmed)",
  target: `≤ ${TARGET / 1000} s at ${fmtEntries(TARGET_COUNT)}`,
  baseline: "paged `sync.pull` of the same commands",
  uses: ["daemonHistory"],
  async measure(ctx) {
    const repeats = ctx.opts.quick ? 1 : 3;
    // The history's N, plus what earlier rows of the run pushed (live's probes).
    const { a } = await ctx.daemonHistory();
    const timed = async (run: () => Promise<void>): Promise<number> => {
      const t = performance.now();
      await run();
      return performance.now() - t;
    };
    const check = (repair: boolean) => async () => {
      const r = await a.client.verify({ repair }, { timeoutMs: 600_000 });
      const { cache, relay } = r.total;
      if (!r.complete || relay?.commands !== cache.commands)
        throw new Error(
          `verify: complete ${r.complete}, ${cache.commands} in the cache, ${relay?.commands} on the relay`,
        );
    };
    const plain: number[] = [];
    const repair: number[] = [];
    const pull: number[] = [];
    for (let i = 0; i < repeats; i++) {
      plain.push(await timed(check(false)));
      repair.push(await timed(check(true)));
      pull.push(await timed(() => pullEverything(a.client, { types: ["command"] }).then(() => undefined)));
    }
    const ms = median(plain);
    const pullMs = median(pull);
    return { ms, repairMs: median(repair), pullMs, ratio: ms / pullMs };
  },
  judge: (m, opts) => ({
    ours: `${fmtMs(m.ms)} (with repair ${fmtMs(m.repairMs)})`,
    baseline: fmtMs(m.pullMs),
    ratio: m.ratio!,
    pass: opts.count === TARGET_COUNT ? m.ms! <= TARGET : null,
  }),
};
