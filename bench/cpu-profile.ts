/**
 * A CPU profile of the Worker under load, through `wrangler dev`'s inspector (Chrome DevTools protocol):
 * where a scenario's isolate time goes, function by function. Used by `PROFILE=1 npm run bench:play`.
 */
import WebSocket from "ws";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Starts profiling the Worker's isolate; the returned function stops and answers the profile. */
export async function startCpuProfile(inspectorPort = 9229): Promise<() => Promise<CpuProfile>> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  let id = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.on("message", (data) => {
    const m = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (m.id !== undefined) pending.get(m.id)?.(m.result);
  });
  const call = <T>(method: string, params = {}) =>
    new Promise<T>((resolve) => {
      pending.set(++id, resolve as (r: unknown) => void);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 200 });
  await call("Profiler.start");
  return async () => {
    const { profile } = await call<{ profile: CpuProfile }>("Profiler.stop");
    ws.close();
    return profile;
  };
}

/** Busy time (ms) and the functions with the most self time, by name and line of the bundle. */
export function topFunctions(profile: CpuProfile, n = 12): { busyMs: number; top: Array<{ fn: string; selfMs: number }> } {
  const byNode = new Map(profile.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((sample, i) => {
    const f = byNode.get(sample)?.callFrame;
    const name = f?.functionName || "(anonymous)";
    if (name === "(idle)") return;
    const dt = profile.timeDeltas[i] / 1000;
    busy += dt;
    const key = `${name} ${f?.url.split("/").pop() ?? ""}:${f?.lineNumber ?? -1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
  return { busyMs: busy, top: top.map(([fn, selfMs]) => ({ fn, selfMs: Math.round(selfMs) })) };
}
