// Summarises a V8 .heapsnapshot (`node dist/bench/heapSummary.js FILE [--top N]`) as Markdown:
//   - by constructor: objects, self size, and retained size (what would be freed with them;
//     dominator tree, as Chrome DevTools' "Summary" computes it);
//   - for the largest of those, which constructors hold them (their immediate dominators);
//   - the largest single objects by retained size, with the chain of dominators above them.
// Snapshots of a 100k-entry daemon are several hundred MB: the file is scanned as bytes, not
// JSON.parse'd whole (V8 caps a string at ~512 MB). Get one with
// `npm run bench -- --only memory --heap-snapshot DIR` (or NODE_OPTIONS=--heapsnapshot-signal=SIGUSR2
// on a daemon, then `kill -USR2 <pid>`).
import { readFileSync, statSync } from "node:fs";
import { parseArgs } from "node:util";

interface Meta {
  node_fields: string[];
  node_types: [string[], ...unknown[]];
  edge_fields: string[];
  edge_types: [string[], ...unknown[]];
}

interface Snapshot {
  meta: Meta;
  nodes: Uint32Array;
  edges: Uint32Array;
  strings: string[];
}

// --- Reading the file ----------------------------------------------------------------------------

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function indexOfKey(buf: Buffer, key: string, from: number): number {
  const at = buf.indexOf(`"${key}":`, from, "latin1");
  if (at < 0) throw new Error(`not a heap snapshot: no "${key}"`);
  return at + key.length + 3;
}

/** The end (exclusive) of the JSON object or array that opens at `start`. */
function endOfValue(buf: Buffer, start: number): number {
  let depth = 0;
  for (let i = start; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === QUOTE) {
      for (i++; buf[i] !== QUOTE; i++) if (buf[i] === BACKSLASH) i++;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (--depth === 0) return i + 1;
    }
  }
  throw new Error("truncated heap snapshot");
}

/** The array of non-negative integers that opens at `start` ('['). */
function readIntegers(buf: Buffer, start: number, expected: number): { values: Uint32Array; end: number } {
  const values = new Uint32Array(expected);
  let n = 0;
  let current = 0;
  let inNumber = false;
  for (let i = start + 1; i < buf.length; i++) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x39) {
      current = current * 10 + (c - 0x30);
      inNumber = true;
    } else {
      if (inNumber) values[n++] = current;
      current = 0;
      inNumber = false;
      if (c === 0x5d) {
        if (n !== expected) throw new Error(`expected ${expected} integers, read ${n}`);
        return { values, end: i + 1 };
      }
    }
  }
  throw new Error("truncated heap snapshot");
}

function readStrings(buf: Buffer, start: number): string[] {
  const out: string[] = [];
  for (let i = start + 1; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === 0x5d) return out;
    if (c !== QUOTE) continue;
    const from = i + 1;
    let escaped = false;
    for (i = from; buf[i] !== QUOTE; i++) {
      if (buf[i] === BACKSLASH) {
        escaped = true;
        i++;
      }
    }
    out.push(
      escaped ? (JSON.parse(buf.toString("utf8", from - 1, i + 1)) as string) : buf.toString("utf8", from, i),
    );
  }
  throw new Error("truncated heap snapshot");
}

export function readSnapshot(path: string): Snapshot {
  const buf = readFileSync(path);
  const head = indexOfKey(buf, "snapshot", 0);
  const headEnd = endOfValue(buf, head);
  const info = JSON.parse(buf.toString("utf8", head, headEnd)) as {
    meta: Meta;
    node_count: number;
    edge_count: number;
  };
  const nodeFields = info.meta.node_fields.length;
  const edgeFields = info.meta.edge_fields.length;
  const nodes = readIntegers(buf, indexOfKey(buf, "nodes", headEnd), info.node_count * nodeFields);
  const edges = readIntegers(buf, indexOfKey(buf, "edges", nodes.end), info.edge_count * edgeFields);
  const strings = readStrings(buf, indexOfKey(buf, "strings", edges.end));
  return { meta: info.meta, nodes: nodes.values, edges: edges.values, strings };
}

// --- The graph -----------------------------------------------------------------------------------

