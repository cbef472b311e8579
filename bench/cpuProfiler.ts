// Preloaded into benchmarked daemons (`npm run bench -- --cpu-profile DIR`; Node 20 refuses
// --cpu-prof in NODE_OPTIONS, `--import` it accepts): samples the process's CPU from its start and
// writes DIR/<HOME's name>-<pid>.cpuprofile when it exits (bench/cpuSummary.ts reads it). The
// inspector session of a process's own thread answers synchronously, so this works in 'exit'.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { basename, join } from "node:path";

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 500 });
  session.post("Profiler.start");
  process.on("exit", () => {
    session.post("Profiler.stop", (err, result) => {
      if (err) return;
      const name = `${basename(process.env.HOME ?? "daemon")}-${process.pid}.cpuprofile`;
      writeFileSync(join(dir, name), JSON.stringify(result.profile));
    });
  });
}
