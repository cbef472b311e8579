// Summarises a V8 .cpuprofile (`node dist/bench/cpuSummary.js FILE [--top N] [--after MS]`) as
// Markdown (`--after`: only samples taken MS or more after the profile began, to leave start-up
// out): busy
// time (idle left out) by where the code lives (our src/ folders, each node_modules package,
// Node's internals, GC), then the functions with the most self time. Profiles of the benchmarked
// daemons: `BENCH_DAEMON_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=DIR" npm run bench -- --only ...`
// (each daemon writes its profile when it exits).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: "src/ipc", "cojson", "node:internal", "(garbage collector)"... */
export function category(frame: ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const ours = /\/dist\/(src|test|bench)\/([^/]+)\//.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  if (/\/dist\/src\/[^/]+\.js$/.test(url)) return "src";
  if (url.startsWith("node:")) return "node:internal";
  return url;
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: { top: { type: "string", default: "25" }, after: { type: "string", default: "0" } },
    allowPositionals: true,
  });
  const path = positionals[0];
  if (!path) throw new Error("usage: node dist/bench/cpuSummary.js FILE.cpuprofile [--top N]");
  const top = Number(values.top);
  const profile = JSON.parse(readFileSync(path, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));

  // Self time per node: each sample's time delta goes to the node sampled.
  const self = new Map<number, number>();
  const from = profile.startTime + Number(values.after) * 1000;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (at >= from) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const categories = new Map<string, number>();
  const functions = new Map<string, { ms: number; category: string }>();
  let busy = 0;
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === "(idle)") continue;
    busy += us;
    const cat = category(frame);
    categories.set(cat, (categories.get(cat) ?? 0) + us);
    const file = frame.url.replace(/^.*\/(node_modules|dist)\//, "");
    const key = `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
    const f = functions.get(key) ?? { ms: 0, category: cat };
    f.ms += us;
    functions.set(key, f);
  }
  const ms = (us: number) => (us / 1000).toFixed(0);
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1)} %`;

  console.log(
    `${path}: ${ms(profile.endTime - profile.startTime)} ms profiled, ${ms(busy)} ms busy (not idle)\n`,
  );
  console.log("| where | self ms | share of busy |");
  console.log("|---|---:|---:|");
  for (const [cat, us] of [...categories].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`| ${cat} | ${ms(us)} | ${pct(us)} |`);
  console.log("\n| function | where | self ms | share of busy |");
  console.log("|---|---|---:|---:|");
  for (const [key, f] of [...functions].sort((a, b) => b[1].ms - a[1].ms).slice(0, top))
    console.log(`| ${key.replace(/\|/g, "\\|")} | ${f.category} | ${ms(f.ms)} | ${pct(f.ms)} |`);
}

main();