interface Graph {
  count: number;
  selfSize: Float64Array;
  /** Constructor-like group of each node (index into `groups`). */
  group: Uint32Array;
  groups: string[];
  /** A finer group: a string's kind, an Object's first property names; else the group. */
  detail: Uint32Array;
  details: string[];
  /** Immediate dominator of each node (node ordinals); the root's is itself; unreachable: NONE. */
  idom: Uint32Array;
  retained: Float64Array;
  /** Edge name from a node to another, when there is a direct edge (for the paths). */
  edgeName(from: number, to: number): string | null;
}

const NONE = 0xffffffff;

/** How DevTools names a node's group in its Summary view. */
function groupName(type: string, name: string): string {
  switch (type) {
    case "object":
    case "native":
    case "synthetic":
      return name === "" ? "(root)" : name;
    case "closure":
      return "(closure)";
    case "string":
    case "concatenated string":
    case "sliced string":
      return "(string)";
    case "code":
      return "(compiled code)";
    case "array":
      return name === "" ? "(array)" : `(array) ${name}`;
    case "hidden":
      return "(system)";
    case "number":
      return "(heap number)";
    default:
      return `(${type})`;
  }
}

/** What a string looks like: cojson's prefixed values, JSON text, base64, UUIDs... */
function stringKind(text: string): string {
  const prefix = /^([a-z]+_)/.exec(text)?.[1];
  if (prefix) return `(string) "${prefix}…"`;
  if (text.startsWith("{") || text.startsWith("[")) return "(string) JSON text";
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-/.test(text)) return "(string) UUID";
  const long = text.length >= 64;
  if (long && /^[A-Za-z0-9+/=_-]+$/.test(text.slice(0, 64))) return "(string) base64, ≥ 64 chars";
  return long ? "(string) other, ≥ 64 chars" : "(string) other, < 64 chars";
}

