/**
 * CPU time of a process tree, read from /proc (Linux): what a benchmark's processes spent, grouped by
 * command name, so a rate can be told apart from the load generator's or the local proxy's share of the cores.
 */
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_S = 100; // USER_HZ on Linux

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  cpuMs: number;
}

function readProc(pid: number): Proc | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may hold spaces and parentheses: it runs from the first "(" to the last ")".
    const open = stat.indexOf("(");
    const close = stat.lastIndexOf(")");
    const rest = stat.slice(close + 2).split(" ");
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return { pid, ppid: Number(rest[1]), comm: stat.slice(open + 1, close), cpuMs: ((utime + stime) * 1000) / TICKS_PER_S };
  } catch {
    return null;
  }
}

/** Every process /proc lists now; none where /proc is absent. */
function allProcs(): Proc[] {
  try {
    return readdirSync("/proc")
      .filter((d) => /^\d+$/.test(d))
      .map((d) => readProc(Number(d)))
      .filter((p): p is Proc => p !== null);
  } catch {
    return [];
  }
}

/** `root` and every descendant, as /proc lists them now. */
function treeProcs(root: number): Proc[] {
  const procs = allProcs();
  const children = new Map<number, Proc[]>();
  for (const p of procs) {
    const siblings = children.get(p.ppid);
    if (siblings) siblings.push(p);
    else children.set(p.ppid, [p]);
  }
  const out: Proc[] = [];
  const stack = procs.filter((p) => p.pid === root);
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

/**
 * `wrangler dev` runs two workerd processes: a proxy in front, and the one that runs the Worker and its
 * objects (the one with an inspector). Told apart, the Worker's own CPU per request is what a deployed
 * request costs; the proxy's is local plumbing that grows with the URL and body it forwards.
 */
function groupOf(p: Proc): string {
  if (!p.comm.startsWith("workerd")) return p.comm;
  try {
    return readFileSync(`/proc/${p.pid}/cmdline`, "utf8").includes("--inspector-addr") ? "workerd:worker" : "workerd:proxy";
  } catch {
    return p.comm;
  }
}

/**
 * CPU milliseconds so far of `root` and every descendant, summed by command name (workerd split into
 * `workerd:worker` and `workerd:proxy`); {} where /proc is absent.
 */
export function treeCpuMs(root: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of treeProcs(root)) {
    const g = groupOf(p);
    out[g] = (out[g] ?? 0) + p.cpuMs;
  }
  return out;
}

/** CPU milliseconds so far of the workerd process under `root` that runs the Worker and its objects. */
export const workerCpuMs = (root: number): number => treeCpuMs(root)["workerd:worker"] ?? 0;

/** The difference of two readings, per command name. */
export function cpuDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}

/** Pids of `root` and its descendants whose command name starts with `comm`. */
export function treePids(root: number, comm: string): number[] {
  return treeProcs(root)
    .filter((p) => p.comm.startsWith(comm))
    .map((p) => p.pid);
}

/** CPU milliseconds so far of every thread of the given processes, by "pid/tid". */
export function threadCpuMs(pids: number[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      // /proc/<tid>/stat answers for a thread of any process.
      const t = readProc(Number(tid));
      if (t) out.set(`${pid}/${tid}`, t.cpuMs);
    }
  }
  return out;
}

/** The largest per-thread difference of two readings (ms): the busiest thread's CPU over the interval. */
export function busiestThreadMs(before: Map<string, number>, after: Map<string, number>): number {
  let max = 0;
  for (const [k, v] of after) max = Math.max(max, v - (before.get(k) ?? v));
  return max;
}