export function buildGraph(s: Snapshot): Graph {
  const nf = s.meta.node_fields.length;
  const ef = s.meta.edge_fields.length;
  const [nType, nName, nSelf, nEdges] = ["type", "name", "self_size", "edge_count"].map((f) =>
    s.meta.node_fields.indexOf(f),
  ) as [number, number, number, number];
  const [eType, eName, eTo] = ["type", "name_or_index", "to_node"].map((f) =>
    s.meta.edge_fields.indexOf(f),
  ) as [number, number, number];
  const nodeTypes = s.meta.node_types[0];
  const edgeTypes = s.meta.edge_types[0];
  const weak = edgeTypes.indexOf("weak");
  const shortcut = edgeTypes.indexOf("shortcut");
  const namedEdge = new Set(["context", "property", "internal", "shortcut"].map((t) => edgeTypes.indexOf(t)));

  const count = s.nodes.length / nf;
  const selfSize = new Float64Array(count);
  const group = new Uint32Array(count);
  const groups: string[] = [];
  const groupIds = new Map<string, number>();
  const detail = new Uint32Array(count);
  const details: string[] = [];
  const detailIds = new Map<string, number>();
  const intern = (names: string[], ids: Map<string, number>, name: string) => {
    let id = ids.get(name);
    if (id === undefined) ids.set(name, (id = names.push(name) - 1));
    return id;
  };
  const property = edgeTypes.indexOf("property");
  const firstEdge = new Uint32Array(count + 1);
  for (let n = 0, e = 0; n < count; n++) {
    const base = n * nf;
    selfSize[n] = s.nodes[base + nSelf]!;
    const type = nodeTypes[s.nodes[base + nType]!] ?? "?";
    const name = s.strings[s.nodes[base + nName]!] ?? "?";
    const g = groupName(type, name);
    group[n] = intern(groups, groupIds, g);
    firstEdge[n] = e;
    e += s.nodes[base + nEdges]! * ef;
    firstEdge[n + 1] = e;
    let d = g;
    if (g === "(string)") d = stringKind(name);
    else if (g === "Object") {
      const keys: string[] = [];
      for (let k = firstEdge[n]!; k < e && keys.length < 5; k += ef)
        if (s.edges[k + eType] === property) keys.push(s.strings[s.edges[k + eName]!] ?? "?");
      d = `{${keys.join(", ")}}`;
    }
    detail[n] = intern(details, detailIds, d);
  }
  const essential = (from: number, edge: number) => {
    const t = s.edges[edge + eType]!;
    return t !== weak && (t !== shortcut || from === 0);
  };
  const target = (edge: number) => s.edges[edge + eTo]! / nf;

  // Post-order of a depth-first walk from the root (node 0) over essential edges.
  const post = new Uint32Array(count).fill(NONE);
  const order = new Uint32Array(count);
  const visited = new Uint8Array(count);
  const stackNode = new Uint32Array(count);
  const stackEdge = new Uint32Array(count);
  let reached = 0;
  let top = 0;
  stackNode[0] = 0;
  stackEdge[0] = firstEdge[0]!;
  visited[0] = 1;
  while (top >= 0) {
    const n = stackNode[top]!;
    const e = stackEdge[top]!;
    if (e < firstEdge[n + 1]!) {
      stackEdge[top] = e + ef;
      const to = target(e);
      if (!visited[to] && essential(n, e)) {
        visited[to] = 1;
        top++;
        stackNode[top] = to;
        stackEdge[top] = firstEdge[to]!;
      }
    } else {
      post[n] = reached;
      order[reached++] = n;
      top--;
    }
  }

  // Predecessors over essential edges, by post-order number (CSR).
  const predStart = new Uint32Array(reached + 1);
  for (let n = 0; n < count; n++) {
    if (post[n] === NONE) continue;
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += ef) {
      const to = target(e);
      if (post[to] !== NONE && essential(n, e)) predStart[post[to]! + 1]!++;
    }
  }
  for (let i = 0; i < reached; i++) predStart[i + 1]! += predStart[i]!;
  const preds = new Uint32Array(predStart[reached]!);
  const fill = predStart.slice(0, reached);
  for (let n = 0; n < count; n++) {
    if (post[n] === NONE) continue;
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += ef) {
      const to = target(e);
      if (post[to] !== NONE && essential(n, e)) preds[fill[post[to]!]!++] = post[n]!;
    }
  }

  // Cooper, Harvey and Kennedy's iterative dominators, on post-order numbers (root = reached - 1).
  const rootPost = reached - 1;
  const dom = new Uint32Array(reached).fill(NONE);
  dom[rootPost] = rootPost;
  for (let changed = true; changed;) {
    changed = false;
    for (let b = rootPost - 1; b >= 0; b--) {
      let idom = NONE;
      for (let i = predStart[b]!; i < predStart[b + 1]!; i++) {
        let p = preds[i]!;
        if (dom[p] === NONE) continue;
        if (idom === NONE) {
          idom = p;
          continue;
        }
        let q = idom;
        while (p !== q) {
          while (p < q) p = dom[p]!;
          while (q < p) q = dom[q]!;
        }
        idom = p;
      }
      if (idom !== NONE && dom[b] !== idom) {
        dom[b] = idom;
        changed = true;
      }
    }
  }

  const idom = new Uint32Array(count).fill(NONE);
  const retained = new Float64Array(count);
  for (let i = 0; i < reached; i++) {
    const n = order[i]!;
    idom[n] = order[dom[i]!]!;
    retained[n]! += selfSize[n]!;
    if (i !== rootPost) retained[idom[n]]! += retained[n]!;
  }

  const edgeName = (from: number, to: number) => {
    for (let e = firstEdge[from]!; e < firstEdge[from + 1]!; e += ef) {
      if (target(e) !== to) continue;
      const nameOrIndex = s.edges[e + eName]!;
      return namedEdge.has(s.edges[e + eType]!) ? (s.strings[nameOrIndex] ?? "?") : `[${nameOrIndex}]`;
    }
    return null;
  };
  return { count, selfSize, group, groups, detail, details, idom, retained, edgeName };
}

// --- Summaries -----------------------------------------------------------------------------------

interface GroupRow {
  name: string;
  objects: number;
  self: number;
  /** Retained by the group's objects that no other object of the group dominates. */
  retained: number;
  /** Retained size of those top objects, by the group of their immediate dominator. */
  heldBy: Map<number, number>;
}

/** Per group of `key` (g.group, or g.detail with `names` g.details). */
export function summariseGroups(g: Graph, key = g.group, names = g.groups): GroupRow[] {
  const rows = names.map((name): GroupRow => ({
    name,
    objects: 0,
    self: 0,
    retained: 0,
    heldBy: new Map(),
  }));
  // Children lists of the dominator tree, walked depth-first with a count of each group on the
  // path, so an object inside another of its own group is not counted twice.
  const childStart = new Uint32Array(g.count + 1);
  for (let n = 1; n < g.count; n++) if (g.idom[n] !== NONE) childStart[g.idom[n]! + 1]!++;
  for (let n = 0; n < g.count; n++) childStart[n + 1]! += childStart[n]!;
  const children = new Uint32Array(childStart[g.count]!);
  const fill = childStart.slice(0, g.count);
  for (let n = 1; n < g.count; n++) if (g.idom[n] !== NONE) children[fill[g.idom[n]!]!++] = n;

  const onPath = new Uint32Array(names.length);
  const stack: number[] = [0];
  const leaving: boolean[] = [false];
  while (stack.length > 0) {
    const n = stack.pop()!;
    const grp = key[n]!;
    if (leaving.pop()) {
      onPath[grp]!--;
      continue;
    }
    const row = rows[grp]!;
    row.objects++;
    row.self += g.selfSize[n]!;
    if (onPath[grp] === 0 && n !== 0) {
      row.retained += g.retained[n]!;
      const holder = g.group[g.idom[n]!]!;
      row.heldBy.set(holder, (row.heldBy.get(holder) ?? 0) + g.retained[n]!);
    }
    onPath[grp]!++;
    stack.push(n);
    leaving.push(true);
    for (let i = childStart[n]!; i < childStart[n + 1]!; i++) {
      stack.push(children[i]!);
      leaving.push(false);
    }
  }
  return rows;
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)} %`;
const cell = (s: string, max = 60) => s.replace(/\|/g, "\\|").replace(/\s+/g, " ").slice(0, max);

function main(): void {
  const { values, positionals } = parseArgs({
    options: { top: { type: "string", default: "20" } },
    allowPositionals: true,
  });
  const path = positionals[0];
  if (!path) throw new Error("usage: node dist/bench/heapSummary.js FILE.heapsnapshot [--top N]");
  const top = Number(values.top);
  const t = performance.now();
  const snapshot = readSnapshot(path);
  const graph = buildGraph(snapshot);
  const rows = summariseGroups(graph);
  const total = graph.retained[0]!;

  console.log(
    `${path}: ${mb(statSync(path).size)} MiB file, ${graph.count.toLocaleString("en-US")} objects, ` +
      `${mb(total)} MiB reachable (${Math.round(performance.now() - t)} ms to summarise)\n`,
  );
  const table = (title: string, groups: GroupRow[]) => {
    console.log(`| ${title} | objects | self MiB | retained MiB | retained share | held mostly by |`);
    console.log("|---|---:|---:|---:|---:|---|");
    for (const r of groups.sort((a, b) => b.retained - a.retained).slice(0, top)) {
      const holders = [...r.heldBy]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 2)
        .map(([grp, bytes]) => `${cell(graph.groups[grp]!)} (${pct(bytes, r.retained)})`)
        .join(", ");
      const objects = r.objects.toLocaleString("en-US");
      console.log(
        `| ${cell(r.name)} | ${objects} | ${mb(r.self)} | ${mb(r.retained)} | ${pct(r.retained, total)} | ${holders} |`,
      );
    }
  };
  table("constructor", rows);
  console.log("");
  const details = summariseGroups(graph, graph.detail, graph.details);
  table(
    "strings by kind, plain Objects by first keys",
    details.filter((r) => r.name.startsWith("(string)") || r.name.startsWith("{")),
  );

  // The single objects retaining the most (an object and one it holds may both be listed).
  console.log("\n| largest retainers | retained MiB | dominator chain, outermost first |");
  console.log("|---|---:|---|");
  const largest: number[] = [];
  for (let n = 1; n < graph.count; n++)
    if (graph.retained[n]! > total / 200 && !graph.groups[graph.group[n]!]!.startsWith("(")) largest.push(n);
  largest.sort((a, b) => graph.retained[b]! - graph.retained[a]!);
  for (const n of largest.slice(0, top)) {
    const path: number[] = [];
    for (let m = n; m !== 0 && path.length < 6; m = graph.idom[m]!) path.unshift(m);
    const chain = path
      .map((m, i) => {
        const name = graph.groups[graph.group[m]!]!;
        if (i === 0) return name;
        const via = graph.edgeName(path[i - 1]!, m);
        return via === null ? `~> ${name}` : `-${via}-> ${name}`;
      })
      .join(" ");
    console.log(
      `| ${cell(graph.groups[graph.group[n]!]!)} | ${mb(graph.retained[n]!)} | ${cell(chain, 240)} |`,
    );
  }
}

main();
